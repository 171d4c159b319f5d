"""``--part clinc150``: curate's outlier check vs cleanlab ``OutOfDistribution`` and Datalab
``outlier`` on the out-of-scope queries."""

from __future__ import annotations

import time

import numpy as np
from common import (
    DATA,
    datalab_issues,
    embed,  # the shared, content-hash-cached text embedding
    import_datalab,
)

# --- clinc150 -------------------------------------------------------------------------------


def ood_row(method: str, is_oos: np.ndarray, score: np.ndarray, wall: float, flagged=None) -> dict:
    """AUROC/AUPRC of ``-score`` (lower score = more out-of-scope) and precision@#oos."""
    from sklearn import metrics

    risk = -np.asarray(score, float)
    top = np.argsort(-risk, kind="stable")[: is_oos.sum()]
    row = dict(
        method=method,
        auroc=metrics.roc_auc_score(is_oos, risk),
        auprc=metrics.average_precision_score(is_oos, risk),
        precision_at_n_oos=float(is_oos[top].mean()),
        wall_s=wall,
    )
    if flagged is not None:
        flagged = np.asarray(flagged, bool)
        row.update(
            flagged=int(flagged.sum()),
            flag_precision=float(is_oos[flagged].mean()),
            flag_recall=float(flagged[is_oos].mean()),
        )
    return row


def print_ood(title: str, rows: list[dict]) -> None:
    width = max(len(r["method"]) for r in rows)
    print(
        f"\n{title}\n{'method':<{width}} | AUROC | AUPRC | P@#oos | flagged | flag P | flag R | "
        "wall s"
    )
    for r in rows:
        flags = (
            f"{r['flagged']:7d} | {r['flag_precision']:6.3f} | {r['flag_recall']:6.3f}"
            if "flagged" in r
            else f"{'':7} | {'':6} | {'':6}"
        )
        print(
            f"{r['method']:<{width}} | {r['auroc']:5.3f} | {r['auprc']:5.3f} | "
            f"{r['precision_at_n_oos']:6.3f} | {flags} | {r['wall_s']:6.2f}"
        )


def run_clinc150(seed: int) -> dict:
    import pandas as pd
    from cleanlab.outlier import OutOfDistribution

    from curate.checks.outlier import find_outliers
    from curate.config import IndexConfig, OutlierConfig
    from curate.index import IndexSpec, build_graph, build_index

    import_datalab()  # outside the timed section
    df = pd.read_parquet(DATA / "clinc150/data_full.parquet")
    texts, splits = df.text.tolist(), df.split.astype(str).to_numpy()
    X, _ = embed(texts, "clinc150")
    is_oos = np.char.startswith(splits.astype(str), "oos")
    n = len(texts)
    print(f"\n== clinc150: {n} rows, {int(is_oos.sum())} out-of-scope ==")

    t0 = time.perf_counter()
    graph = build_graph(X, IndexConfig(), seed=seed)
    res = find_outliers([str(i) for i in range(n)], graph, splits=list(splits), cfg=OutlierConfig())
    wall = time.perf_counter() - t0
    cfg = OutlierConfig()
    rows = [
        ood_row(
            f"curate outlier (k={cfg.k}, rate={cfg.rate})",
            is_oos,
            res.table.column("outlier_score").to_numpy(),
            wall,
            res.table.column("is_outlier_issue").to_numpy(zero_copy_only=False),
        )
    ]

    t0 = time.perf_counter()
    score = OutOfDistribution().fit_score(features=X)
    rows.append(
        ood_row("cleanlab OutOfDistribution().fit_score", is_oos, score, time.perf_counter() - t0)
    )
    t0 = time.perf_counter()
    lab = datalab_issues(X, "outlier")
    issues = lab.get_issues("outlier")
    rows.append(
        ood_row(
            "cleanlab Datalab outlier",
            is_oos,
            issues["outlier_score"].to_numpy(),
            time.perf_counter() - t0,
            issues["is_outlier_issue"].to_numpy(),
        )
    )
    print_ood("all rows (transductive: oos rows are part of the data that is scored)", rows)

    # Reference setup: the labelled in-scope training rows are the reference; score test queries.
    ref, query = splits == "train", np.isin(splits, ["test", "oos_test"])
    q_oos = is_oos[query]
    k = cfg.k
    t0 = time.perf_counter()
    index = build_index(np.ascontiguousarray(X[ref]), IndexSpec("exact"), seed=seed)
    sims, _ = index.search(np.ascontiguousarray(X[query]), k)
    ref_score = (1 + sims.mean(axis=1)) / 2  # same mapping as curate's outlier_score
    ref_rows = [
        ood_row(
            f"mean cosine to {k} nearest train rows (faiss)",
            q_oos,
            ref_score,
            time.perf_counter() - t0,
        )
    ]
    t0 = time.perf_counter()
    ood = OutOfDistribution()
    ood.fit(features=X[ref])
    ref_rows.append(
        ood_row(
            "cleanlab OutOfDistribution().fit(train).score",
            q_oos,
            ood.score(features=X[query]),
            time.perf_counter() - t0,
        )
    )
    # The threshold a user would set: flag queries below the 2nd percentile of the reference's
    # own leave-one-out scores (the same rate as curate's default).
    self_sims, _ = index.search(np.ascontiguousarray(X[ref]), k + 1)
    cut = np.quantile((1 + self_sims[:, 1:].mean(axis=1)) / 2, cfg.rate)
    ref_rows[0].update(
        flagged=int((ref_score < cut).sum()),
        flag_precision=float(q_oos[ref_score < cut].mean()),
        flag_recall=float((ref_score < cut)[q_oos].mean()),
        cutoff=float(cut),
    )
    print_ood(
        f"reference = {int(ref.sum())} in-scope train rows; queries = {int(query.sum())} test + "
        f"oos_test rows ({int(q_oos.sum())} oos); flag = below the {cfg.rate:.0%} quantile of "
        "the train rows' own scores",
        ref_rows,
    )
    return dict(
        rows=n, oos=int(is_oos.sum()), all_rows=rows, reference=ref_rows, curate_summary=res.summary
    )
