"""All-vs-all kNN graph by list-major IVF and neighbour descent (queries = the database).

A kNN graph asks every row for its neighbours among the same rows, which a query-at-a-time
index cannot exploit. Here:

1. **IVF candidates, list by list.** Spherical k-means (FAISS, seeded, trained on a seeded
   sample) splits the rows into ``nlist`` lists; each row probes its ``nprobe`` nearest
   centroids. Then, for each list, every row that probes it is scored against the list's
   members in one matrix product (BLAS): first each row's own list, keeping its best ``k``,
   then its other lists, keeping only the scores above its k-th best so far (a comparison
   instead of a selection). These are the candidates an ``IndexIVFFlat`` search with the same
   lists and ``nprobe`` would score, at matrix-product speed instead of one query at a time.
2. **Neighbour descent.** ``refine_iters`` rounds in which every row is re-scored exactly
   against its neighbours, its reverse neighbours (rows that list it) and its neighbours'
   neighbours, keeping the best ``k``: a neighbour of a neighbour is likely a neighbour, so
   each round repairs most of what the probed lists missed (through the edges that cross list
   borders, which ``nprobe`` >= 2 provides).

Every similarity in the result is an exact inner product, so a cut at a threshold is exact
for the pairs found. Rows are processed in chunks, so the working memory is the (n, k) graph
plus one chunk's buffers, not (n x n). The output is deterministic for a fixed seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from curate.index.search import kmeans

#: Rows per chunk of the list-major pass: bounds its buffers (about chunk x k scores, plus one
#: list's probing rows x members at a time).
CHUNK_ROWS = 1 << 17
#: Rows per batch of the centroid assignment and of each neighbour-descent round.
BATCH_ROWS = 8192
#: k-means iterations (the lists only need to be coherent, not optimal).
KMEANS_ITER = 4


def default_nprobe(n: int) -> int:
    """Lists each row is scored against: 8 up to 200,000 rows, 16 above (on the tuning data,
    nprobe 8 gave recall@10 0.964 at 200,000 rows but 0.931 at 1,000,000; 16 gave 0.957)."""
    return 8 if n <= 200_000 else 16


def default_nlist(n: int) -> int:
    """IVF lists for the list-major graph: about 4 sqrt(n), at least 1, at most n / 16."""
    return max(1, min(int(4 * math.sqrt(n)), n // 16 or 1))


def _train_centroids(
    X: np.ndarray, nlist: int, train_per_list: int, seed: int, niter: int = KMEANS_ITER
) -> np.ndarray:
    """Spherical k-means centroids (FAISS, seeded) of a seeded sample of the rows."""
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(X), size=min(len(X), nlist * train_per_list), replace=False))
    centroids, _ = kmeans(
        X[sample],
        nlist,
        seed=seed,
        niter=niter,
        max_points_per_centroid=max(256, train_per_list),
        assign=False,
    )
    return np.ascontiguousarray(centroids, dtype=np.float32)


def _top(S: np.ndarray, k: int) -> np.ndarray:
    """Column positions of the ``k`` largest entries of each row of ``S`` (unordered)."""
    if k >= S.shape[1]:
        return np.broadcast_to(np.arange(S.shape[1]), S.shape)
    return np.argpartition(-S, k - 1, axis=1)[:, :k]


def _probes(X: np.ndarray, centroids: np.ndarray, nprobe: int) -> np.ndarray:
    """Each row's ``nprobe`` nearest centroids, nearest first (n, nprobe) int32."""
    n = len(X)
    out = np.empty((n, nprobe), np.int32)
    for start in range(0, n, BATCH_ROWS):
        S = X[start : start + BATCH_ROWS] @ centroids.T
        top = _top(S, nprobe)
        s = np.take_along_axis(S, top, axis=1)
        order = np.argsort(-s, axis=1, kind="stable")
        out[start : start + len(S)] = np.take_along_axis(top, order, axis=1)
    return out


def _sorted_top(ids: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of each row (ties broken by smaller id), most similar first."""
    top = _top(sims, k)
    s = np.take_along_axis(sims, top, axis=1)
    i = np.take_along_axis(ids, top, axis=1)
    order = np.lexsort((i, -s), axis=1)
    return np.take_along_axis(i, order, axis=1), np.take_along_axis(s, order, axis=1)


def _merge(
    rows: np.ndarray, ids: np.ndarray, sims: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row top ``k`` of (row, id, sim) triplets (rows 0..R-1, no duplicate (row, id)):
    (R, k) ids and sims, most similar first (ties in input order), padded with -1 / -inf."""
    R = int(rows.max()) + 1 if len(rows) else 0
    # One float64 key: row, then decreasing similarity (in [-1, 1]); stable for ties.
    order = np.argsort(rows * 4.0 + (1.0 - sims.astype(np.float64)), kind="stable")
    rows, ids, sims = rows[order], ids[order], sims[order]
    starts = np.searchsorted(rows, np.arange(R + 1))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < k
    out_i = np.full((R, k), -1, np.int64)
    out_s = np.full((R, k), -np.inf, np.float32)
    out_i[rows[keep], rank[keep]] = ids[keep]
    out_s[rows[keep], rank[keep]] = sims[keep]
    return out_i, out_s


def list_major_rows(
    X: np.ndarray,
    probes: np.ndarray,
    member_order: np.ndarray,
    starts: np.ndarray,
    rows: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The list-major pass for ``rows`` (one chunk): each row's ``k`` best among the members
    of its probed lists, the row itself excluded. ``member_order`` / ``starts``: the rows of
    every list (by nearest centroid), grouped list by list."""
    p = probes.shape[1]
    nlist = len(starts) - 1
    R = len(rows)
    kk = k + 1  # a row's own list holds the row itself
    # Own lists: the best k + 1 (the row itself among them), then the row dropped.
    own = probes[rows, 0]
    by_own = np.argsort(own, kind="stable")
    bounds = np.searchsorted(own[by_own], np.arange(nlist + 1))
    best_s = np.full((R, kk), -np.inf, np.float32)
    best_i = np.full((R, kk), -1, np.int64)
    for lst in np.flatnonzero(np.diff(bounds)):
        local = by_own[bounds[lst] : bounds[lst + 1]]
        members = member_order[starts[lst] : starts[lst + 1]]
        S = X[rows[local]] @ X[members].T
        top = _top(S, kk)
        best_s[local, : top.shape[1]] = np.take_along_axis(S, top, axis=1)
        best_i[local, : top.shape[1]] = members[top]
    best_s[best_i == rows[:, None]] = -np.inf
    best_i[~np.isfinite(best_s)] = -1
    best_i, best_s = _sorted_top(best_i, best_s, k)
    kth = best_s[:, k - 1]
    # Other probed lists: keep the scores above the row's k-th best from its own list.
    if p > 1:
        flat = probes[rows, 1:].ravel()
        by_list = np.argsort(flat, kind="stable")
        bounds = np.searchsorted(flat[by_list], np.arange(nlist + 1))
        got_r, got_i, got_s = [], [], []
        for lst in np.flatnonzero(np.diff(bounds)):
            members = member_order[starts[lst] : starts[lst + 1]]
            if len(members) == 0:
                continue
            local = by_list[bounds[lst] : bounds[lst + 1]] // (p - 1)
            S = X[rows[local]] @ X[members].T
            r, c = np.nonzero(S > kth[local, None])
            if len(r):
                got_r.append(local[r])
                got_i.append(members[c])
                got_s.append(S[r, c])
        if got_r:
            keep = np.isfinite(best_s)
            base_r = np.broadcast_to(np.arange(R)[:, None], best_s.shape)[keep]
            best_i, best_s = _merge(
                np.concatenate([base_r, *got_r]),
                np.concatenate([best_i[keep], *got_i]),
                np.concatenate([best_s[keep], *got_s]),
                k,
            )
            if len(best_i) < R:  # rows past the last one with any score
                pad = R - len(best_i)
                best_i = np.vstack([best_i, np.full((pad, k), -1, np.int64)])
                best_s = np.vstack([best_s, np.full((pad, k), -np.inf, np.float32)])
    return best_i, best_s


def ivf_candidates(
    X: np.ndarray,
    k: int,
    probes: np.ndarray,
    nlist: int,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The list-major pass: every row's ``k`` best among the members of its probed lists
    (members: the rows whose nearest centroid is that list), the row itself excluded.

    A row's own list is scored first; in its other probed lists only scores above its k-th
    best so far can enter its top ``k``, so those lists need a comparison, not a selection.
    """
    n = len(probes)
    member_order = np.argsort(probes[:, 0], kind="stable")
    starts = np.searchsorted(probes[member_order, 0], np.arange(nlist + 1))
    ids = np.full((n, k), -1, np.int64)
    sims = np.full((n, k), -np.inf, np.float32)
    for c0 in range(0, n, CHUNK_ROWS):
        rows = np.arange(c0, min(n, c0 + CHUNK_ROWS))
        ids[rows], sims[rows] = list_major_rows(X, probes, member_order, starts, rows, k)
        if on_rows is not None:
            on_rows(len(rows))
    sims[ids < 0] = -np.inf
    return ids, sims


def _reverse(ids: np.ndarray, sims: np.ndarray, r: int) -> np.ndarray:
    """Up to ``r`` reverse neighbours of every row (rows that list it), most similar first."""
    n, k = ids.shape
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = ids.ravel()
    s = sims.ravel()
    ok = dst >= 0
    src, dst, s = src[ok], dst[ok], s[ok]
    order = np.argsort(dst * 4.0 + (1.0 - s.astype(np.float64)), kind="stable")
    src, dst = src[order], dst[order]
    starts = np.searchsorted(dst, np.arange(n + 1))
    pos = np.arange(len(dst)) - starts[dst]
    keep = pos < r
    rev = np.full((n, r), -1, np.int64)
    rev[dst[keep], pos[keep]] = src[keep]
    return rev


def rerank(
    X: np.ndarray, rows: np.ndarray, candidates: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``k`` of ``X[rows]`` among their ``candidates`` (len(rows), m) row ids
    (-1: none; duplicates and the row itself are dropped); missing: id -1, similarity -inf."""
    import faiss

    n, d = X.shape
    R, m = candidates.shape
    cand = np.sort(candidates, axis=1)
    drop = cand < 0
    drop[:, 1:] |= cand[:, 1:] == cand[:, :-1]
    drop |= cand == rows[:, None]
    cand[drop] = n
    cand.sort(axis=1)
    # FAISS stops reading a row's candidates at the first negative id.
    cand[cand == n] = -1
    cand = np.ascontiguousarray(cand, dtype=np.int64)
    queries = np.ascontiguousarray(X[rows])
    sims = np.empty((R, k), np.float32)
    ids = np.empty((R, k), np.int64)
    faiss.knn_inner_products_by_idx(
        faiss.swig_ptr(queries),
        faiss.swig_ptr(X),
        faiss.swig_ptr(cand),
        d,
        R,
        n,
        m,
        k,
        faiss.swig_ptr(sims),
        faiss.swig_ptr(ids),
        m,  # stride of the candidate rows (FAISS's default would be n)
    )
    # Order ties by id so the graph does not depend on FAISS's heap order.
    sims[ids < 0] = -np.inf
    order = np.lexsort((np.where(ids < 0, n, ids), -sims), axis=1)
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(sims, order, axis=1)


def descend(
    X: np.ndarray,
    ids: np.ndarray,
    sims: np.ndarray,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One round of neighbour descent: every row re-scored against its neighbours, reverse
    neighbours and neighbours' neighbours, keeping the best ``k`` (never worse than before)."""
    n, k = ids.shape
    rev = _reverse(ids, sims, k)
    new_ids = np.empty_like(ids)
    new_sims = np.empty_like(sims)
    for start in range(0, n, BATCH_ROWS):
        rows = np.arange(start, min(n, start + BATCH_ROWS))
        nb = ids[rows]
        second = np.where(nb[:, :, None] >= 0, ids[np.maximum(nb, 0)], -1)
        cand = np.concatenate([nb, rev[rows], second.reshape(len(rows), -1)], axis=1)
        new_ids[rows], new_sims[rows] = rerank(X, rows, cand, k)
        if on_rows is not None:
            on_rows(len(rows))
    return new_ids, new_sims


def ivf_graph(
    X: np.ndarray,
    k: int,
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    train_per_list: int = 16,
    refine_iters: int = 3,
    seed: int = 0,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The kNN graph of ``X`` (L2-normalised float32 rows): ``(ids, sims, info)``, (n, k)
    each, most similar first, never the row itself; id -1 / similarity -inf where a row has
    fewer than ``k`` others. ``info`` holds the lists used and the time of each step.

    ``on_rows`` is called with row counts as the work advances: ``n`` for the list-major pass
    and ``n`` per neighbour-descent round.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    info: dict = {}
    if n == 0 or k == 0:
        return np.full((n, k), -1, np.int64), np.full((n, k), -np.inf, np.float32), info
    nlist = max(1, min(nlist or default_nlist(n), n))
    nprobe = max(1, min(nprobe or default_nprobe(n), nlist))
    t0 = time.perf_counter()
    centroids = _train_centroids(X, nlist, train_per_list, seed)
    t1 = time.perf_counter()
    probes = _probes(X, centroids, nprobe)
    t2 = time.perf_counter()
    ids, sims = ivf_candidates(X, k, probes, nlist, on_rows)
    t3 = time.perf_counter()
    del probes
    for _ in range(refine_iters):
        ids, sims = descend(X, ids, sims, on_rows)
    t4 = time.perf_counter()
    info.update(
        ivf_nlist=nlist,
        ivf_nprobe=nprobe,
        refine_iters=refine_iters,
        train_seconds=round(t1 - t0, 3),
        assign_seconds=round(t2 - t1, 3),
        lists_seconds=round(t3 - t2, 3),
        refine_seconds=round(t4 - t3, 3),
    )
    return ids, sims, info
