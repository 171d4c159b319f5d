"""Active learning: a default tuned on one part, judged on held-out parts vs margin and random.

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/active_learning.py [--seeds 5] [--tuning-seeds 3] [--rounds 8]
                                                   [--batch 100] [--initial 200] [--variants]
                                                   [--dataset banking77|clinc150] [--jobs 2]

A simulation on banking77 (``../shared/data``, never copied): ``train.csv`` (10,003 rows, 77
intents) is the pool, its labels hidden until a row is picked; ``test.csv`` (3,080 rows) scores.
clinc150 (``clinc150/data_full.parquet``): its in-scope ``train`` split (15,000 rows, 150
intents) is the pool and its ``test`` split (4,500 rows) scores; out-of-scope rows are left out.
Texts are embedded with curate's text embedder (MiniLM, L2-normalised), cached by content hash
in ``benchmarks/results/cache/embeddings`` (label_issues.py's helper).

**Tuning / evaluation split.** Configurations are compared only on the *tuning part*: the
``--dataset``'s training pool with ``--tuning-fraction`` (20%) of it held out as tuning test
rows (a fixed permutation), seeds ``TUNING_SEED0`` (100), 101, ... (``--tuning-seeds``). The
configuration needing the fewest labels to reach random's final accuracy there (among those
meeting the acceptance below; ties: higher mean accuracy over the rounds) is the *tuning
choice*, and curate's default should be it. The verdicts come only from *held-out parts*, which
share no seed and no scoring row with the tuning part: the ``--dataset``'s real test split with
the full training pool as the pool, and the ``--second-dataset`` (never tuned on), each with
evaluation seeds 0 .. ``--seeds`` - 1. Both parts are printed.

Every strategy starts from the same ``--initial`` random rows per seed
(``default_rng(seed).choice(n, initial, replace=False)``); then ``--rounds`` rounds of
``--batch`` picks. Each round the reference classifier ``make_model(PredictConfig(), seed)``
(logistic regression) is refitted on the labelled rows and scored on the part's test rows.
Strategies: random (``default_rng([seed, 1]).choice`` of the unlabelled rows); margin
(``select_batch`` with weights {"uncertainty": 1, "diversity": 0, "similarity": 0}); curate
default (``ActiveLearningConfig()``); the tuning choice and the runner-up (the best of the
tuning part other than the choice and margin); and on the tuning part the grid
(``TUNING_GRID``, or the whole ``VARIANTS`` sweep with ``--variants``). A configuration with a
similarity weight gets ``targets`` as the pipeline computes them: out-of-fold pred_probs on the
labelled rows (``KFold(5, shuffle=True, random_state=seed)``), then ``failure_clusters(labels,
oof, classes, labelled_emb, seed=seed)``; the targets are the embeddings of the misclassified
labelled members of its ``cfg.target_clusters`` top clusters.

Pool pred_probs come from the model fitted on all labelled rows, mapped into the class order.
Label savings: the labels a strategy needs (linear interpolation on its mean curve) to reach
the mean accuracy random reaches at the end. Each held-out verdict line holds when curate's
default reaches it with at least 25% fewer labels, its mean is never below random's by more
than random's std at any round, its mean accuracy over the rounds beats random's (paired 95%
t-interval over the seeds above 0) and is not below plain margin's (the interval reaches 0, or
the two are the same configuration); it also gives the final accuracy's paired differences and
says where the default was chosen.

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
TUNING_SEED0 = 100  # tuning seeds start here; evaluation seeds are 0, 1, ...
TUNING_SPLIT_SEED = 20_240  # the permutation that carves the tuning test rows from the pool


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

# The configurations compared on the tuning part by default (besides margin and the former
# default); --variants compares the whole sweep.
TUNING_GRID = [
    "u1 d0 s0.02",
    "u1 d0 s0.05",
    "u1 d0.05 s0",
    "u1 d0.1 s0",
    "u1 d0.1 s0.05",
    "entropy u1 d0 s0",
    "least_confidence u1 d0 s0",
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
    from curate.model.predict import make_model

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
    runs = sorted((r for r in runs if r["strategy"] == name), key=lambda r: r["seed"])
    acc = np.array([r["accuracy"] for r in runs])
    # Per seed: the mean accuracy over the rounds after the shared start (area under the curve).
    return {"mean": acc.mean(axis=0), "std": acc.std(axis=0), "n": len(acc),
            "seeds": [r["seed"] for r in runs], "aulc": acc[:, 1:].mean(axis=1),
            "final": acc[:, -1]}  # fmt: skip


def judge(s: dict, rnd: dict, labels: list[int]) -> dict:
    target = float(rnd["mean"][-1])
    need = labels_to_reach(labels, s["mean"], target)
    gap = s["mean"] - rnd["mean"]
    worst = int(np.argmin(gap + rnd["std"]))
    savings = None if need is None else 1 - need / labels[-1]
    return {
        "labels_to_reach": need,
        "savings": savings,
        "aulc": float(s["aulc"].mean()),
        "worst_gap": float(gap.min()),
        "worst_gap_labels": labels[int(np.argmin(gap))],
        "never_below_one_std": bool(np.all(gap >= -rnd["std"])),
        "worst_gap_minus_std_labels": labels[worst],
        "holds": bool(
            savings is not None and savings >= ACCEPT_SAVINGS - 1e-12 and np.all(gap >= -rnd["std"])
        ),
    }


def paired(a: dict, b: dict, key: str = "aulc") -> dict:
    """Paired difference a - b of a per-seed figure: mean, 95% t-interval, and p (two-sided)."""
    from scipy import stats

    assert a["seeds"] == b["seeds"], "paired comparison needs the same seeds"
    d = np.asarray(a[key]) - np.asarray(b[key])
    n = len(d)
    if n < 2 or np.allclose(d, 0.0, atol=1e-12):
        return {"mean": float(d.mean()) if n else 0.0, "low": float(d.min()) if n else 0.0,
                "high": float(d.max()) if n else 0.0, "p": 1.0, "n": n,
                "identical": bool(n and np.allclose(d, 0.0, atol=1e-12))}  # fmt: skip
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)
    p = float(stats.ttest_rel(a[key], b[key]).pvalue)
    return {"mean": float(d.mean()), "low": float(d.mean() - half),
            "high": float(d.mean() + half), "p": p, "n": n, "identical": False}  # fmt: skip


def paired_text(name: str, c: dict) -> str:
    if c["identical"]:
        return f"vs {name}: identical picks on every seed (the same configuration)"
    return (f"vs {name}: {c['mean']:+.4f} [95% CI {c['low']:+.4f}, {c['high']:+.4f}], "
            f"paired t p={c['p']:.3g}, {c['n']} seeds")  # fmt: skip


def savings_line(name: str, j: dict, target: float, final_labels: int) -> str:
    if j["labels_to_reach"] is None:
        return f"{name}: not reached (random's final {target:.4f})"
    return (
        f"{name}: reaches {target:.4f} at {j['labels_to_reach']:.0f} labels "
        f"({j['savings']:+.1%} fewer than random's {final_labels})"
    )


def load_part(dataset: str, pool_copies: int) -> dict:
    """Embedded pool and test split of a data set (pool copies added as ``--pool-copies`` says)."""
    texts, labels_, test_texts, test_labels = load_data(dataset)
    X, _ = embed_texts(texts, f"{dataset}-train")
    X_test, _ = embed_texts(test_texts, f"{dataset}-test")
    classes = sorted(set(labels_))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in labels_], np.int64)
    y_test = np.array([index[c] for c in test_labels], np.int64)
    return {"dataset": dataset, "X": X, "y": y, "X_test": X_test, "y_test": y_test,
            "classes": classes, "pool_copies": pool_copies}  # fmt: skip


def with_copies(part: dict) -> dict:
    """Every pool row ``pool_copies`` times in all: the copies are the embedding plus noise."""
    k = part["pool_copies"]
    if k <= 1:
        return part
    X = part["X"]
    noise_rng = np.random.default_rng(12345)
    copies = [X] + [
        X + 0.1 / np.sqrt(X.shape[1]) * noise_rng.normal(size=X.shape).astype(np.float32)
        for _ in range(k - 1)
    ]
    Xc = np.concatenate(copies)
    Xc /= np.linalg.norm(Xc, axis=1, keepdims=True)
    return {**part, "X": Xc, "y": np.tile(part["y"], k)}


def tuning_split(part: dict, fraction: float) -> dict:
    """The tuning part: ``fraction`` of the training pool held out as its test rows.

    The data set's own test split is not used. Carved before any pool copies are added, so a
    row and its copies stay on one side.
    """
    n = len(part["y"])
    perm = np.random.default_rng(TUNING_SPLIT_SEED).permutation(n)
    held = np.sort(perm[: int(round(fraction * n))])
    pool = np.sort(perm[int(round(fraction * n)) :])
    return {**part, "X": part["X"][pool], "y": part["y"][pool], "X_test": part["X"][held],
            "y_test": part["y"][held], "name": f"{part['dataset']} tuning split",
            "pool_rows": pool, "test_rows": held}  # fmt: skip


def simulate(part: dict, strategies: list[tuple[str, dict]], seeds: list[int], args) -> dict:
    """Every strategy on every seed of one part; returns the runs and per-strategy figures."""
    part = with_copies(part)
    STATE.clear()
    STATE.update(X=np.ascontiguousarray(part["X"], np.float32), X_test=part["X_test"],
                 classes=part["classes"], y=part["y"], y_test=part["y_test"])  # fmt: skip
    print(f"\n=== {part['name']}: pool {len(part['y'])} rows, {len(part['classes'])} classes, "
          f"{len(part['y_test'])} test rows; seeds {seeds}; {args.initial} initial labels, "
          f"{args.rounds} rounds of {args.batch} ===")  # fmt: skip
    # A strategy whose configuration equals an earlier one's is simulated once.
    same_as: dict[str, str] = {}
    for i, (m, kw) in enumerate(strategies):
        for m0, kw0 in strategies[:i]:
            if (
                m0 not in same_as
                and "random" not in (m, m0)
                and make_cfg(kw, args.batch) == make_cfg(kw0, args.batch)
            ):
                same_as[m] = m0
                break
    jobs = [
        (m, kw, s, args.initial, args.rounds, args.batch)
        for m, kw in strategies
        if m not in same_as
        for s in seeds
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:  # forks after STATE is set
        runs = list(pool.map(job, jobs))
    for m, m0 in same_as.items():
        print(f"{m} has the same configuration as {m0}: simulated once")
        runs += [{**r, "strategy": m} for r in runs if r["strategy"] == m0]
    print(f"{len(jobs)} simulations in {time.perf_counter() - start:.0f} s ({args.jobs} workers)")
    labels = runs[0]["labels"]
    stats = {m: summarise(runs, m) for m, _ in strategies}
    judged = {m: judge(stats[m], stats["random"], labels) for m, _ in strategies}
    return {"name": part["name"], "labels": labels, "stats": stats, "judged": judged,
            "runs": runs, "seeds": seeds, "same_as": same_as}  # fmt: skip


def curve_table(res: dict, names: list[str]) -> None:
    stats = res["stats"]
    print("| labels | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for i, lab in enumerate(res["labels"]):
        cells = [f"{stats[m]['mean'][i]:.4f} ± {stats[m]['std'][i]:.4f}" for m in names]
        print(f"| {lab} | " + " | ".join(cells) + " |")
    target = float(stats["random"]["mean"][-1])
    print(f"label savings (labels to reach random's final mean accuracy {target:.4f}):")
    for m in names:
        print("  " + savings_line(m, res["judged"][m], target, res["labels"][-1]))


def choose(res: dict, names: list[str]) -> str:
    """The tuning choice: among configurations meeting the acceptance, fewest labels to reach
    random's final accuracy (ties: higher mean accuracy over the rounds); if none meets it,
    the highest mean accuracy over the rounds."""
    j = res["judged"]
    ok = [m for m in names if j[m]["holds"]]
    if ok:
        return min(ok, key=lambda m: (round(j[m]["labels_to_reach"]), -j[m]["aulc"]))
    return max(names, key=lambda m: j[m]["aulc"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="evaluation seeds: 0 .. N-1")
    ap.add_argument(
        "--tuning-seeds",
        type=int,
        default=3,
        help=f"tuning seeds: {TUNING_SEED0} .. {TUNING_SEED0} + N - 1 (disjoint from --seeds)",
    )
    ap.add_argument(
        "--tuning-fraction",
        type=float,
        default=0.2,
        help="share of the tuning data set's training pool held out as the tuning test rows",
    )
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--initial", type=int, default=200, help="random labelled rows to start from")
    ap.add_argument("--variants", action="store_true", help="tune over the whole sweep")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument(
        "--dataset",
        default="banking77",
        choices=["banking77", "clinc150"],
        help="the data set tuned on (on a split of its training pool) and evaluated first",
    )
    ap.add_argument(
        "--second-dataset",
        default="other",
        choices=["other", "none", "banking77", "clinc150"],
        help="a data set evaluated only (never tuned on); 'other': the one not tuned on",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="also tune over this configuration of the sweep (repeatable; names as in VARIANTS)",
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
    eval_seeds = list(range(args.seeds))
    tuning_seeds = [TUNING_SEED0 + i for i in range(args.tuning_seeds)]
    if set(eval_seeds) & set(tuning_seeds):
        raise SystemExit(
            f"--seeds {args.seeds} overlaps the tuning seeds {tuning_seeds}: the verdict would "
            f"be in-sample. Use fewer than {TUNING_SEED0} evaluation seeds."
        )
    default = ActiveLearningConfig()
    print(f"default: {default}")

    # -- tuning: choose a configuration on the tuning split with the tuning seeds ------------
    known = dict(VARIANTS)
    unknown = [v for v in args.variant if v not in known]
    if unknown:
        raise SystemExit(f"unknown --variant {unknown}; choose from {list(known)}")
    grid = [("margin", MARGIN), ("former default", FORMER_DEFAULT)] + (
        VARIANTS if args.variants else [(v, known[v]) for v in TUNING_GRID + args.variant]
    )
    grid = list(dict(grid).items())  # a name given twice runs once
    first = load_part(args.dataset, args.pool_copies)
    tuning = tuning_split(first, args.tuning_fraction)
    tuned = simulate(tuning, [*grid, ("random", {})], tuning_seeds, args)
    names = [m for m, _ in grid]
    choice = choose(tuned, names)
    runner_up = choose(tuned, [m for m in names if m not in (choice, "margin")])
    choice_cfg = make_cfg(dict(grid)[choice], args.batch)
    default_is_choice = choice_cfg == dataclasses.replace(default, batch_size=args.batch)
    jt = tuned["judged"]
    print("\n| configuration (tuning part) | labels to reach | savings | mean acc over rounds "
          "| worst gap to random |")  # fmt: skip
    print("| --- | --- | --- | --- | --- |")
    for m in sorted(names, key=lambda m: -jt[m]["aulc"]):
        need = "not reached" if jt[m]["labels_to_reach"] is None else (
            f"{jt[m]['labels_to_reach']:.0f}")  # fmt: skip
        sav = "-" if jt[m]["savings"] is None else f"{jt[m]['savings']:+.1%}"
        mark = " **chosen**" if m == choice else ""
        print(f"| {m}{mark} | {need} | {sav} | {jt[m]['aulc']:.4f} | {jt[m]['worst_gap']:+.4f} "
              f"@ {jt[m]['worst_gap_labels']} |")  # fmt: skip
    print(f"\ntuning choice ({len(names)} configurations, {tuning['name']}, seeds "
          f"{tuning_seeds}): {choice}; curate's default "
          f"{'IS' if default_is_choice else 'is NOT'} the tuning choice; runner-up (other than "
          f"margin): {runner_up}")  # fmt: skip

    # -- evaluation: the default, the tuning choice, margin and random on disjoint data -------
    second = {"other": "clinc150" if args.dataset == "banking77" else "banking77"}.get(
        args.second_dataset, args.second_dataset
    )
    parts = [{**first, "name": f"{args.dataset} test split"}]
    if second not in ("none", args.dataset):
        parts.append({**load_part(second, args.pool_copies), "name": f"{second} test split"})
    strategies = [("curate default", {}), ("tuning choice", dict(grid)[choice]),
                  ("margin", MARGIN), ("runner-up", dict(grid)[runner_up]),
                  ("random", {})]  # fmt: skip
    held_out, verdicts = [], []
    for part in parts:
        res = simulate(part, strategies, eval_seeds, args)
        curve_table(res, ["random", "margin", "runner-up", "curate default"])
        st, j = res["stats"], res["judged"]["curate default"]
        vs_runner = paired(st["curate default"], st["runner-up"])
        vs_margin = paired(st["curate default"], st["margin"])
        vs_random = paired(st["curate default"], st["random"])
        final_margin = paired(st["curate default"], st["margin"], "final")
        final_random = paired(st["curate default"], st["random"], "final")
        # Not worse than plain margin: the paired interval of the mean accuracy over the rounds
        # reaches 0 or above; better than random: its interval lies above 0.
        holds = (j["holds"] and (vs_margin["identical"] or vs_margin["high"] >= 0)
                 and vs_random["low"] > 0)  # fmt: skip
        target = float(st["random"]["mean"][-1])
        need = "not reached" if j["labels_to_reach"] is None else f"{j['labels_to_reach']:.0f}"
        line = (
            f"{part['name']}, seeds {eval_seeds} (held out; default chosen in-sample: no, "
            f"chosen on {tuning['name']} seeds {tuning_seeds}; "
            f"default {'=' if default_is_choice else '!='} tuning choice): curate default "
            f"reaches random's final {target:.4f} at {need} labels (needs <= "
            f"{(1 - ACCEPT_SAVINGS) * res['labels'][-1]:.0f}); mean accuracy over rounds "
            f"{paired_text('plain margin', vs_margin)}; {paired_text('random', vs_random)}; "
            f"{paired_text(f'the tuning runner-up ({runner_up})', vs_runner)}; "
            f"final accuracy {paired_text('plain margin', final_margin)}; "
            f"{paired_text('random', final_random)}: {'HOLDS' if holds else 'FAILS'}"
        )
        verdicts.append(line)
        held_out.append({"part": part["name"], "holds": holds, "vs_margin": vs_margin,
                         "runner_up": runner_up, "vs_runner_up": vs_runner,
                         "vs_random": vs_random, "final_vs_margin": final_margin,
                         "final_vs_random": final_random, "result": res})  # fmt: skip

    print("\nverdicts (tuning part above; every verdict from the held-out parts):")
    print(f"tuning ({tuning['name']}, seeds {tuning_seeds}, in-sample for the choice only): "
          f"{choice} chosen; its mean accuracy over rounds {jt[choice]['aulc']:.4f}, "
          f"plain margin {jt['margin']['aulc']:.4f}, random "
          f"{float(tuned['stats']['random']['aulc'].mean()):.4f}")  # fmt: skip
    for line in verdicts:
        print("acceptance, " + line)
    for res in [tuned] + [h["result"] for h in held_out]:
        for m in ("curate default", "margin", "runner-up", "random"):
            rs = [i["batch_classes"] for r in res["runs"] if r["strategy"] == m
                  for i in r["rounds"]]  # fmt: skip
            if rs:
                print(f"  {res['name']}, {m}: {np.mean(rs):.1f} distinct classes per batch")
    seconds = time.perf_counter() - wall
    load_avg = os.getloadavg()
    print(f"\nwall time: {seconds:.0f} s")
    print(f"load average (1, 5, 15 min): {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")

    def dump(res: dict) -> dict:
        return {"name": res["name"], "seeds": res["seeds"], "labels": res["labels"],
                "strategies": {m: {"mean": s["mean"].tolist(), "std": s["std"].tolist(),
                                   "aulc_per_seed": s["aulc"].tolist(), **res["judged"][m]}
                               for m, s in res["stats"].items()},
                "runs": res["runs"]}  # fmt: skip

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = dict(dataset=args.dataset, second_dataset=second, pool_copies=args.pool_copies,
               tuning_seeds=tuning_seeds, evaluation_seeds=eval_seeds,
               tuning_fraction=args.tuning_fraction, initial=args.initial, rounds=args.rounds,
               batch=args.batch, default_config=dataclasses.asdict(default),
               tuning_choice=choice, tuning_runner_up=runner_up,
               default_is_tuning_choice=default_is_choice,
               acceptance_savings=ACCEPT_SAVINGS, tuning=dump(tuned),
               held_out=[{k: (dump(v) if k == "result" else v) for k, v in h.items()}
                         for h in held_out],
               verdicts=verdicts, wall_seconds=seconds, load_average=load_avg)  # fmt: skip
    name = "active_learning" + ("" if args.dataset == "banking77" else f"_{args.dataset}")
    name += "" if args.pool_copies == 1 else f"_copies{args.pool_copies}"
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"written to {RESULTS / f'{name}.json'}")


if __name__ == "__main__":
    main()
