"""Active learning: test accuracy per round for random sampling, margin and curate's batch.

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/active_learning.py [--seeds 5] [--rounds 8] [--batch 100]
                                                   [--initial 200] [--variants] [--jobs 2]
                                                   [--dataset banking77|clinc150]

A simulation on banking77 (``../shared/data``, never copied): ``train.csv`` (10,003 rows, 77
intents) is the pool, its labels hidden until a row is picked; ``test.csv`` (3,080 rows) scores.
``--dataset clinc150`` uses ``clinc150/data_full.parquet`` instead: its in-scope ``train`` split
(15,000 rows, 150 intents) is the pool and its ``test`` split (4,500 rows) scores; the
out-of-scope rows are left out.
Texts are embedded with curate's text embedder (MiniLM, L2-normalised), cached by content hash
in ``benchmarks/results/cache/embeddings`` (label_issues.py's helper).

Every strategy starts from the same ``--initial`` random rows per seed
(``default_rng(seed).choice(n, initial, replace=False)``); then ``--rounds`` rounds of
``--batch`` picks. Each round the reference classifier ``make_model(PredictConfig(), seed)``
(logistic regression) is refitted on the labelled rows and scored on the test set. Strategies:

* random: ``default_rng([seed, 1]).choice`` of the unlabelled rows;
* margin: ``select_batch`` with weights {"uncertainty": 1, "diversity": 0, "similarity": 0};
* former default: weights {"uncertainty": 1, "diversity": 0.25, "similarity": 0.1} (the
  default until it measured worse than plain margin on banking77 and clinc150);
* curate default: ``select_batch`` with ``ActiveLearningConfig()``; its ``targets`` are computed
  as the pipeline does: out-of-fold pred_probs on the labelled rows (``KFold(5, shuffle=True,
  random_state=seed)``; classes absent from a training fold get probability 0), then
  ``failure_clusters(labels, oof, classes, labelled_emb, seed=seed)``, and the targets are the
  embeddings of the misclassified labelled members of its ``cfg.target_clusters`` top clusters.

Pool pred_probs come from the model fitted on all labelled rows, mapped into the 77-class order.
Label savings: the labels each strategy needs (linear interpolation on its mean curve) to reach
the mean accuracy random reaches at the end. Acceptance: curate's default reaches it with at
least 25% fewer labels, and its mean is never below random's by more than random's std at that
round. ``--variants`` adds configurations expressible through ``ActiveLearningConfig`` and, named
``[prototype]``, a proposed change to the algorithm that is *not* curate's code
(``prototype_select``: every signal rank-normalised over the pool before weighting).

Figures are printed and written to ``benchmarks/results/active_learning.json`` (git-ignored).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per worker; --jobs sets the parallelism

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from label_issues import embed as embed_texts  # noqa: E402  (content-hash-cached)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data"
RESULTS = REPO / "benchmarks/results"
ACCEPT_SAVINGS = 0.25  # at least 25% fewer labels than random needs for its final accuracy


def W(u: float, d: float, s: float) -> dict:  # noqa: N802
    return {"uncertainty": u, "diversity": d, "similarity": s}


MARGIN = {"weights": W(1.0, 0.0, 0.0)}
FORMER_DEFAULT = {"weights": W(1.0, 0.25, 0.1)}
# (name, ActiveLearningConfig overrides). Run with --variants; each changes the default.
VARIANTS: list[tuple[str, dict]] = [
    ("u1 d1 s0 (no similarity)", {"weights": W(1.0, 1.0, 0.0)}),
    ("u1 d0 s0.5 (no diversity)", {"weights": W(1.0, 0.0, 0.5)}),
    ("u1 d0.5 s0.5", {"weights": W(1.0, 0.5, 0.5)}),
    ("u1 d2 s0.5", {"weights": W(1.0, 2.0, 0.5)}),
    ("u1 d4 s0", {"weights": W(1.0, 4.0, 0.0)}),
    ("u1 d1 s0.1", {"weights": W(1.0, 1.0, 0.1)}),
    ("u1 d1 s0.25", {"weights": W(1.0, 1.0, 0.25)}),
    ("u1 d1 s1", {"weights": W(1.0, 1.0, 1.0)}),
    ("u0 d1 s0 (coreset only)", {"weights": W(0.0, 1.0, 0.0)}),
    ("u0 d0 s1 (similarity only)", {"weights": W(0.0, 0.0, 1.0)}),
    ("u1 d0.05 s0", {"weights": W(1.0, 0.05, 0.0)}),
    ("u1 d0.1 s0", {"weights": W(1.0, 0.1, 0.0)}),
    ("u1 d0.25 s0", {"weights": W(1.0, 0.25, 0.0)}),
    ("u1 d0.5 s0", {"weights": W(1.0, 0.5, 0.0)}),
    ("u1 d0 s0.02", {"weights": W(1.0, 0.0, 0.02)}),
    ("u1 d0 s0.05", {"weights": W(1.0, 0.0, 0.05)}),
    ("u1 d0 s0.1", {"weights": W(1.0, 0.0, 0.1)}),
    ("u1 d0.05 s0.01", {"weights": W(1.0, 0.05, 0.01)}),
    ("u1 d0.1 s0.02", {"weights": W(1.0, 0.1, 0.02)}),
    ("u1 d0.1 s0.05", {"weights": W(1.0, 0.1, 0.05)}),
    ("u1 d0.25 s0.1", {"weights": W(1.0, 0.25, 0.1)}),
    ("u1 d0.1 s0.05 target_clusters=10", {"weights": W(1.0, 0.1, 0.05), "target_clusters": 10}),
    ("entropy", {"uncertainty": "entropy"}),
    ("least_confidence", {"uncertainty": "least_confidence"}),
    ("entropy u1 d0 s0", {"uncertainty": "entropy", "weights": W(1.0, 0.0, 0.0)}),
    ("least_confidence u1 d0 s0", {"uncertainty": "least_confidence", "weights": W(1.0, 0.0, 0.0)}),
    ("entropy u1 d1 s0", {"uncertainty": "entropy", "weights": W(1.0, 1.0, 0.0)}),
    ("target_clusters=1", {"target_clusters": 1}),
    ("target_clusters=10", {"target_clusters": 10}),
    ("neighbours=3", {"neighbours": 3}),
    ("neighbours=30", {"neighbours": 30}),
]

# Not curate's algorithm: a prototype of a proposed change to select_batch, run with --variants
# to put numbers on it. Every signal is rank-normalised over the pool before weighting (see
# prototype_select). The weights are ActiveLearningConfig's, overridden as given.
PROTOTYPES: list[tuple[str, dict]] = [
    ("[prototype] rank-normalised, default weights", {}),
    ("[prototype] rank-normalised u1 d0.5 s0.25", {"weights": W(1.0, 0.5, 0.25)}),
    ("[prototype] rank-normalised u1 d0.25 s0.1", {"weights": W(1.0, 0.25, 0.1)}),
    ("[prototype] rank-normalised u1 d0.5 s0", {"weights": W(1.0, 0.5, 0.0)}),
    ("[prototype] rank-normalised u1 d0 s0.25", {"weights": W(1.0, 0.0, 0.25)}),
]

# Set in main() before the worker pool forks; read by the workers.
STATE: dict = {}


def load_data(name: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """(pool texts, pool labels, test texts, test labels) of a data set in ``../shared/data``."""
    if name == "banking77":
        train = pd.read_csv(DATA / "banking77/train.csv", dtype=str, keep_default_na=False)
        test = pd.read_csv(DATA / "banking77/test.csv", dtype=str, keep_default_na=False)
        return (
            train.text.tolist(),
            train.category.tolist(),
            test.text.tolist(),
            test.category.tolist(),
        )
    if name == "clinc150":
        full = pd.read_parquet(DATA / "clinc150/data_full.parquet")
        train, test = full[full.split == "train"], full[full.split == "test"]
        return train.text.tolist(), train.intent.tolist(), test.text.tolist(), test.intent.tolist()
    raise SystemExit(f"unknown --dataset {name!r}; choose banking77 or clinc150")


def make_cfg(overrides: dict, batch: int):
    from curate.config import ActiveLearningConfig

    return dataclasses.replace(ActiveLearningConfig(), batch_size=batch, **overrides)


def fit(rows: np.ndarray, seed: int):
    from curate.config import PredictConfig
    from curate.predict import make_model

    return make_model(PredictConfig(), seed).fit(STATE["X"][rows], STATE["y"][rows])


def proba(model, X: np.ndarray) -> np.ndarray:
    """``predict_proba`` mapped into all classes' order; classes the model never saw get 0."""
    out = np.zeros((len(X), len(STATE["classes"])), np.float64)
    out[:, model.classes_] = model.predict_proba(X)
    return out


def oof_probs(rows: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import KFold

    oof = np.zeros((len(rows), len(STATE["classes"])), np.float64)
    for train, test in KFold(5, shuffle=True, random_state=seed).split(rows):
        oof[test] = proba(fit(rows[train], seed), STATE["X"][rows[test]])
    return oof


def targets_for(rows: np.ndarray, cfg, seed: int) -> tuple[np.ndarray, dict]:
    """Embeddings of the misclassified labelled members of the top failure clusters."""
    from curate.analysis.clusters import failure_clusters

    X, classes = STATE["X"], STATE["classes"]
    oof = oof_probs(rows, seed)
    labels = [classes[c] for c in STATE["y"][rows]]
    fc = failure_clusters(labels, oof, classes, X[rows], seed=seed)
    top = fc.top(cfg.target_clusters)
    members = np.isin(fc.assignment, top) & fc.errors
    info = {"oof_accuracy": float(1 - fc.errors.mean()), "clusters": fc.summary["clusters"],
            "targets": int(members.sum())}  # fmt: skip
    return X[rows][members], info


def rank01(values: np.ndarray) -> np.ndarray:
    """Percentile rank in [0, 1] (ties share their average rank)."""
    from scipy.stats import rankdata

    return (rankdata(values) - 1) / max(len(values) - 1, 1)


def prototype_select(
    pool_probs: np.ndarray, pool_emb: np.ndarray, labelled_emb: np.ndarray, cfg, targets
) -> np.ndarray:
    """select_batch (no exclusions) with every signal rank-normalised before weighting.

    uncertainty and similarity become their percentile over the pool; diversity (which the
    greedy pass updates) goes through the empirical CDF of the candidates' initial distances to
    the labelled set. Returns the picked pool positions in order.
    """
    from curate.index import nearest_in
    from curate.selection import active_learning as al
    from curate.selection.active_learning import uncertainty

    n = len(pool_probs)
    w = {"uncertainty": 0.0, "diversity": 0.0, "similarity": 0.0, **cfg.weights}
    unc = rank01(uncertainty(pool_probs, cfg.uncertainty))
    sim = np.zeros(n)
    if targets is not None and len(targets) and w["similarity"] > 0:
        ids, sims = nearest_in(pool_emb, targets, cfg.neighbours)
        ok = ids.ravel() >= 0
        np.maximum.at(sim, ids.ravel()[ok], np.clip(sims.ravel()[ok], 0.0, 1.0))
        sim = rank01(sim)
    batch = min(cfg.batch_size, n)
    base = w["uncertainty"] * unc + w["similarity"] * sim
    # The same candidate count as select_batch (all of a pool up to MAX_CANDIDATES).
    keep = max(batch * al.CANDIDATE_FACTOR, getattr(al, "MAX_CANDIDATES", batch))
    cand = np.argsort(-base, kind="stable")[: min(n, keep)]
    emb = np.ascontiguousarray(pool_emb[cand], np.float32)
    _, near = nearest_in(labelled_emb, emb, 1)
    dist = np.clip(1.0 - near[:, 0].astype(np.float64), 0.0, 2.0) / 2.0
    ref = np.sort(dist)
    active = np.ones(len(cand), bool)
    picked = []
    for _ in range(batch):
        div = np.searchsorted(ref, dist, side="right") / len(ref)
        j = int(np.argmax(np.where(active, base[cand] + w["diversity"] * div, -np.inf)))
        picked.append(j)
        active[j] = False
        if w["diversity"] > 0:
            dist = np.minimum(dist, np.clip(1.0 - emb @ emb[j], 0.0, 2.0) / 2.0)
    return cand[picked]


def job(args: tuple) -> dict:
    """One strategy, one seed: accuracy after every round."""
    # 150 classes from 200 labels: sklearn warns that y "could represent a regression problem".
    warnings.filterwarnings("ignore", message="The number of unique classes is greater")
    from curate.selection.active_learning import select_batch

    name, overrides, seed, initial, rounds, batch = args
    X, y, n = STATE["X"], STATE["y"], len(STATE["y"])
    labelled = np.zeros(n, bool)
    labelled[np.random.default_rng(seed).choice(n, initial, replace=False)] = True
    rng = np.random.default_rng([seed, 1])
    cfg = None if name == "random" else make_cfg(overrides, batch)
    out: dict = {"strategy": name, "seed": seed, "labels": [], "accuracy": [], "rounds": []}
    start = time.perf_counter()
    for r in range(rounds + 1):
        rows = np.flatnonzero(labelled)
        model = fit(rows, seed)
        out["labels"].append(int(len(rows)))
        out["accuracy"].append(float((model.predict(STATE["X_test"]) == STATE["y_test"]).mean()))
        if r == rounds:
            break
        pool = np.flatnonzero(~labelled)
        info: dict = {}
        if cfg is None:
            picks = rng.choice(pool, min(batch, len(pool)), replace=False)
        else:
            targets = None
            if cfg.weights.get("similarity", 0.0) > 0:
                t0 = time.perf_counter()
                targets, info = targets_for(rows, cfg, seed)
                info["targets_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            if name.startswith("[prototype]"):
                picks = pool[
                    prototype_select(proba(model, X[pool]), X[pool], X[rows], cfg, targets)
                ]
                info["select_s"] = time.perf_counter() - t0
                info["batch_classes"] = int(len(np.unique(y[picks])))
                out["rounds"].append(info)
                labelled[picks] = True
                continue
            sel = select_batch(
                [str(i) for i in pool], proba(model, X[pool]), X[pool], X[rows],
                STATE["classes"], cfg, targets=targets,
            )  # fmt: skip
            info["select_s"] = time.perf_counter() - t0
            picks = np.array(sel.table.column("sample_id").to_pylist(), dtype=np.int64)
            t = sel.table
            for col in ("uncertainty", "similarity", "diversity"):
                info[f"batch_{col}"] = float(np.mean(t.column(col).to_numpy()))
            info["batch_with_similarity"] = int((t.column("similarity").to_numpy() > 0).sum())
        info["batch_classes"] = int(len(np.unique(y[picks])))
        info["new_classes"] = int(len(set(y[picks].tolist()) - set(y[rows].tolist())))
        out["rounds"].append(info)
        labelled[picks] = True
    out["seconds"] = time.perf_counter() - start
    return out


def labels_to_reach(labels: list[int], curve: np.ndarray, target: float) -> float | None:
    """Labels at which the mean curve first reaches ``target`` (linear interpolation)."""
    for i, acc in enumerate(curve):
        if acc >= target:
            if i == 0:
                return float(labels[0])
            a0, a1 = curve[i - 1], acc
            return float(labels[i - 1] + (target - a0) / (a1 - a0) * (labels[i] - labels[i - 1]))
    return None


def summarise(runs: list[dict], name: str) -> dict:
    acc = np.array([r["accuracy"] for r in runs if r["strategy"] == name])
    return {"mean": acc.mean(axis=0), "std": acc.std(axis=0), "n": len(acc)}


def judge(s: dict, rnd: dict, labels: list[int]) -> dict:
    target = float(rnd["mean"][-1])
    need = labels_to_reach(labels, s["mean"], target)
    gap = s["mean"] - rnd["mean"]
    worst = int(np.argmin(gap + rnd["std"]))
    savings = None if need is None else 1 - need / labels[-1]
    return {
        "labels_to_reach": need,
        "savings": savings,
        "worst_gap": float(gap.min()),
        "worst_gap_labels": labels[int(np.argmin(gap))],
        "never_below_one_std": bool(np.all(gap >= -rnd["std"])),
        "worst_gap_minus_std_labels": labels[worst],
        "holds": bool(
            savings is not None and savings >= ACCEPT_SAVINGS - 1e-12 and np.all(gap >= -rnd["std"])
        ),
    }


def savings_line(name: str, j: dict, target: float, final_labels: int) -> str:
    if j["labels_to_reach"] is None:
        return f"{name}: not reached (random's final {target:.4f})"
    return (
        f"{name}: reaches {target:.4f} at {j['labels_to_reach']:.0f} labels "
        f"({j['savings']:+.1%} fewer than random's {final_labels})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--initial", type=int, default=200, help="random labelled rows to start from")
    ap.add_argument("--variants", action="store_true", help="also run the configuration sweep")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--dataset", default="banking77", choices=["banking77", "clinc150"])
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="also run this configuration of the sweep (repeatable; names as in VARIANTS)",
    )
    ap.add_argument(
        "--pool-copies",
        type=int,
        default=1,
        help="give every pool row this many near-copies in all (same label, embedding plus "
        "noise of cosine ~0.99): a pool full of near-duplicates, where a batch of pure margin "
        "picks wastes labels on copies",
    )
    args = ap.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from curate.config import ActiveLearningConfig

    wall = time.perf_counter()
    texts, labels_, test_texts, test_labels = load_data(args.dataset)
    X, _ = embed_texts(texts, f"{args.dataset}-train")
    X_test, _ = embed_texts(test_texts, f"{args.dataset}-test")
    classes = sorted(set(labels_))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in labels_], np.int64)
    pool_rows = len(texts)
    if args.pool_copies > 1:
        noise_rng = np.random.default_rng(12345)
        copies = [X] + [
            X + 0.1 / np.sqrt(X.shape[1]) * noise_rng.normal(size=X.shape).astype(np.float32)
            for _ in range(args.pool_copies - 1)
        ]
        X = np.concatenate(copies)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        y = np.tile(y, args.pool_copies)
        pool_rows *= args.pool_copies
    y_test = np.array([index[c] for c in test_labels], np.int64)
    STATE.update(X=np.ascontiguousarray(X, np.float32), X_test=X_test, classes=classes,
                 y=y, y_test=y_test)  # fmt: skip
    print(f"{args.dataset}: pool {pool_rows} rows, {len(classes)} classes, "
          f"{len(test_texts)} test rows; "
          f"{args.initial} initial labels, {args.rounds} rounds of {args.batch}, "
          f"{args.seeds} seeds")  # fmt: skip
    default = ActiveLearningConfig()
    print(f"default: {default}")

    strategies = [
        ("curate default", {}),
        ("margin", MARGIN),
        ("former default", FORMER_DEFAULT),
        ("random", {}),
    ]
    if args.variants:
        strategies += VARIANTS + PROTOTYPES
    else:
        known = dict(VARIANTS)
        unknown = [v for v in args.variant if v not in known]
        if unknown:
            raise SystemExit(f"unknown --variant {unknown}; choose from {list(known)}")
        strategies += [(v, known[v]) for v in args.variant]
    # A strategy whose configuration equals an earlier one's is simulated once.
    same_as: dict[str, str] = {}
    for i, (m, kw) in enumerate(strategies):
        for m0, kw0 in strategies[:i]:
            if (
                m0 not in same_as
                and "random" not in (m, m0)
                and not m.startswith("[")
                and (make_cfg(kw, args.batch) == make_cfg(kw0, args.batch))
            ):
                same_as[m] = m0
                break
    seeds = range(args.seeds)
    jobs = [
        (m, kw, s, args.initial, args.rounds, args.batch)
        for m, kw in strategies
        if m not in same_as
        for s in seeds
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(job, jobs))
    for m, m0 in same_as.items():
        print(f"{m} has the same configuration as {m0}: simulated once")
        runs += [{**r, "strategy": m} for r in runs if r["strategy"] == m0]
    print(f"{len(runs)} simulations in {time.perf_counter() - start:.0f} s ({args.jobs} workers)\n")

    labels = runs[0]["labels"]
    stats = {m: summarise(runs, m) for m, _ in strategies}
    rnd = stats["random"]
    main3 = ["random", "margin", "former default", "curate default"]
    print("| labels | " + " | ".join(main3) + " |")
    print("| --- |" + " --- |" * len(main3))
    for i, lab in enumerate(labels):
        cells = [f"{stats[m]['mean'][i]:.4f} ± {stats[m]['std'][i]:.4f}" for m in main3]
        print(f"| {lab} | " + " | ".join(cells) + " |")
    target = float(rnd["mean"][-1])
    judged = {m: judge(stats[m], rnd, labels) for m, _ in strategies}
    print(f"\nlabel savings (labels to reach random's final mean accuracy {target:.4f}):")
    for m in main3:
        print("  " + savings_line(m, judged[m], target, labels[-1]))
    j = judged["curate default"]
    need = (1 - ACCEPT_SAVINGS) * labels[-1]
    verdict = "HOLDS" if j["holds"] else "FAILS"
    reached = "not reached" if j["labels_to_reach"] is None else f"{j['labels_to_reach']:.0f}"
    print(f"\nacceptance (curate default reaches {target:.4f} at <= {need:.0f} labels: "
          f"{reached}; never below random by more than random's std: "
          f"{'yes' if j['never_below_one_std'] else 'no'}, worst gap {j['worst_gap']:+.4f} "
          f"at {j['worst_gap_labels']} labels): {verdict}")  # fmt: skip

    if args.variants or args.variant:
        print(
            "\n| variant | labels to reach | savings | worst gap to random | never below 1 std "
            "| accuracy at " + " / ".join(str(lab) for lab in labels[1::2]) + " |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        for m, _ in strategies:
            jm = judged[m]
            need_m = (
                "not reached" if jm["labels_to_reach"] is None else f"{jm['labels_to_reach']:.0f}"
            )
            sav = "-" if jm["savings"] is None else f"{jm['savings']:+.1%}"
            accs = " / ".join(f"{a:.4f}" for a in stats[m]["mean"][1::2])
            mark = " **accept**" if jm["holds"] else ""
            print(f"| {m}{mark} | {need_m} | {sav} | {jm['worst_gap']:+.4f} @ "
                  f"{jm['worst_gap_labels']} | {'yes' if jm['never_below_one_std'] else 'no'} "
                  f"| {accs} |")  # fmt: skip
        configs = [m for m, _ in strategies if m != "random" and not m.startswith("[")]
        protos = [m for m, _ in PROTOTYPES if m in judged]
        for what, names in (("configurations", configs), ("prototypes (not curate)", protos)):
            ok = sorted((m for m in names if judged[m]["holds"]),
                        key=lambda m: judged[m]["labels_to_reach"])  # fmt: skip
            print(
                f"\n{what} that meet the acceptance, fewest labels first: "
                + (", ".join(f"{m} ({judged[m]['labels_to_reach']:.0f})" for m in ok) or "none")
            )
        print("(chosen on the same data they are scored on)")

    for m in ("curate default", "former default"):
        per_round = [i for r in runs if r["strategy"] == m for i in r["rounds"]]
        if not per_round or "targets" not in per_round[0]:
            continue  # no similarity term: no targets
        print(f"\n{m}, per round (mean over seeds and rounds): "
              f"{np.mean([i['targets'] for i in per_round]):.1f} target samples from "
              f"{np.mean([i['clusters'] for i in per_round]):.1f} clusters; "
              f"{np.mean([i['batch_with_similarity'] for i in per_round]):.1f} of "
              f"{args.batch} picks near a target; batch uncertainty "
              f"{np.mean([i['batch_uncertainty'] for i in per_round]):.3f}, diversity "
              f"{np.mean([i['batch_diversity'] for i in per_round]):.3f}; "
              f"{np.mean([i['batch_classes'] for i in per_round]):.1f} classes per batch; "
              f"targets {np.mean([i['targets_s'] for i in per_round]):.2f} s, select_batch "
              f"{np.mean([i['select_s'] for i in per_round]):.2f} s")  # fmt: skip
    for m in main3:
        rs = [i["batch_classes"] for r in runs if r["strategy"] == m for i in r["rounds"]]
        print(f"  {m}: {np.mean(rs):.1f} distinct classes per batch of {args.batch}")
    seconds = time.perf_counter() - wall
    load_avg = os.getloadavg()
    print(f"\nwall time: {seconds:.0f} s")
    print(f"load average (1, 5, 15 min): {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = dict(dataset=args.dataset, pool=pool_rows, classes=len(classes), test_rows=len(y_test),
               pool_copies=args.pool_copies,
               seeds=args.seeds, initial=args.initial, rounds=args.rounds, batch=args.batch,
               default_config=dataclasses.asdict(default), labels=labels,
               random_final_accuracy=target, acceptance_savings=ACCEPT_SAVINGS,
               acceptance_holds=j["holds"],
               strategies={m: {"overrides": kw, "mean": stats[m]["mean"].tolist(),
                               "std": stats[m]["std"].tolist(), **judged[m]}
                           for m, kw in strategies},
               runs=runs, wall_seconds=seconds, load_average=load_avg)  # fmt: skip
    name = "active_learning" + ("" if args.dataset == "banking77" else f"_{args.dataset}")
    name += "" if args.pool_copies == 1 else f"_copies{args.pool_copies}"
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"written to {RESULTS / f'{name}.json'}")


if __name__ == "__main__":
    main()
