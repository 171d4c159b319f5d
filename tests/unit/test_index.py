"""FAISS kNN against the numpy oracle, and near-duplicate grouping."""

from __future__ import annotations

import numpy as np
import pytest

from curate.config import IndexConfig, PredictConfig
from curate.index import build_graph, knn, knn_numpy, near_duplicate_groups
from curate.model.predict import fold_groups, out_of_sample_pred_probs


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("batch", [7, 4096])
def test_faiss_knn_matches_the_numpy_oracle(batch: int) -> None:
    X = unit(np.random.default_rng(0).normal(size=(300, 16)))
    ids, sims = knn(X, 5, batch=batch)
    ids_o, sims_o = knn_numpy(X, 5)
    np.testing.assert_allclose(sims, sims_o, atol=1e-5)
    assert (ids == ids_o).mean() > 0.99  # ties may order differently
    assert not (ids == np.arange(300)[:, None]).any()  # never the query itself


def test_exact_copies_are_neighbours_not_self() -> None:
    X = unit(np.vstack([np.ones((4, 3)), np.eye(3)]))
    ids, sims = knn(X, 3)
    for q in range(4):
        assert set(ids[q]) == {0, 1, 2, 3} - {q}
        np.testing.assert_allclose(sims[q], 1.0, atol=1e-6)


def test_fewer_samples_than_k() -> None:
    ids, sims = knn(unit(np.eye(3)), 5)
    assert (ids[:, 2:] == -1).all() and np.isneginf(sims[:, 2:]).all()


def test_near_duplicate_groups_are_connected_components() -> None:
    rng = np.random.default_rng(1)
    base = unit(rng.normal(size=(50, 32)))
    # A chain a -> a' -> a'' of near copies, plus an exact-hash pair far apart in space.
    near = unit(base[:1] + 0.05 * rng.normal(size=(1, 32)))
    nearer = unit(near + 0.05 * rng.normal(size=(1, 32)))
    X = np.vstack([base, near, nearer])
    seeds = [f"h{i}" for i in range(52)]
    seeds[10] = seeds[20]
    ids, sims = knn(X, 10)
    g = near_duplicate_groups(ids, sims, threshold=0.95, keys=seeds)
    assert g[50] == g[51] == g[0]
    assert g[10] == g[20]
    assert len(set(g)) == 52 - 2 - 1


def test_near_duplicates_cannot_leak_labels_across_folds() -> None:
    """Random labels on points that each have a near copy: a 1-NN model memorises the copy's
    label unless near-duplicates share a fold."""
    rng = np.random.default_rng(0)
    points = unit(rng.normal(size=(150, 16)))
    copies = unit(points + 0.02 * rng.normal(size=points.shape))
    X = np.vstack([points, copies])
    labels = [str(v) for v in np.tile(rng.integers(0, 3, 150), 2)]
    hashes = [f"h{i}" for i in range(300)]  # all distinct: only embeddings reveal the copies
    cfg = PredictConfig(model="knn", knn_k=1)
    graph = build_graph(X, IndexConfig())
    grouped = out_of_sample_pred_probs(X, labels, fold_groups(graph, hashes, cfg), cfg, seed=0)
    assert (grouped.fold[:150] == grouped.fold[150:]).all()
    assert grouped.cv_accuracy < 0.5
    exact_only = PredictConfig(model="knn", knn_k=1, near_duplicate_threshold=None)
    leaky = out_of_sample_pred_probs(X, labels, fold_groups(None, hashes, exact_only), cfg, seed=0)
    assert leaky.cv_accuracy > 0.75
