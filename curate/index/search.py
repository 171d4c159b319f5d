"""FAISS searches: exact and HNSW kNN over L2-normalised vectors, and spherical k-means.

With :mod:`curate.index.allknn` (the list-major IVF graph), the only module in curate that
imports faiss. Similarity is the inner product,
which for L2-normalised embeddings is the cosine similarity. Every search runs in batches of
queries so the (batch x k) results, not (n x n) similarities, bound the memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Queries per search batch.
SEARCH_BATCH = 4096


@dataclass(frozen=True)
class IndexSpec:
    """How to build a query index: ``exact`` (brute force, as IndexFlatIP) or ``hnsw``.
    (The graph's ``ivf`` method is :func:`curate.index.allknn.ivf_graph`, not an index.)"""

    method: str = "exact"
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 64


class ExactSearch:
    """Exact inner-product search over ``X`` without copying it into an index
    (``faiss.knn``: the same brute-force kernel as ``IndexFlatIP``)."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.ntotal = len(X)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        return faiss.knn(queries, self.X, k, metric=faiss.METRIC_INNER_PRODUCT)


def build_index(X: np.ndarray, spec: IndexSpec, seed: int = 0):
    """A FAISS index over ``X`` (float32, contiguous) for ``spec``."""
    import faiss

    n, d = X.shape
    if spec.method == "exact":
        return ExactSearch(X)
    if spec.method == "hnsw":
        index = faiss.IndexHNSWFlat(d, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.hnsw_ef_construction
        index.hnsw.efSearch = spec.hnsw_ef_search
    else:  # pragma: no cover - validated by the config
        raise ValueError(f"unknown index method {spec.method!r}")
    for start in range(0, n, SEARCH_BATCH * 16):
        index.add(np.ascontiguousarray(X[start : start + SEARCH_BATCH * 16]))
    return index


def search_neighbours(
    index,
    X: np.ndarray,
    k: int,
    *,
    rows: np.ndarray | None = None,
    batch: int = SEARCH_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest *other* indexed vectors of ``X[rows]`` (all rows by default).

    Returns ``(ids, sims)``, each (len(rows), k), sorted by decreasing similarity; the query
    itself is dropped wherever it ranks (exact copies tie with it); missing neighbours (fewer
    than ``k`` others, or an approximate index that found fewer) are id -1, similarity -inf.
    """
    n = index.ntotal
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    kk = min(k + 1, n)
    ids = np.full((len(rows), k), -1, np.int64)
    sims = np.full((len(rows), k), -np.inf, np.float32)
    for start in range(0, len(rows), batch):
        q = rows[start : start + batch]
        d, i = index.search(np.ascontiguousarray(X[q]), kk)
        # A stable sort on "is self" moves the other neighbours first, keeping their order.
        is_self = i == q[:, None]
        order = np.argsort(is_self, axis=1, kind="stable")[:, : min(k, kk - 1)]
        got_i = np.take_along_axis(i, order, axis=1)
        got_d = np.take_along_axis(d, order, axis=1)
        got_d[got_i < 0] = -np.inf
        ids[start : start + len(q), : order.shape[1]] = got_i
        sims[start : start + len(q), : order.shape[1]] = got_d
        if on_batch is not None:
            on_batch(len(q))
    return ids, sims


def nearest_in(
    base: np.ndarray, queries: np.ndarray, k: int, batch: int = SEARCH_BATCH
) -> tuple[np.ndarray, np.ndarray]:
    """Exact search of ``base`` for each query: ``(ids, sims)`` (len(queries), min(k, len(base)))
    with row indices into ``base``, most similar first."""
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = min(k, len(base))
    ids = np.empty((len(queries), k), np.int64)
    sims = np.empty((len(queries), k), np.float32)
    if k == 0 or len(queries) == 0:
        return ids, sims
    index = build_index(base, IndexSpec("exact"))
    for start in range(0, len(queries), batch):
        d, i = index.search(queries[start : start + batch], k)
        ids[start : start + len(d)], sims[start : start + len(d)] = i, d
    return ids, sims


def knn(embeddings: np.ndarray, k: int, batch: int = SEARCH_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN (``IndexFlatIP``) of every sample among the others: ``(ids, sims)``, (n, k)."""
    X = np.ascontiguousarray(embeddings, dtype=np.float32)
    return search_neighbours(build_index(X, IndexSpec("exact")), X, k, batch=batch)


def knn_numpy(embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force oracle for :func:`knn` (O(n^2) memory: tests only)."""
    X = np.asarray(embeddings, dtype=np.float32)
    sims = X @ X.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)


def recall_at_k(
    X: np.ndarray, approx_sims: np.ndarray, n_queries: int, seed: int = 0
) -> tuple[float, int]:
    """Recall@k of an approximate graph against exact search, on a seeded sample of queries.

    ``approx_sims`` are the graph's (n, k) similarities; the IVF graph and HNSW-Flat report exact
    inner products for what they find, so a found neighbour belongs to the true top k when its
    similarity reaches the exact k-th similarity (which also counts ties as found). Returns
    ``(mean recall over the sampled queries' true neighbours, queries used)``.
    """
    n, k = approx_sims.shape
    rng = np.random.default_rng(seed)
    q = np.sort(rng.choice(n, size=min(n_queries, n), replace=False))
    _, exact_sims = search_neighbours(build_index(X, IndexSpec("exact")), X, k, rows=q)
    valid = np.isfinite(exact_sims).sum(axis=1)
    kth = np.where(valid > 0, exact_sims[np.arange(len(q)), np.maximum(valid - 1, 0)], np.inf)
    hits = (approx_sims[q] >= kth[:, None] - 1e-5).sum(axis=1)
    total = int(valid.sum())
    return (float(np.minimum(hits, valid).sum() / total) if total else 1.0), len(q)


def kmeans(
    X: np.ndarray,
    n_clusters: int,
    *,
    seed: int = 0,
    niter: int = 20,
    max_points_per_centroid: int = 256,
    assign: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Spherical k-means (FAISS): ``(centroids (c, d) L2-normalised, assignment (n,))``; the
    assignment is None with ``assign=False``. FAISS trains on at most
    ``max_points_per_centroid`` rows per centroid (a seeded subsample)."""
    import faiss

    X = np.ascontiguousarray(X, dtype=np.float32)
    n_clusters = max(1, min(n_clusters, len(X)))
    km = faiss.Kmeans(
        X.shape[1],
        n_clusters,
        niter=niter,
        seed=seed,
        spherical=True,
        verbose=False,
        max_points_per_centroid=max_points_per_centroid,
        min_points_per_centroid=1,  # small clusters are fine here; skip FAISS's warning
    )
    km.train(X)
    if not assign:
        return km.centroids.copy(), None
    _, nearest = km.index.search(X, 1)
    return km.centroids.copy(), nearest[:, 0].astype(np.int64)
