"""Nearest neighbours on L2-normalised embeddings (cosine similarity = inner product).

This package is the only place that imports faiss. :func:`knn` is exact (``IndexFlatIP``),
searched in batches to bound memory; :func:`knn_numpy` is the brute-force oracle the tests
compare it against.
"""

from __future__ import annotations

import numpy as np

#: Queries per search batch: bounds the (batch x n) similarity work held at once.
SEARCH_BATCH = 4096


def knn(embeddings: np.ndarray, k: int, batch: int = SEARCH_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other samples of every sample: ``(ids, similarities)``, each (n, k).

    Self-matches are removed; rows are sorted by decreasing similarity; missing neighbours
    (fewer than ``k`` other samples) are id -1 with similarity -inf.
    """
    import faiss

    X = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(X)
    index = faiss.IndexFlatIP(X.shape[1])
    index.add(X)
    kk = min(k + 1, n)
    ids = np.full((n, k), -1, np.int64)
    sims = np.full((n, k), -np.inf, np.float32)
    for start in range(0, n, batch):
        d, i = index.search(X[start : start + batch], kk)
        # Drop the query itself wherever it ranks (exact copies can tie with it): a stable
        # sort on "is self" moves the other neighbours first, in their order.
        is_self = i == np.arange(start, start + len(i))[:, None]
        order = np.argsort(is_self, axis=1, kind="stable")[:, : min(k, kk - 1)]
        ids[start : start + len(i), : order.shape[1]] = np.take_along_axis(i, order, axis=1)
        sims[start : start + len(i), : order.shape[1]] = np.take_along_axis(d, order, axis=1)
    return ids, sims


def knn_numpy(embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force oracle for :func:`knn` (O(n^2) memory: tests only)."""
    X = np.asarray(embeddings, dtype=np.float32)
    sims = X @ X.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)


def near_duplicate_groups(
    embeddings: np.ndarray, threshold: float, k: int = 10, seeds: list[str] | None = None
) -> np.ndarray:
    """Connected components of the graph linking samples with cosine similarity >= threshold.

    ``seeds`` (e.g. content hashes) pre-join samples with equal values. Returns one group id
    per sample (the smallest member index of its component).
    """
    n = len(embeddings)
    parent = np.arange(n)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    if seeds is not None:
        first: dict[str, int] = {}
        for i, s in enumerate(seeds):
            union(first.setdefault(s, i), i)
    if n > 1:
        ids, sims = knn(embeddings, min(k, n - 1))
        rows, cols = np.nonzero(sims >= threshold)
        for a, b in zip(rows.tolist(), ids[rows, cols].tolist(), strict=True):
            union(a, b)
    return np.array([find(i) for i in range(n)])
