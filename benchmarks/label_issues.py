"""Label-issue detection: curate's reference model and label check against a plain cleanlab script.

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/label_issues.py [--datasets agnews,banking77,twentynews]
                                                [--seeds 0] [--rows N] [--settings]

Rows (``../shared/data``, never copied; shuffled once after loading, seeded):

* agnews: NoisyAG-News train; given labels = crowd ``label``, true errors = ``label !=
  gold_label`` (19.75%, real human noise). Also: clean-test accuracy after removing /
  relabelling flagged rows.
* banking77 10% / 30%: 77 intents with planted class-conditional noise. Noise model: for each
  class c, 3 other classes are drawn once with a seeded RNG; then in each class exactly
  round(rate * n_c) random rows get a label drawn uniformly from c's 3 classes (the same 3 at
  both rates). True errors = the relabelled rows.
* twentynews 10%: the 11,314 long newsgroup posts, the same planted noise model at 10%.

Columns, all in one run on the same folds and the same text embeddings where they use any:

* baseline: what a user writes in ten lines: all-MiniLM-L6-v2 via ``SentenceTransformer.encode``
  (truncating at its 256-word-piece window), ``cross_val_predict(LogisticRegression(max_iter=
  1000), X, y, cv=5, method="predict_proba")``, ``cleanlab.filter.find_label_issues`` and
  ``cleanlab.rank.get_label_quality_scores``, all with their defaults;
* each reference-model member alone (:mod:`curate.model.reference`), through curate's label check;
* ``previous default``: the single embedding logistic-regression member with
  ``LabelConfig(filter_by="prune_by_noise_rate", score_method="self_confidence")``, the
  defaults before the members existed;
* ``curate default``: ``PredictConfig()`` (``members: auto``, combined out of fold) and
  ``LabelConfig()``.

Metrics: precision / recall / F1 of the flags, AUROC / AUPRC of ``-label_score``, errors found
in the top K (K = the number of real errors), the noise bracket against the true rate, and wall
time. curate's wall time is ``predict`` + ``label`` (kNN graph for the fold groups, every
member, the combination, the check). The baseline's is its whole script *including embedding*:
curate's text embeddings are cached (``benchmarks/results/cache``), so the baseline's plain
``encode`` is timed on a seeded sample of ``--embed-sample`` texts in this run and scaled to
the row count (printed as such).

Verdict lines follow the acceptance of the reference-model work; each names its baseline from
the same run and says whether the defaults it scores were chosen on that seed (seed 0 was the
tuning seed; seeds 1 and 2 are held out). ``--settings`` also scores every ``score_method`` x
``filter_by`` on the default's pred_probs (the table the defaults were chosen from).

Figures are printed and written to ``benchmarks/results/label_issues.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from common import (
    DATA,
    baseline_label_issues,
    baseline_model,
    baseline_pred_probs,
    embed,
    import_baselines,
    int_list,
    load_sample,
    write_json,
)
from label_issues_report import print_table, verdicts


@dataclass
class Case:
    name: str
    texts: list[str]
    labels: list[str]  # the given (noisy) labels
    truth: np.ndarray  # True where the given label is wrong
    X: np.ndarray
    hashes: list[str]
    extra: dict = field(default_factory=dict)


def load_agnews(rows: int | None, seed: int) -> list[Case]:
    train = load_sample(DATA / "noisy_agnews/train_10k.parquet", "label", rows, seed)
    test = load_sample(DATA / "noisy_agnews/test.parquet", "label", rows, seed)
    cols = {"train label": train.label, "gold_label": train.gold_label, "test label": test.label}
    print("agnews:", "; ".join(f"{n} {c.dtype} {sorted(c.unique())}" for n, c in cols.items()))
    X, hashes = embed(train.text.tolist(), "agnews-train")
    X_test, _ = embed(test.text.tolist(), "agnews-test")
    truth = (train.label != train.gold_label).to_numpy()
    extra = {"gold": train.gold_label.tolist(), "X_test": X_test, "y_test": test.label.to_numpy()}
    return [Case("agnews", train.text.tolist(), train.label.tolist(), truth, X, hashes, extra)]


def inject_noise(labels: list[str], rate: float, seed: int) -> list[str]:
    """Class-conditional noise as described in the module docstring."""
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    targets = {c: rng.choice([d for d in classes if d != c], 3, replace=False) for c in classes}
    given, noisy = np.asarray(labels, object), np.asarray(labels, object)
    for c in classes:
        idx = np.flatnonzero(given == c)
        flip = rng.choice(idx, round(rate * len(idx)), replace=False)
        noisy[flip] = rng.choice(targets[c], len(flip))
    return noisy.tolist()


def load_banking77(rows: int | None, seed: int) -> list[Case]:
    df = load_sample(DATA / "banking77/train.csv", "category", rows, seed)
    X, hashes = embed(df.text.tolist(), "banking77-train")
    cases = []
    for rate in (0.1, 0.3):
        noisy = inject_noise(df.category.tolist(), rate, seed)
        truth = np.array(noisy) != df.category.to_numpy()
        cases.append(Case(f"banking77 {rate:.0%} noise", df.text.tolist(), noisy, truth, X, hashes))
    return cases


def load_twentynews(rows: int | None, seed: int) -> list[Case]:
    df = load_sample(DATA / "twentynews/train.parquet", "label", rows, seed)
    texts, labels = df.text.tolist(), df.label.astype(str).tolist()
    X, hashes = embed(texts, "twentynews-train")
    noisy = inject_noise(labels, 0.1, seed)
    truth = np.array(noisy, object) != np.array(labels, object)
    # what the baseline script gets: the model's window, the rest of each post cut off
    extra = {"X_baseline": embed(texts, "twentynews-train-truncated", truncate=True)[0]}
    return [Case("twentynews 10% noise", texts, noisy, truth, X, hashes, extra)]


def label_check(case: Case, pred_probs: np.ndarray, classes, lcfg, seed: int):
    from curate import checks

    n = len(case.labels)
    return checks.get("label")(
        sample_ids=[str(i) for i in range(n)],
        splits=["train"] * n,
        labels=case.labels,
        content_hashes=case.hashes,
        pred_probs=pred_probs,
        classes=classes,
        cfg=lcfg,
        seed=seed,
    )


def row(method: str, truth: np.ndarray, flagged, quality, wall: float, bracket=None) -> dict:
    """P/R/F1 of the flags, AUROC/AUPRC of ``-quality`` and the errors in the top K (K = the
    number of true errors, lowest quality first), all against the true errors."""
    from sklearn import metrics

    flagged, quality = np.asarray(flagged, bool), np.asarray(quality, float)
    p, r, f, _ = metrics.precision_recall_fscore_support(
        truth, flagged, average="binary", zero_division=0
    )
    auroc = metrics.roc_auc_score(truth, -quality)
    auprc = metrics.average_precision_score(truth, -quality)
    top_k = int(truth[np.argsort(quality, kind="stable")[: int(truth.sum())]].sum())
    return dict(method=method, precision=p, recall=r, f1=f, auroc=auroc, auprc=auprc,
                top_k=top_k, flagged=int(flagged.sum()), wall_s=wall,
                bracket=bracket)  # fmt: skip


def bracket_of(summary: dict) -> list[float] | None:
    """The label summary's overall noise bracket [lower, upper], if it has one."""
    b = (summary.get("noise_bracket") or {}).get("overall") or {}
    if b.get("lower") is None or b.get("upper") is None:
        return None
    return [float(b["lower"]), float(b["upper"])]


def check_row(method: str, case: Case, res, wall: float) -> dict:
    t = res.table
    flags, scores = t.column("is_label_issue").to_numpy(), t.column("label_score").to_numpy()
    return row(method, case.truth, flags, scores, wall, bracket_of(res.summary))


def baseline_embed_seconds(texts: list[str], sample: int, seed: int) -> tuple[float, str]:
    """Wall time of a plain ``SentenceTransformer(model).encode(texts)`` over all ``texts``:
    the model load plus ``encode`` on a seeded sample, scaled to the row count."""
    import sentence_transformers  # noqa: F401  (imported before the timed load)

    rng = np.random.default_rng(seed)
    part = [texts[i] for i in rng.choice(len(texts), min(sample, len(texts)), replace=False)]
    t0 = time.perf_counter()
    model = baseline_model(device="cpu")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.encode(part, show_progress_bar=False)
    per_row = (time.perf_counter() - t0) / len(part)
    note = f"load {load_s:.1f} s + encode of {len(part)} texts scaled to {len(texts)}"
    return load_s + per_row * len(texts), note


def run_case(case: Case, seed: int, args) -> dict:
    import cleanlab.rank

    import_baselines()  # before every timed section

    from curate.config import IndexConfig, LabelConfig, PredictConfig
    from curate.index import build_graph
    from curate.model.predict import fold_groups
    from curate.model.reference import reference_pred_probs, resolve_members

    pcfg, lcfg = PredictConfig(), LabelConfig()
    t0 = time.perf_counter()
    graph = build_graph(case.X, IndexConfig(), seed=seed)  # the knn stage, for the fold groups
    groups = fold_groups(graph, case.hashes, pcfg)
    members = resolve_members(pcfg, "text")
    ref = reference_pred_probs(case.X, case.labels, groups, pcfg, members, seed, case.texts)
    res = label_check(case, ref.predictions.pred_probs, ref.predictions.classes, lcfg, seed)
    cur = check_row("curate default", case, res, time.perf_counter() - t0)
    classes = ref.predictions.classes

    rows = []
    for m in ref.members:
        r = label_check(case, ref.member_oof[m.name], classes, lcfg, seed)
        rows.append(check_row(f"member {m.name} alone", case, r, m.seconds))
    previous = LabelConfig(filter_by="prune_by_noise_rate", score_method="self_confidence")
    r = label_check(case, ref.member_oof["embedding_logreg"], classes, previous, seed)
    emb_s = next(m.seconds for m in ref.members if m.name == "embedding_logreg")
    prev = check_row("previous default (embedding_logreg)", case, r, emb_s)

    embed_s, embed_note = baseline_embed_seconds(case.texts, args.embed_sample, seed)
    t0 = time.perf_counter()
    y = np.array([classes.index(lab) for lab in case.labels])
    Xb = case.extra.get("X_baseline", case.X)
    P = baseline_pred_probs(Xb, y)
    flags = baseline_label_issues(y, P)
    quality = cleanlab.rank.get_label_quality_scores(y, P)
    base = row("baseline script (embedding incl.)", case.truth, flags, quality,
               time.perf_counter() - t0 + embed_s)  # fmt: skip

    table = [base, prev, *rows, cur]
    print_table(f"== {case.name}: {len(y)} rows, {len(classes)} classes, seed {seed} ==",
                table, case.truth)  # fmt: skip
    print(f"baseline embedding time: {embed_note}")
    print("combination:", ref.combine, {k: round(v, 3) for k, v in ref.weights.items()})
    out = {
        "rows": len(y),
        "true_noise_rate": float(case.truth.mean()),
        "true_errors": int(case.truth.sum()),
        "methods": table,
        "weights": ref.weights,
        "baseline_embed_note": embed_note,
        "summary_noise": {k: res.summary.get(k) for k in ("noise_bracket", "joint_noise_rate")},
    }
    if args.settings:
        out["settings"] = settings_table(case, ref.predictions.pred_probs, classes, seed)
    if "X_test" in case.extra:
        out["downstream"] = downstream(case, {"curate default": res.table})
    return out


SCORE_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
           "predicted_neq_given")  # fmt: skip


def settings_table(case: Case, P: np.ndarray, classes, seed: int) -> list[dict]:
    """Every ``score_method`` (ranking: AUPRC, top-K) and ``filter_by`` (flags: F1) on the
    default's pred_probs."""
    from curate.config import LabelConfig

    out = []
    for sm in SCORE_METHODS:
        res = label_check(case, P, classes, LabelConfig(score_method=sm), seed)
        out.append(check_row(f"score_method={sm}", case, res, 0.0))
    for fb in FILTERS:
        res = label_check(case, P, classes, LabelConfig(filter_by=fb), seed)
        out.append(check_row(f"filter_by={fb}", case, res, 0.0))
    print_table(f"-- {case.name}: label settings on the default's pred_probs --", out, case.truth)
    return out


def downstream(case: Case, tables: dict[str, pa.Table]) -> dict:
    """Clean-test accuracy of logistic regression trained on differently cleaned labels."""
    from sklearn.linear_model import LogisticRegression

    noisy, everything = np.array(case.labels, object), np.ones(len(case.labels), bool)
    setups = {
        "noisy labels": (everything, noisy),
        "gold labels (reference)": (everything, np.array(case.extra["gold"], object)),
    }
    for name, table in tables.items():
        flagged = table.column("is_label_issue").to_numpy()
        suggested = np.array(table.column("suggested_label").to_pylist(), object)
        setups[f"{name}: flagged removed"] = (~flagged, noisy)
        setups[f"{name}: suggested labels"] = (everything, np.where(flagged, suggested, noisy))
    X_test, y_test = case.extra["X_test"], case.extra["y_test"]
    print(f"\nclean test accuracy ({len(y_test)} rows), LogisticRegression(max_iter=1000):")
    width, result = max(map(len, setups)), {}
    for name, (keep, y) in setups.items():
        acc = LogisticRegression(max_iter=1000).fit(case.X[keep], y[keep]).score(X_test, y_test)
        result[name] = {"train_rows": int(keep.sum()), "accuracy": float(acc)}
        print(f"  {name:<{width}}  train rows {keep.sum():6d}  accuracy {acc:.4f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, help="stratified subsample of about N rows per file")
    parser.add_argument("--datasets", default="agnews,banking77,twentynews",
                        help="comma-separated list")  # fmt: skip
    parser.add_argument("--seeds", default="0", help="comma-separated: shuffling, noise, folds")
    parser.add_argument("--settings", action="store_true",
                        help="also score every score_method and filter_by")  # fmt: skip
    parser.add_argument("--embed-sample", type=int, default=500,
                        help="texts the baseline's plain encode is timed on")  # fmt: skip
    args = parser.parse_args()
    loaders = {"agnews": load_agnews, "banking77": load_banking77, "twentynews": load_twentynews}
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if unknown := sorted(set(names) - set(loaders)):
        parser.error(f"unknown dataset(s) {unknown}; choose from {sorted(loaders)}")
    seeds = int_list(args.seeds)
    results = {}
    for seed in seeds:
        for name in names:
            for case in loaders[name](args.rows, seed):
                results[f"{case.name} seed {seed}"] = run_case(case, seed, args)
    lines = verdicts(results)
    print("\nverdicts (defaults chosen on seed 0; seeds 1 and 2 held out):")
    for line in lines:
        print(" ", line)
    load_avg = os.getloadavg()  # anything else running skews the wall times
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*load_avg))
    out = {"args": vars(args), "results": results, "verdicts": lines, "loadavg_1_5_15": load_avg}
    print(f"\nwrote {write_json('label_issues.json', out, end='')}")


if __name__ == "__main__":
    main()
