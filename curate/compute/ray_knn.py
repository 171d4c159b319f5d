"""The kNN graph on a Ray cluster (``compute.backend: ray``): the same artifact as the local
backend, its rows scored shard by shard on the workers.

The embedding matrix goes into the object store once; every task reads it there (zero copy on
each node) and scores one shard of query rows, and the driver writes each shard's top ``k``
into the graph in row order. A task that dies with its worker is retried by Ray, and a shard's
result is written to its own rows only, so no row is lost or doubled.

* **exact**: every shard runs curate's own exact search
  (:func:`curate.index.search.search_neighbours`, faiss's brute-force inner products) on
  query batches of ``index.batch_size`` rows starting at the same rows as the local backend's
  batches (shards are whole numbers of batches), so the graph is bit-identical to the local
  one, ties included.
* **ivf**: the k-means lists are trained on the driver on the same seeded sample as the local
  backend; then, shard by shard on the workers, each row's nearest lists, the list-major
  scoring of its probed lists (:mod:`curate.index.allknn`) and each neighbour-descent round
  (the driver shares the graph of the previous round and its reverse neighbours). Recall@k
  against exact search is measured as locally.
* **hnsw** is a single index that is not split across workers: it is refused with a clear
  error (use ``ivf``, or the local backend).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from curate.compute.ray_cluster import connected
from curate.errors import ConfigError
from curate.index.allknn import (
    BATCH_ROWS,
    CHUNK_ROWS,
    _probes,
    _reverse,
    _train_centroids,
    default_nlist,
    default_nprobe,
    list_major_rows,
    rerank,
)
from curate.index.graph import KnnGraph, choose_method
from curate.index.search import ExactSearch, recall_at_k, search_neighbours
from curate.progress import progress

if TYPE_CHECKING:  # pragma: no cover
    from curate.compute.config import ComputeConfig
    from curate.index.config import IndexConfig

#: Fewest rows per shard of the IVF passes: list-major scoring multiplies each list's probing
#: rows of a shard by its members, which is efficient only with many rows per list.
IVF_MIN_SHARD = 32_768
#: Retries of a task whose worker died (Ray re-runs it; its shard is written once).
MAX_RETRIES = 3


# --- Shards ----------------------------------------------------------------------------------


def exact_shards(n: int, shard_rows: int, batch: int) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of about ``shard_rows`` rows, each a whole number of
    ``batch``-row search batches (at least one), so each search call sees the same queries as
    the local backend's."""
    size = max(1, math.ceil(shard_rows / batch)) * batch
    return [(s, min(n, s + size)) for s in range(0, n, size)]


def ivf_shards(n: int, shard_rows: int, cpus: float) -> list[tuple[int, int]]:
    """Row ranges for the IVF passes: at least ``IVF_MIN_SHARD`` rows (or ``shard_rows`` if
    larger), yet small enough for two shards per cluster CPU."""
    spread = math.ceil(n / max(2, int(2 * cpus)))
    size = max(1, min(max(shard_rows, IVF_MIN_SHARD), spread))
    return [(s, min(n, s + size)) for s in range(0, n, size)]


# --- Task bodies (run on the workers; the arrays come from the object store) -----------------


def exact_shard(X: np.ndarray, start: int, stop: int, k: int, batch: int):
    """Exact top ``k`` other rows of ``X[start:stop]``: curate's local search, restricted."""
    return search_neighbours(ExactSearch(X), X, k, rows=np.arange(start, stop), batch=batch)


def probes_shard(X: np.ndarray, centroids: np.ndarray, start: int, stop: int, nprobe: int):
    """The ``nprobe`` nearest lists of ``X[start:stop]``, nearest first."""
    return _probes(X[start:stop], centroids, nprobe)


def ivf_shard(
    X: np.ndarray,
    probes: np.ndarray,
    member_order: np.ndarray,
    starts: np.ndarray,
    start: int,
    stop: int,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The list-major IVF pass (as :func:`curate.index.allknn.ivf_candidates` does for one of
    its chunks) for rows ``start:stop``: each row's ``k`` best among the members of its probed
    lists, the row itself excluded. ``member_order`` / ``starts``: the rows of every list
    (by nearest centroid), grouped list by list."""
    ids = np.full((stop - start, k), -1, np.int64)
    sims = np.full((stop - start, k), -np.inf, np.float32)
    for c0 in range(start, stop, CHUNK_ROWS):  # the local pass's chunks: the same products
        rows = np.arange(c0, min(stop, c0 + CHUNK_ROWS))
        ids[rows - start], sims[rows - start] = list_major_rows(
            X, probes, member_order, starts, rows, k
        )
    sims[ids < 0] = -np.inf
    return ids, sims


def descend_shard(
    X: np.ndarray, ids: np.ndarray, rev: np.ndarray, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    """One neighbour-descent round (:func:`curate.index.allknn.descend`) for rows
    ``start:stop``: re-scored against their neighbours, reverse neighbours and neighbours'
    neighbours, keeping the best ``k``."""
    k = ids.shape[1]
    out_i = np.empty((stop - start, k), np.int64)
    out_s = np.empty((stop - start, k), np.float32)
    for b in range(start, stop, BATCH_ROWS):
        rows = np.arange(b, min(stop, b + BATCH_ROWS))
        nb = ids[rows]
        second = np.where(nb[:, :, None] >= 0, ids[np.maximum(nb, 0)], -1)
        cand = np.concatenate([nb, rev[rows], second.reshape(len(rows), -1)], axis=1)
        out_i[b - start : b - start + len(rows)], out_s[b - start : b - start + len(rows)] = rerank(
            X, rows, cand, k
        )
    return out_i, out_s


# --- Driver ----------------------------------------------------------------------------------


def _scatter(
    ray: Any,
    fn: Callable,
    head: Sequence[Any],
    tail: Sequence[Any],
    shards: list[tuple[int, int]],
    outputs: Sequence[np.ndarray],
    num_cpus: float,
    on_rows: Callable[[int], None] | None = None,
) -> None:
    """Run ``fn(*head, start, stop, *tail)`` as one task per shard and write each result (a tuple
    of arrays, one per output; or a single array) into ``outputs[i][start:stop]``."""
    remote = ray.remote(num_cpus=num_cpus, max_retries=MAX_RETRIES)(fn)
    pending = {remote.remote(*head, start, stop, *tail): (start, stop) for start, stop in shards}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            start, stop = pending.pop(ref)
            got = ray.get(ref)
            got = got if isinstance(got, tuple) else (got,)
            for out, part in zip(outputs, got, strict=True):
                out[start:stop] = part
            if on_rows is not None:
                on_rows(stop - start)


def _cluster_cpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("CPU", 1.0))


def build_graph_on_ray(
    X: np.ndarray, cfg: IndexConfig, compute: ComputeConfig, seed: int = 0
) -> KnnGraph:
    """The kNN graph of ``X`` (L2-normalised rows) built on the Ray cluster of ``compute``:
    the same :class:`~curate.index.graph.KnnGraph` and ``stats`` keys as
    :func:`curate.index.build_graph` (plus ``backend: ray`` and ``shards``). Exact: identical
    to the local graph. ``ivf``: the same lists and steps, recall@k measured against exact
    search."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    method = choose_method(n, cfg)
    if method == "hnsw":
        raise ConfigError(
            "index.method hnsw (or index.approximate: hnsw above index.exact_max_rows rows) is "
            "one index that cannot be split across Ray workers. Set index.approximate: ivf (or "
            "index.method: ivf) in configs/index.yaml, or compute.backend: local."
        )
    stats: dict[str, Any] = {"rows": n, "dim": int(X.shape[1]) if n else 0, "k": cfg.k}
    stats["method"] = method
    if n == 0:
        stats.update(backend="ray", shards=0)
        return KnnGraph(np.empty((0, cfg.k), np.int64), np.empty((0, cfg.k), np.float32), stats)
    k = cfg.k
    with connected(compute) as ray:
        X_ref = ray.put(X)
        X = ray.get(X_ref)  # the object store's read-only copy; the caller's may be freed
        cpus = compute.cpus_per_actor
        ids = np.full((n, k), -1, np.int64)
        sims = np.full((n, k), -np.inf, np.float32)
        if method == "exact":
            shards = exact_shards(n, compute.shard_rows, cfg.batch_size)
            start = time.perf_counter()
            stats["build_seconds"] = 0.0
            with progress("kNN graph (exact, ray)", n) as bar:
                _scatter(ray, exact_shard, (X_ref,), (k, cfg.batch_size), shards, (ids, sims),
                         cpus, bar.advance)  # fmt: skip
            stats["search_seconds"] = round(time.perf_counter() - start, 3)
            stats["recall_at_k"] = 1.0
        else:
            shards = ivf_shards(n, compute.shard_rows, _cluster_cpus(ray))
            info = _ivf_on_ray(ray, X, X_ref, cfg, shards, cpus, seed, ids, sims)
            stats.update(info)
            stats["build_seconds"] = round(info["train_seconds"] + info["assign_seconds"], 3)
            stats["search_seconds"] = round(info["lists_seconds"] + info["refine_seconds"], 3)
            start = time.perf_counter()
            recall, used = recall_at_k(X, sims, cfg.recall_queries, seed=seed)
            stats["recall_at_k"] = round(recall, 4)
            stats["recall_queries"] = used
            stats["recall_seconds"] = round(time.perf_counter() - start, 3)
        del X, X_ref
    stats.update(backend="ray", shards=len(shards))
    return KnnGraph(ids, sims, stats)


def _ivf_on_ray(
    ray: Any,
    X: np.ndarray,
    X_ref: Any,
    cfg: IndexConfig,
    shards: list[tuple[int, int]],
    cpus: float,
    seed: int,
    ids: np.ndarray,
    sims: np.ndarray,
) -> dict:
    """The IVF graph's steps (:func:`curate.index.allknn.ivf_graph`) with every per-row pass on
    the workers; fills ``ids`` / ``sims`` and returns the lists used and each step's time."""
    n, k = ids.shape
    nlist = max(1, min(cfg.ivf_nlist or default_nlist(n), n))
    nprobe = max(1, min(cfg.ivf_nprobe or default_nprobe(n), nlist))
    t0 = time.perf_counter()
    centroids = _train_centroids(X, nlist, cfg.ivf_train_per_list, seed)
    t1 = time.perf_counter()
    probes = np.empty((n, nprobe), np.int32)
    head = (X_ref, ray.put(centroids))
    _scatter(ray, probes_shard, head, (nprobe,), shards, (probes,), cpus)
    member_order = np.argsort(probes[:, 0], kind="stable")
    starts = np.searchsorted(probes[member_order, 0], np.arange(nlist + 1))
    t2 = time.perf_counter()
    with progress("kNN graph (ivf, ray)", n * (1 + cfg.refine_iters)) as bar:
        head = (X_ref, ray.put(probes), ray.put(member_order), ray.put(starts))
        _scatter(ray, ivf_shard, head, (k,), shards, (ids, sims), cpus, bar.advance)
        del probes, member_order, starts, head
        t3 = time.perf_counter()
        for _ in range(cfg.refine_iters):
            rev = _reverse(ids, sims, k)
            head = (X_ref, ray.put(ids), ray.put(rev))
            new_ids, new_sims = np.empty_like(ids), np.empty_like(sims)
            _scatter(ray, descend_shard, head, (), shards, (new_ids, new_sims), cpus, bar.advance)
            ids[:], sims[:] = new_ids, new_sims
            del rev, head, new_ids, new_sims
    t4 = time.perf_counter()
    return {
        "ivf_nlist": nlist,
        "ivf_nprobe": nprobe,
        "refine_iters": cfg.refine_iters,
        "train_seconds": round(t1 - t0, 3),
        "assign_seconds": round(t2 - t1, 3),
        "lists_seconds": round(t3 - t2, 3),
        "refine_seconds": round(t4 - t3, 3),
    }
