"""Failure clusters: embedding regions ranked by how badly the reference model does there.

FAISS k-means over the labelled samples' embeddings. For each cluster: its size, the
reference model's out-of-sample error count and rate (argmax of pred_probs differs from the
given label), the most confused (given -> predicted) class pair, and the label-issue count.

Severity ranks clusters by how much fixing them could matter. It is the excess of errors over
what the dataset's average error rate predicts for a cluster of that size, in standard
deviations (a binomial z-score)::

    severity = (errors - size * p) / sqrt(size * p * (1 - p)),   p = overall error rate

It grows with the error *rate* (a small cluster where most predictions are wrong) and with the
absolute *count* (a large cluster with many errors), and is ~0 for a cluster that is merely
average, whatever its size.

A cluster's error rate on the rows it was found on is optimistic: k-means and the ranking both
saw those errors. :func:`held_out_rates` scores a clustering on other rows (each assigned to
its nearest centroid), which is how ``benchmarks/failure_clusters.py`` and the end-to-end test
judge the ranking: clusters found on one half of the labelled rows, scored on the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("rank", pa.int64()),
        ("cluster", pa.int64()),
        ("size", pa.int64()),
        ("errors", pa.int64()),
        ("error_rate", pa.float64()),
        ("severity", pa.float64()),
        ("confused_given", pa.string()),
        ("confused_predicted", pa.string()),
        ("confused_count", pa.int64()),
        ("label_issues", pa.int64()),
        ("top_classes", pa.string()),
    ]
)


def default_clusters(n: int) -> int:
    """About sqrt(n) / 2 clusters, between 2 and 100 (20 for 1,600 samples, 50 for 10,000)."""
    return int(min(100, max(2, round(np.sqrt(max(n, 1)) / 2))))


@dataclass(frozen=True)
class FailureClusters:
    table: pa.Table  #: one row per cluster, most severe first (:data:`SCHEMA`)
    assignment: np.ndarray  #: cluster id per input sample
    errors: np.ndarray  #: per input sample: the model's argmax differs from the label
    summary: dict
    #: (clusters, dim) L2-normalised k-means centroids; row ``c`` is cluster id ``c``
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    def top(self, k: int) -> list[int]:
        """Ids of the ``k`` most severe clusters that hold at least one error."""
        rows = self.table.to_pylist()
        return [r["cluster"] for r in rows if r["errors"] > 0][:k]

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        """Cluster id of each row of ``embeddings`` (L2-normalised): its nearest centroid."""
        emb = np.asarray(embeddings, np.float32)
        if not len(emb):
            return np.zeros(0, np.int64)
        return np.argmax(emb @ self.centroids.T, axis=1).astype(np.int64)


def held_out_rates(fc: FailureClusters, embeddings: np.ndarray, errors: np.ndarray) -> pa.Table:
    """Each cluster of ``fc`` scored on other rows: ``rank``, ``cluster``, held-out ``size``,
    ``errors`` and ``error_rate`` (NaN for a cluster no held-out row falls in), in ``fc``'s
    ranking order. ``embeddings`` and ``errors`` are the held-out rows' (errors: the model's
    argmax differs from the given label), rows the clustering never saw.
    """
    errors = np.asarray(errors, bool)
    assign = fc.assign(embeddings)
    ids = np.asarray(fc.table.column("cluster").to_pylist(), np.int64)
    size = np.array([(assign == c).sum() for c in ids], np.int64)
    errs = np.array([errors[assign == c].sum() for c in ids], np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(size > 0, errs / np.maximum(size, 1), np.nan)
    return pa.table(
        {
            "rank": np.arange(1, len(ids) + 1, dtype=np.int64),
            "cluster": ids,
            "size": size,
            "errors": errs,
            "error_rate": rate.astype(np.float64),
        }
    )


def failure_clusters(
    labels: Sequence[str],
    pred_probs: np.ndarray,
    classes: Sequence[str],
    embeddings: np.ndarray,
    *,
    label_issues: np.ndarray | None = None,
    n_clusters: int | None = None,
    seed: int = 0,
) -> FailureClusters:
    """Cluster labelled samples and rank the clusters by severity (module docstring)."""
    from curate.index import kmeans

    n = len(labels)
    k = n_clusters or default_clusters(n)
    centroids, assign = kmeans(np.asarray(embeddings, np.float32), k, seed=seed)
    index = {c: i for i, c in enumerate(classes)}
    given = np.array([index[lab] for lab in labels], np.int64)
    predicted = np.asarray(pred_probs).argmax(axis=1)
    errors = predicted != given
    issues = np.zeros(n, bool) if label_issues is None else np.asarray(label_issues, bool)
    p = float(errors.mean()) if n else 0.0
    rows = []
    for c in np.unique(assign):
        members = assign == c
        size = int(members.sum())
        e = int(errors[members].sum())
        expected = size * p
        sd = np.sqrt(expected * (1 - p)) if 0 < p < 1 else 1.0
        pairs = Counter(
            zip(given[members & errors].tolist(), predicted[members & errors].tolist(), strict=True)
        )
        ((pair, count),) = pairs.most_common(1) or [((None, None), 0)]
        top = Counter(given[members].tolist()).most_common(3)
        rows.append(
            {
                "cluster": int(c),
                "size": size,
                "errors": e,
                "error_rate": e / size,
                "severity": float((e - expected) / sd),
                "confused_given": None if pair[0] is None else classes[pair[0]],
                "confused_predicted": None if pair[1] is None else classes[pair[1]],
                "confused_count": int(count),
                "label_issues": int(issues[members].sum()),
                "top_classes": ", ".join(f"{classes[i]} ({m})" for i, m in top),
            }
        )
    rows.sort(key=lambda r: (-r["severity"], r["cluster"]))
    for rank, r in enumerate(rows, start=1):
        r["rank"] = rank
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    top3 = rows[:3]
    summary = {
        "clusters": len(rows),
        "labelled": n,
        "error_rate": p,
        "top3_error_rate": (sum(r["errors"] for r in top3) / max(1, sum(r["size"] for r in top3))),
        "top3": [
            {
                k: r[k]
                for k in (
                    "cluster",
                    "size",
                    "errors",
                    "error_rate",
                    "severity",
                    "confused_given",
                    "confused_predicted",
                )
            }  # fmt: skip
            for r in top3
        ],
    }
    return FailureClusters(
        table=table, assignment=assign, errors=errors, summary=summary, centroids=centroids
    )
