"""The kNN graph: exact/IVF/HNSW against the numpy oracle, recall measurement, artifact I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.config import IndexConfig
from curate.embed.cache import from_matrix
from curate.index import (
    build_graph,
    choose_method,
    graph_from_table,
    graph_table,
    knn_numpy,
    read_embedding_matrix,
    union_find,
)
from tests.helpers import clustered, unit


def oracle_recall(X: np.ndarray, ids: np.ndarray, k: int) -> float:
    sims = X @ X.T
    np.fill_diagonal(sims, -np.inf)
    kth = np.sort(sims, axis=1)[:, -k]
    found = np.take_along_axis(sims, np.where(ids >= 0, ids, 0), axis=1)
    return float(((found >= kth[:, None] - 1e-5) & (ids >= 0)).sum() / (len(X) * k))


def test_exact_graph_matches_the_numpy_oracle() -> None:
    X = clustered(600)
    graph = build_graph(X, IndexConfig(k=8, batch_size=64))
    ids_o, sims_o = knn_numpy(X, 8)
    np.testing.assert_allclose(graph.sims, sims_o, atol=1e-5)
    assert (graph.ids == ids_o).mean() > 0.99  # ties may order differently
    assert graph.stats["method"] == "exact" and graph.stats["recall_at_k"] == 1.0


@pytest.mark.parametrize("method", ["ivf", "hnsw"])
def test_approximate_graph_reports_its_recall(method: str) -> None:
    X = clustered(3000)
    graph = build_graph(X, IndexConfig(method=method, recall_queries=3000, ivf_nprobe=8))
    truth = oracle_recall(X, graph.ids, 10)
    assert graph.stats["method"] == method
    assert graph.stats["recall_queries"] == 3000
    # Measured on every row, the reported recall equals the oracle's.
    assert graph.stats["recall_at_k"] == pytest.approx(truth, abs=1e-3)
    assert truth > 0.9


def test_recall_on_a_sample_is_an_honest_estimate() -> None:
    X = clustered(3000, seed=3)
    cfg = IndexConfig(method="ivf", ivf_nprobe=1, refine_iters=0, recall_queries=500)
    graph = build_graph(X, cfg)
    truth = oracle_recall(X, graph.ids, 10)
    assert truth < 0.99  # one probed list and no descent miss neighbours...
    assert graph.stats["recall_at_k"] == pytest.approx(truth, abs=0.05)  # ...and it shows


def test_the_index_is_chosen_by_size() -> None:
    cfg = IndexConfig(exact_max_rows=1000)
    assert choose_method(1000, cfg) == "exact"
    assert choose_method(1001, cfg) == "ivf"
    assert choose_method(1001, IndexConfig(exact_max_rows=1000, approximate="hnsw")) == "hnsw"
    assert choose_method(10, IndexConfig(method="hnsw")) == "hnsw"


def test_a_tiny_dataset_pads_missing_neighbours() -> None:
    graph = build_graph(unit(np.eye(3)), IndexConfig(k=5))
    assert (graph.ids[:, 2:] == -1).all() and np.isneginf(graph.sims[:, 2:]).all()
    assert not (graph.ids == np.arange(3)[:, None]).any()


def test_graph_artifact_round_trips_through_sample_ids(tmp_path: Path) -> None:
    X = clustered(50)
    graph = build_graph(X, IndexConfig(k=60))  # more than n-1: padded
    ids = pa.array([f"s{i:03d}" for i in range(50)])
    pq.write_table(graph_table(ids, graph), tmp_path / "knn.parquet")
    table = pq.read_table(tmp_path / "knn.parquet")
    row = table.slice(7, 1).to_pylist()[0]
    assert row["neighbor_ids"][0] == f"s{graph.ids[7, 0]:03d}"
    assert row["neighbor_ids"][-1] is None
    back = graph_from_table(table)
    np.testing.assert_array_equal(back.ids, graph.ids)
    np.testing.assert_allclose(back.sims, graph.sims)
    assert back.stats["method"] == "exact"


def test_embeddings_are_read_in_batches_from_parquet_and_npy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import curate.index.graph as graph_module

    monkeypatch.setattr(graph_module, "READ_BATCH", 7)
    X = clustered(50)
    pq.write_table(
        pa.table({"sample_id": [str(i) for i in range(50)], "embedding": from_matrix(X)}),
        tmp_path / "e.parquet",
        row_group_size=9,
    )
    np.save(tmp_path / "e.npy", X)
    np.testing.assert_array_equal(read_embedding_matrix(tmp_path / "e.parquet"), X)
    np.testing.assert_array_equal(read_embedding_matrix(tmp_path / "e.npy"), X)


def test_union_find_matches_a_naive_component_search() -> None:
    rng = np.random.default_rng(0)
    n = 400
    a, b = rng.integers(0, n, 300), rng.integers(0, n, 300)
    roots = union_find(n, a, b)
    # Naive: repeatedly relabel with the smallest label across each edge until stable.
    label = np.arange(n)
    while True:
        new = label.copy()
        for x, y in zip(a, b, strict=True):
            m = min(new[x], new[y])
            new[x] = new[y] = m
        if (new == label).all():
            break
        label = new
    np.testing.assert_array_equal(roots, label)
