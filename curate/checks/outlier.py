"""Outliers: samples far from their nearest neighbours in embedding space.

``outlier_score`` is the mean cosine similarity to the ``outlier.k`` nearest neighbours in the
kNN graph, mapped to [0, 1] as (1 + mean) / 2 (lower = more isolated = worse, the cleanlab
convention); ``knn_distance`` is 1 - that mean. ``is_outlier_issue`` marks the lowest-scoring
``outlier.rate`` fraction of samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from curate.checks import CheckResult, register
from curate.index.graph import KnnGraph
from curate.settings import check_range

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config


@dataclass(frozen=True)
class OutlierConfig:
    """Outliers: mean cosine similarity to the k nearest neighbours (kNN graph)."""

    #: Neighbours averaged for the score (at most ``index.k``).
    k: int = 10
    #: Fraction of samples flagged ``is_outlier_issue`` (the lowest scores).
    rate: float = 0.02

    def validate(self, cfg: Config) -> None:
        check_range("outlier.rate", self.rate, 0 <= self.rate <= 1, "in [0, 1]")
        check_range("outlier.k", self.k, self.k >= 1, ">= 1")


@register("outlier")
def find_outliers(
    sample_ids: Sequence[str],
    graph: KnnGraph,
    *,
    splits: Sequence[str] | None = None,
    cfg: OutlierConfig | None = None,
) -> CheckResult:
    cfg = cfg or OutlierConfig()
    n = len(sample_ids)
    k = min(cfg.k, graph.k)
    sims = graph.sims[:, :k].astype(np.float64)
    found = np.isfinite(sims)
    counts = found.sum(axis=1)
    mean = np.where(counts > 0, np.where(found, sims, 0.0).sum(axis=1) / np.maximum(counts, 1), 0.0)
    score = np.clip((1.0 + mean) / 2.0, 0.0, 1.0)
    n_flag = int(round(cfg.rate * n))
    flagged = np.zeros(n, bool)
    order = np.argsort(score, kind="stable")
    flagged[order[:n_flag]] = True
    table = pa.table(
        {
            "sample_id": pa.array(list(sample_ids), pa.string()),
            "split": pa.array(list(splits) if splits is not None else [None] * n, pa.string()),
            "is_outlier_issue": pa.array(flagged, pa.bool_()),
            "outlier_score": pa.array(score, pa.float64()),
            "knn_distance": pa.array(1.0 - mean, pa.float64()),
        }
    )
    summary = {
        "k": k,
        "rate": cfg.rate,
        "outliers": int(flagged.sum()),
        "score_threshold": round(float(score[order[n_flag - 1]]), 4) if n_flag else None,
        "score_quantiles": {
            q: round(float(np.quantile(score, float(q))), 4) for q in ("0.01", "0.1", "0.5")
        }
        if n
        else {},
    }
    if splits is not None and n:
        split_arr = np.asarray(splits, dtype=object)
        summary["per_split"] = {s: int(flagged[split_arr == s].sum()) for s in sorted(set(splits))}
    return CheckResult(table=table, summary=summary)
