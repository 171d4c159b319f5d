"""Label-issue detection: curate's defaults vs cleanlab with defaults, against known errors.

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/label_issues.py [--rows N] [--datasets agnews,banking77]
                                                [--variants] [--seed S]

Both methods get the same sentence embeddings (curate's text embedder, cached in
``benchmarks/results/cache/embeddings``); wall times exclude embedding.

* curate default: ``out_of_sample_pred_probs`` with ``PredictConfig()`` and the stage's fold
  groups (exact copies plus near-duplicates, ``fold_groups``), then the ``label`` check with
  ``LabelConfig()``.
* baseline: ``cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=5,
  method="predict_proba")``, ``cleanlab.filter.find_label_issues`` and
  ``cleanlab.rank.get_label_quality_scores``, all with their defaults.

Data (``../shared/data``, never copied), shuffled once after loading (seeded):

* agnews: NoisyAG-News train; given labels = crowd ``label``, true errors = ``label !=
  gold_label`` (19.75%). Also: clean-test accuracy after removing / relabelling flagged rows.
* banking77: 77 intents with synthetic class-conditional noise at 10% and 30%. Noise model: for
  each class c, 3 other classes are drawn once with a seeded RNG; then in each class exactly
  round(rate * n_c) random rows get a label drawn uniformly from c's 3 classes (the same 3 at
  both rates). True errors = the relabelled rows.

Figures are printed and written to ``benchmarks/results/label_issues.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data"
RESULTS = REPO / "benchmarks/results"
KNN_K = (5, 7, 10, 20, 50)
LR, KNN = "logreg C=1", "knn k=20"
# Sources that get every filter_by / score_method variant, besides the best one by AUPRC.
FILTER_SOURCES = (LR, "knn k=50")
ENSEMBLES = [(LR, KNN), (LR, "tfidf"), (LR, KNN, "tfidf")]
FILTERS = ("both", "prune_by_class", "confident_learning", "predicted_neq_given")


@dataclass
class Case:
    name: str
    texts: list[str]
    labels: list[str]  # the given (noisy) labels
    truth: np.ndarray  # True where the given label is wrong
    X: np.ndarray
    hashes: list[str]
    extra: dict = field(default_factory=dict)


def load(path: Path, label: str, rows: int | None, seed: int) -> pd.DataFrame:
    """Read, take a stratified subsample of about ``rows`` rows if asked, shuffle."""
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if rows is not None and rows < len(df):
        df = df.groupby(label).sample(frac=rows / len(df), random_state=seed)
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def embed(texts: list[str], tag: str) -> tuple[np.ndarray, list[str]]:
    from curate.config import TextEmbedConfig
    from curate.content import content_hash
    from curate.embed import embed_manifest, to_matrix
    from curate.embed.text import TextEmbedder

    hashes = [content_hash(t.encode("utf-8")) for t in texts]
    ids = [f"{tag}-{i}" for i in range(len(texts))]
    manifest = pa.table({"sample_id": ids, "content_hash": hashes, "input": texts})
    embedder = TextEmbedder(TextEmbedConfig(), batch_size=64)
    table, stats = embed_manifest(manifest, embedder, RESULTS / "cache/embeddings")
    print(f"[{tag}] {stats.rows} rows, {stats.embedded} embedded in {stats.seconds:.1f} s")
    return to_matrix(table.column("embedding")), hashes


def load_agnews(rows: int | None, seed: int) -> list[Case]:
    train = load(DATA / "noisy_agnews/train_10k.parquet", "label", rows, seed)
    test = load(DATA / "noisy_agnews/test.parquet", "label", rows, seed)
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
    df = load(DATA / "banking77/train.csv", "category", rows, seed)
    X, hashes = embed(df.text.tolist(), "banking77-train")
    cases = []
    for rate in (0.1, 0.3):
        noisy = inject_noise(df.category.tolist(), rate, seed)
        truth = np.array(noisy) != df.category.to_numpy()
        cases.append(Case(f"banking77 {rate:.0%} noise", df.text.tolist(), noisy, truth, X, hashes))
    return cases


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


def row(method: str, truth: np.ndarray, flagged, quality, wall: float) -> dict:
    """P/R/F1 of the flags and AUROC/AUPRC of ``-quality``, both against the true errors."""
    from sklearn import metrics

    flagged, risk = np.asarray(flagged, bool), -np.asarray(quality, float)
    p, r, f, _ = metrics.precision_recall_fscore_support(
        truth, flagged, average="binary", zero_division=0
    )
    auroc, auprc = metrics.roc_auc_score(truth, risk), metrics.average_precision_score(truth, risk)
    return dict(method=method, precision=p, recall=r, f1=f, auroc=auroc, auprc=auprc,
                flagged=int(flagged.sum()), wall_s=wall)  # fmt: skip


def check_row(method: str, case: Case, table: pa.Table, wall: float) -> dict:
    flags, scores = table.column("is_label_issue"), table.column("label_score")
    return row(method, case.truth, flags.to_numpy(), scores.to_numpy(), wall)


def print_table(title: str, rows: list[dict]) -> None:
    width = max(len(r["method"]) for r in rows)
    print(
        f"\n{title}\n{'method':<{width}} | precision | recall |    F1 | AUROC | AUPRC | "
        "flagged | wall s"
    )
    for r in rows:
        print(
            f"{r['method']:<{width}} | {r['precision']:9.3f} | {r['recall']:6.3f} | "
            f"{r['f1']:5.3f} | {r['auroc']:5.3f} | {r['auprc']:5.3f} | {r['flagged']:7d} | "
            f"{r['wall_s']:6.1f}"
        )


def run_case(case: Case, seed: int, variants: bool) -> dict:
    import cleanlab.filter
    import cleanlab.rank
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from curate.config import IndexConfig, LabelConfig, PredictConfig
    from curate.index import build_graph
    from curate.predict import fold_groups, out_of_sample_pred_probs

    t0 = time.perf_counter()
    case.extra["graph"] = build_graph(case.X, IndexConfig(), seed=seed)  # the knn stage
    groups = fold_groups(case.extra["graph"], case.hashes, PredictConfig())
    preds = out_of_sample_pred_probs(case.X, case.labels, groups, PredictConfig(), seed)
    pred_s = time.perf_counter() - t0
    res = label_check(case, preds.pred_probs, preds.classes, LabelConfig(), seed)
    cur = check_row("curate default", case, res.table, time.perf_counter() - t0)

    t0 = time.perf_counter()
    y = np.array([preds.classes.index(lab) for lab in case.labels])
    model = LogisticRegression(max_iter=1000)
    P = cross_val_predict(model, case.X, y, cv=5, method="predict_proba")
    flags = cleanlab.filter.find_label_issues(y, P)
    quality = cleanlab.rank.get_label_quality_scores(y, P)
    base = row("baseline (cleanlab defaults)", case.truth, flags, quality, time.perf_counter() - t0)

    print_table(f"== {case.name}: {len(y)} rows, {len(preds.classes)} classes ==", [cur, base])
    out = {
        "rows": len(y),
        "true_noise_rate": float(case.truth.mean()),
        "methods": [cur, base],
        "delta_f1": cur["f1"] - base["f1"],
        "delta_auprc": cur["auprc"] - base["auprc"],
        "curate_noise_rate": res.summary["overall"]["noise_rate"],
        "curate_joint_noise_rate": res.summary["joint_noise_rate"],
        "curate_cv_accuracy": preds.cv_accuracy,
    }
    print(f"curate - baseline: F1 {out['delta_f1']:+.3f}, AUPRC {out['delta_auprc']:+.3f}")
    print(
        f"noise rate: true {out['true_noise_rate']:.2%} | curate overall.noise_rate "
        f"{out['curate_noise_rate']:.2%} | curate joint_noise_rate "
        f"{out['curate_joint_noise_rate']:.2%} | baseline flagged {base['flagged'] / len(y):.2%}"
    )
    tables = {"curate default": res.table}
    if variants:
        out["variants"], best = run_variants(case, preds, pred_s, base, seed)
        tables.update(best)
    if "X_test" in case.extra:
        out["downstream"] = downstream(case, tables)
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


def tfidf_pred_probs(case: Case, fold: np.ndarray, classes) -> np.ndarray:
    """TF-IDF (word 1-2 grams, sublinear tf) + logistic regression on curate's grouped folds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, y = np.array(case.texts, object), np.array([classes.index(c) for c in case.labels])
    P = np.zeros((len(y), len(classes)))
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        model = LogisticRegression(C=10, max_iter=1000)
        model.fit(vec.fit_transform(texts[train]), y[train])
        P[np.ix_(test, model.classes_)] = model.predict_proba(vec.transform(texts[test]))
    return P / P.sum(axis=1, keepdims=True)


def run_variants(case: Case, preds, pred_s: float, base: dict, seed: int):
    """Other predictors and cleanlab settings, each through curate's own label check."""
    from curate.config import LabelConfig, PredictConfig
    from curate.predict import fold_groups, out_of_sample_pred_probs

    sources = {LR: (preds.pred_probs, pred_s)}
    configs = {f"logreg C={c}": PredictConfig(logreg_c=c) for c in (0.1, 10)}
    configs |= {f"knn k={k}": PredictConfig(model="knn", knn_k=k) for k in KNN_K}
    for name, pcfg in configs.items():
        t0 = time.perf_counter()
        p = out_of_sample_pred_probs(
            case.X, case.labels, fold_groups(case.extra["graph"], case.hashes, pcfg), pcfg, seed
        )
        sources[name] = (p.pred_probs, time.perf_counter() - t0)
    t0 = time.perf_counter()
    sources["tfidf"] = (tfidf_pred_probs(case, preds.fold, preds.classes), time.perf_counter() - t0)
    for members in ENSEMBLES:
        sources[f"avg({', '.join(members)})"] = (
            sum(sources[m][0].astype(float) for m in members) / len(members),
            sum(sources[m][1] for m in members),
        )

    rows, tables = [], {}

    def check(src: str, lcfg: LabelConfig) -> None:
        P, secs = sources[src]
        t0 = time.perf_counter()
        res = label_check(case, P, preds.classes, lcfg, seed)
        name = f"{src} | {lcfg.filter_by}, {lcfg.score_method}"
        rows.append(check_row(name, case, res.table, secs + time.perf_counter() - t0))
        tables[name] = res.table

    for src in sources:
        check(src, LabelConfig())
    best_src = max(rows, key=lambda r: r["auprc"])["method"].split(" | ")[0]
    for src in dict.fromkeys([*FILTER_SOURCES, best_src]):
        for fb in FILTERS:
            check(src, LabelConfig(filter_by=fb))
        check(src, LabelConfig(score_method="normalized_margin"))
    print_table(f"-- {case.name}: variants (predictor | filter_by, score_method) --", [*rows, base])
    best_f1, best_ap = max(rows, key=lambda r: r["f1"]), max(rows, key=lambda r: r["auprc"])
    for what, r in [("F1", best_f1), ("AUPRC", best_ap)]:
        key = what.lower()
        print(f"best {what}: {r['method']}: {r[key]:.3f} ({r[key] - base[key]:+.3f} vs baseline)")
    meets = [r for r in rows if r["f1"] >= base["f1"] + 0.05 and r["auprc"] >= base["auprc"]]
    print(
        "F1 >= baseline + 0.05 and AUPRC >= baseline:",
        "; ".join(r["method"] for r in meets) or "none",
    )
    return rows, {f"best F1 ({best_f1['method']})": tables[best_f1["method"]]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, help="stratified subsample of about N rows per file")
    parser.add_argument("--datasets", default="agnews,banking77", help="comma-separated list")
    parser.add_argument("--variants", action="store_true", help="also try other configurations")
    parser.add_argument("--seed", type=int, default=0, help="shuffling, subsample, noise, folds")
    args = parser.parse_args()
    loaders = {"agnews": load_agnews, "banking77": load_banking77}
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if unknown := sorted(set(names) - set(loaders)):
        parser.error(f"unknown dataset(s) {unknown}; choose from {sorted(loaders)}")
    results = {"args": vars(args)}
    for name in names:
        for case in loaders[name](args.rows, args.seed):
            results[case.name] = run_case(case, args.seed, args.variants)
    results["loadavg_1_5_15"] = os.getloadavg()  # anything else running skews the wall times
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*results["loadavg_1_5_15"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "label_issues.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"\nwrote {RESULTS / 'label_issues.json'}")


if __name__ == "__main__":
    main()
