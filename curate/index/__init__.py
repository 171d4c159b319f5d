"""Nearest neighbours on L2-normalised embeddings (cosine similarity = inner product).

This package is the only place that imports faiss (in :mod:`curate.index.search` and
:mod:`curate.index.allknn`). The kNN graph (:mod:`curate.index.graph`) is built once per
pipeline run, exact (brute-force inner product) up to a size threshold and approximate above
it (the list-major IVF graph with neighbour descent of :mod:`curate.index.allknn`, or HNSW), and
reused by every similarity-based check. :func:`knn_numpy` is the brute-force oracle the tests
compare against.
"""

from __future__ import annotations

from curate.index.allknn import ivf_graph
from curate.index.components import near_duplicate_groups, union_find
from curate.index.graph import (
    KnnGraph,
    build_graph,
    choose_method,
    graph_from_table,
    graph_table,
    read_embedding_matrix,
)
from curate.index.search import (
    SEARCH_BATCH,
    IndexSpec,
    build_index,
    kmeans,
    knn,
    knn_numpy,
    nearest_in,
    recall_at_k,
    search_neighbours,
)

__all__ = [
    "SEARCH_BATCH",
    "IndexSpec",
    "KnnGraph",
    "build_graph",
    "build_index",
    "choose_method",
    "graph_from_table",
    "graph_table",
    "ivf_graph",
    "kmeans",
    "knn",
    "knn_numpy",
    "nearest_in",
    "near_duplicate_groups",
    "read_embedding_matrix",
    "recall_at_k",
    "search_neighbours",
    "union_find",
]
