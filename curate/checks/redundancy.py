"""Redundancy: a ranked pruning set for the labelled training samples.

Two ideas, applied within embedding clusters (FAISS spherical k-means, about sqrt(n)
clusters by default):

* **Semantic duplicates** (SemDeDup, Abbas et al. 2023): training samples of the same cluster
  and label that are at least ``redundancy.threshold`` cosine-similar (kNN-graph edges, a looser
  threshold than the duplicate check's) form sets; all but one member of each set add little.
* **Prototype difficulty** (Sorscher et al. 2022, "Beyond neural scaling laws"): the cosine
  distance to the cluster centroid. Easy samples are prototypical, hard ones sit at the edges.
  That paper finds small datasets are best pruned by keeping easy samples and large ones by
  keeping hard samples; ``redundancy.keep: auto`` follows it, switching at
  ``redundancy.large_dataset_rows`` training samples.

Ranking: semantic duplicates come last; the rest are ordered inside each cluster by the
preference (easy or hard first), and clusters are interleaved in proportion to their size, so
any prefix of the ranking keeps about the same fraction of every cluster. The keep set is the
first ``redundancy.keep_fraction`` of the ranking.

Per training sample: ``cluster``, ``difficulty``, ``is_semantic_duplicate``, ``duplicate_of``,
``keep_rank`` (1 = kept first), ``in_keep_set``, ``is_redundancy_issue`` (not in the keep set)
and ``redundancy_score`` (1 for the first-ranked, 0 for the last; lower = pruned sooner).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from curate.checks import CheckResult, register
from curate.config import RedundancyConfig
from curate.index import kmeans
from curate.index.components import union_find
from curate.index.graph import KnnGraph


def keep_policy(n_train: int, cfg: RedundancyConfig) -> str:
    if cfg.keep != "auto":
        return cfg.keep
    return "hard" if n_train >= cfg.large_dataset_rows else "easy"


@register("redundancy")
def find_redundant(
    sample_ids: Sequence[str],
    embeddings: np.ndarray,
    graph: KnnGraph,
    *,
    splits: Sequence[str],
    labels: Sequence[str | None],
    cfg: RedundancyConfig = RedundancyConfig(),
    seed: int = 0,
) -> CheckResult:
    n = len(sample_ids)
    train = np.array(
        [s == "train" and lab is not None for s, lab in zip(splits, labels, strict=True)], bool
    )
    rows = np.flatnonzero(train)
    m = len(rows)
    policy = keep_policy(m, cfg)
    n_clusters = cfg.clusters or max(1, int(round(np.sqrt(m))))
    X = np.ascontiguousarray(embeddings[rows], dtype=np.float32)
    centroids, cluster = kmeans(X, n_clusters, seed=seed) if m else (np.empty((0, 0)), rows)
    difficulty = (
        1.0 - np.einsum("ij,ij->i", X, centroids[cluster]) if m else np.empty(0, np.float64)
    )

    # Semantic duplicates: graph edges between training samples of one cluster and label.
    local = np.full(n, -1, np.int64)
    local[rows] = np.arange(m)
    lab = np.asarray(labels, dtype=object)
    src, col = np.nonzero(graph.sims[rows] >= cfg.threshold)
    a, b = src, local[graph.ids[rows[src], col]]
    ok = b >= 0
    a, b = a[ok], b[ok]
    ok = (cluster[a] == cluster[b]) & (lab[rows[a]] == lab[rows[b]])
    root = union_find(m, a[ok], b[ok])
    # Keep the member the policy prefers: least difficult for "easy", most for "hard".
    pref = difficulty if policy == "easy" else -difficulty
    order = np.lexsort((np.arange(m), pref, root))
    first = np.ones(m, bool)
    first[1:] = root[order][1:] != root[order][:-1]
    keeper = np.empty(m, np.int64)
    keeper_of_root = dict(zip(root[order][first].tolist(), order[first].tolist(), strict=True))
    keeper[:] = [keeper_of_root[r] for r in root.tolist()]
    semdup = keeper != np.arange(m)

    # Position of each sample inside its cluster under the preference (duplicates last),
    # as a fraction of the cluster's size: sorting on it interleaves clusters in proportion.
    within = np.lexsort((np.arange(m), pref, semdup, cluster))
    sizes = np.bincount(cluster, minlength=n_clusters) if m else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if m else sizes
    position = np.empty(m, np.float64)
    position[within] = np.arange(m) - starts[cluster[within]]
    fraction = (position + 0.5) / np.maximum(sizes[cluster], 1)
    ranking = np.lexsort((np.arange(m), fraction, semdup))
    keep_rank = np.empty(m, np.int64)
    keep_rank[ranking] = np.arange(1, m + 1)
    n_keep = int(round(cfg.keep_fraction * m))
    in_keep = keep_rank <= n_keep
    score = 1.0 - (keep_rank - 1) / max(m - 1, 1)

    ids = np.asarray(sample_ids, dtype=object)[rows]
    table = pa.table(
        {
            "sample_id": pa.array(ids.tolist(), pa.string()),
            "cluster": pa.array(cluster, pa.int64()),
            "difficulty": pa.array(difficulty, pa.float64()),
            "is_semantic_duplicate": pa.array(semdup, pa.bool_()),
            "duplicate_of": pa.array(np.where(semdup, ids[keeper], None), pa.string()),
            "keep_rank": pa.array(keep_rank, pa.int64()),
            "in_keep_set": pa.array(in_keep, pa.bool_()),
            "is_redundancy_issue": pa.array(~in_keep, pa.bool_()),
            "redundancy_score": pa.array(score, pa.float64()),
        }
    ).sort_by("keep_rank")
    summary = {
        "training_samples": m,
        "clusters": int(n_clusters) if m else 0,
        "semantic_duplicates": int(semdup.sum()),
        "threshold": cfg.threshold,
        "keep": policy,
        "keep_fraction": cfg.keep_fraction,
        "kept": int(in_keep.sum()),
        "pruned": int((~in_keep).sum()),
        "not_considered": int(n - m),
    }
    return CheckResult(table=table, summary=summary)
