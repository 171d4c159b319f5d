"""Connected components of similarity graphs: union-find, vectorised with numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def union_find(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the undirected graph on ``n`` nodes with edges ``a[i]-b[i]``.

    Returns each node's root: the smallest node index in its component. Union-find in
    vectorised rounds (hook every edge's larger root under the smaller, then compress paths
    by pointer jumping) so millions of edges cost a few numpy passes, not a Python loop.
    """
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    while len(a):
        ra, rb = parent[a], parent[b]
        differ = ra != rb
        if not differ.any():
            break
        a, b, ra, rb = a[differ], b[differ], ra[differ], rb[differ]
        # Roots only ever point to smaller indices, so hooking cannot make a cycle.
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def edges_from_graph(
    ids: np.ndarray, sims: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges ``(a, b, similarity)`` of a kNN graph with similarity >= ``threshold``."""
    rows, cols = np.nonzero((sims >= threshold) & (ids >= 0))
    return rows.astype(np.int64), ids[rows, cols], sims[rows, cols]


def edges_from_keys(keys: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining every sample to the first sample with an equal key (e.g. content hash)."""
    _, first, inverse = np.unique(
        np.asarray(keys, dtype=object), return_index=True, return_inverse=True
    )
    b = first[inverse]
    mask = b != np.arange(len(b))
    return np.flatnonzero(mask), b[mask]


def near_duplicate_groups(
    ids: np.ndarray, sims: np.ndarray, threshold: float, keys: Sequence[object] | None = None
) -> np.ndarray:
    """Group (smallest member index) of every sample: linked by kNN similarity >= threshold,
    plus, when ``keys`` is given, by equal keys."""
    a, b, _ = edges_from_graph(ids, sims, threshold)
    if keys is not None:
        ka, kb = edges_from_keys(keys)
        a, b = np.concatenate([a, ka]), np.concatenate([b, kb])
    return union_find(len(ids), a, b)


def star_groups(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    rank: np.ndarray | None = None,
    keys: Sequence[object] | None = None,
    reach: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Groups of the undirected graph with edges ``a[i]-b[i]`` that cannot chain: in ``rank``
    order (lowest first; default the index), a sample not yet grouped becomes a group's
    centre and takes its direct neighbours not yet grouped; with ``reach`` 2, a sample left
    alone after that joins the group of its first-ranked neighbour, if any. Every member is
    thus linked to the centre directly or through one member linked directly, so a group's
    diameter is at most ``2 * reach`` edges (connected components chain without bound: on
    tightly clustered vectors they grow to most of the data).

    With ``keys``, samples with equal keys (e.g. content hashes) are one unit: always in one
    group. Returns ``(root, anchor)`` per sample: the group's smallest member index, and the
    member it is linked to directly (the centre, or for a sample joined through a neighbour,
    that neighbour; itself for the centre and for samples in no group). Exact copies of a
    unit share its anchor.
    """
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    rank = np.arange(n, dtype=np.int64) if rank is None else np.asarray(rank, np.int64)
    if keys is not None:
        _, first, inverse = np.unique(
            np.asarray(keys, dtype=object), return_index=True, return_inverse=True
        )
        unit = first[inverse].astype(np.int64)
    else:
        unit = np.arange(n, dtype=np.int64)
    unit_rank = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(unit_rank, unit, rank)
    ua, ub = unit[a], unit[b]
    keep = ua != ub
    src = np.concatenate([ua[keep], ub[keep]])
    dst = np.concatenate([ub[keep], ua[keep]])
    order = np.lexsort((unit_rank[dst], src))  # each unit's neighbours, first-ranked first
    src, dst = src[order], dst[order]
    start = np.searchsorted(src, np.arange(n + 1))
    centre = np.full(n, -1, np.int64)
    anchor = np.arange(n, dtype=np.int64)
    linked = np.unique(src)
    for u in linked[np.argsort(unit_rank[linked], kind="stable")].tolist():
        if centre[u] >= 0:
            continue
        centre[u] = u
        nb = dst[start[u] : start[u + 1]]
        free = nb[centre[nb] < 0]
        centre[free] = u
        anchor[free] = u
    if reach >= 2 and len(linked):
        # A unit left alone (every neighbour was taken by an earlier centre) joins through its
        # first-ranked neighbour, which sits in a group of two or more.
        alone = linked[
            (centre[linked] == linked) & (np.bincount(centre[linked], minlength=n)[linked] == 1)
        ]
        first = dst[start[alone]]
        centre[alone] = centre[first]
        anchor[alone] = first
    centre[centre < 0] = np.flatnonzero(centre < 0)
    group = centre[unit]
    smallest = np.full(n, n, np.int64)
    np.minimum.at(smallest, group, np.arange(n, dtype=np.int64))
    return smallest[group], anchor[unit]
