"""The list-major IVF graph with neighbour descent against the numpy oracle."""

from __future__ import annotations

import numpy as np
import pytest

from curate.config import IndexConfig
from curate.index import build_graph, knn_numpy
from curate.index.allknn import default_nprobe, descend, ivf_graph, rerank
from tests.helpers import clustered


def recall(sims: np.ndarray, oracle_sims: np.ndarray) -> float:
    """Share of the true top k found (by similarity, so ties count either way)."""
    k = oracle_sims.shape[1]
    found = (sims >= oracle_sims[:, -1:] - 1e-5) & np.isfinite(sims)
    return float(found.sum(axis=1).clip(max=k).sum() / oracle_sims.size)


def test_probing_every_list_is_exact_search() -> None:
    X = clustered(800)
    ids, sims, info = ivf_graph(X, 10, nlist=20, nprobe=20, refine_iters=0)
    ids_o, sims_o = knn_numpy(X, 10)
    np.testing.assert_allclose(sims, sims_o, atol=1e-5)
    assert (ids == ids_o).mean() > 0.99  # ties may order differently
    assert info["ivf_nlist"] == 20 and info["ivf_nprobe"] == 20


def test_default_settings_find_the_true_neighbours_with_exact_similarities() -> None:
    X = clustered(4000, seed=1)
    ids, sims, _ = ivf_graph(X, 10)
    _, sims_o = knn_numpy(X, 10)
    assert recall(sims, sims_o) >= 0.97
    rows = np.repeat(np.arange(len(X)), 10).reshape(ids.shape)
    assert (ids >= 0).all() and not (ids == rows).any()  # never the row itself
    # Every similarity is the exact inner product of the pair, sorted most similar first.
    np.testing.assert_allclose(sims, np.einsum("nd,nkd->nk", X, X[ids]), atol=1e-5)
    assert (np.diff(sims, axis=1) <= 1e-7).all()
    assert all(len(set(r)) == 10 for r in ids.tolist())  # no neighbour twice


def test_neighbour_descent_repairs_what_the_lists_missed() -> None:
    X = clustered(3000, seed=2)
    _, sims_o = knn_numpy(X, 10)
    # 150 lists over 40 clusters split them; two probed lists per row miss neighbours...
    ids0, sims0, _ = ivf_graph(X, 10, nlist=150, nprobe=2, refine_iters=0)
    ids2, sims2, _ = ivf_graph(X, 10, nlist=150, nprobe=2, refine_iters=2)
    before, after = recall(sims0, sims_o), recall(sims2, sims_o)
    assert before < 0.9
    assert after > 0.98  # ...which neighbours' neighbours across the list borders find
    # A round never loses a neighbour's similarity: row by row, the k-th best only rises.
    ids1, sims1 = descend(X, ids0, sims0)
    assert (sims1[:, -1] >= sims0[:, -1] - 1e-6).all()


def test_the_graph_is_deterministic_for_a_seed() -> None:
    X = clustered(3000, seed=3)
    a = ivf_graph(X, 10, nprobe=2, seed=7)
    b = ivf_graph(X, 10, nprobe=2, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("n", [1, 2, 5])
def test_fewer_rows_than_k_pads_missing_neighbours(n: int) -> None:
    X = clustered(n, seed=4)
    ids, sims, _ = ivf_graph(X, 10)
    assert ids.shape == (n, 10)
    assert (ids[:, n - 1 :] == -1).all() and np.isneginf(sims[:, n - 1 :]).all()
    if n > 1:
        assert (ids[:, : n - 1] >= 0).all()
        assert not (ids == np.arange(n)[:, None]).any()


def test_exact_copies_are_each_others_neighbours() -> None:
    base = clustered(1000, seed=5)
    X = np.vstack([base, base[:50], base[:50]])  # rows i, 1000 + i, 1050 + i are equal
    ids, sims, _ = ivf_graph(X, 10, nprobe=2)
    for i in range(50):
        copies = {i, 1000 + i, 1050 + i}
        for r in copies:
            assert copies - {r} <= set(ids[r].tolist())
            np.testing.assert_allclose(sims[r, :2], 1.0, atol=1e-5)


def test_rerank_drops_the_row_itself_duplicates_and_missing_candidates() -> None:
    X = clustered(200, seed=6)
    rows = np.array([0, 1, 2])
    cand = np.array([[0, 5, 5, -1, 7, 9], [3, 3, 3, 3, 3, 3], [-1, -1, -1, -1, -1, -1]])
    ids, sims = rerank(X, rows, cand, 3)
    assert sorted(ids[0].tolist()) == [5, 7, 9]
    np.testing.assert_allclose(sims[0], np.sort(X[[5, 7, 9]] @ X[0])[::-1], atol=1e-6)
    assert ids[1].tolist() == [3, -1, -1] and np.isneginf(sims[1, 1:]).all()
    assert (ids[2] == -1).all() and np.isneginf(sims[2]).all()


def test_build_graph_uses_the_ivf_graph_above_exact_max_rows() -> None:
    X = clustered(3000, seed=7)
    graph = build_graph(X, IndexConfig(exact_max_rows=1000, recall_queries=3000), seed=0)
    _, sims_o = knn_numpy(X, 10)
    assert graph.stats["method"] == "ivf"
    assert graph.stats["refine_iters"] == IndexConfig().refine_iters
    # The recall it reports (measured on every row here) is the oracle's.
    assert graph.stats["recall_at_k"] == pytest.approx(recall(graph.sims, sims_o), abs=1e-3)
    assert graph.stats["recall_at_k"] >= 0.95


def test_more_lists_are_probed_on_large_data() -> None:
    assert default_nprobe(200_000) == 8 and default_nprobe(200_001) == 16
    X = clustered(3000, seed=8)
    assert ivf_graph(X, 10)[2]["ivf_nprobe"] == 8
    assert IndexConfig().ivf_nprobe is None  # the size decides unless set
