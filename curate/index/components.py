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
