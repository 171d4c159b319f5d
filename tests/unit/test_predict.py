"""Out-of-sample pred_probs: grouped folds, pool predictions, class order, clear errors."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from curate.config import PredictConfig
from curate.errors import DataError
from curate.model.predict import classes_of, out_of_sample_pred_probs, to_table


def test_duplicates_share_a_fold_so_they_cannot_leak_their_label() -> None:
    """Random labels on points that each appear twice: a 1-NN model memorises a copy's label
    unless both copies sit in the same fold. Grouped folds keep accuracy near chance."""
    rng = np.random.default_rng(0)
    points = rng.normal(size=(150, 8))
    X = np.repeat(points, 2, axis=0)
    labels = [str(v) for v in np.repeat(rng.integers(0, 3, 150), 2)]
    groups = [f"h{i}" for i in np.repeat(np.arange(150), 2)]
    cfg = PredictConfig(model="knn", knn_k=1)
    grouped = out_of_sample_pred_probs(X, labels, groups, cfg, seed=0)
    assert (grouped.fold[0::2] == grouped.fold[1::2]).all()
    assert grouped.cv_accuracy < 0.5
    leaky = out_of_sample_pred_probs(X, labels, [str(i) for i in range(300)], cfg, seed=0)
    # Ungrouped, 4 in 5 copies sit in another fold than their twin: ~0.8 + 0.2 / 3 = 0.87.
    assert leaky.cv_accuracy > 0.75


def test_pool_is_predicted_and_rows_are_distributions() -> None:
    rng = np.random.default_rng(1)
    centers = np.array([[5.0, 0.0], [0.0, 5.0], [-5.0, -5.0]])
    y = np.repeat([0, 1, 2], 20)
    X = centers[y] + rng.normal(size=(60, 2))
    labels: list[str | None] = [["a", "b", "c"][v] for v in y]
    labels[:5] = [None] * 5  # the pool
    p = out_of_sample_pred_probs(X, labels, [str(i) for i in range(60)], PredictConfig(), seed=0)
    assert p.classes == ("a", "b", "c")
    assert (p.fold[:5] == -1).all() and (p.fold[5:] >= 0).all()
    np.testing.assert_allclose(p.pred_probs.sum(axis=1), 1.0, rtol=1e-5)
    assert p.pred_probs[:5].argmax(axis=1).tolist() == [0] * 5
    assert p.cv_accuracy > 0.95
    again = out_of_sample_pred_probs(X, labels, [str(i) for i in range(60)], PredictConfig())
    np.testing.assert_array_equal(p.pred_probs, again.pred_probs)  # seeded: deterministic


def test_class_with_one_sample_is_a_clear_error() -> None:
    X = np.eye(5)
    labels = ["a", "a", "b", "b", "lonely"]
    with pytest.raises(DataError, match="'lonely' have fewer than 2 labelled samples"):
        out_of_sample_pred_probs(X, labels, list("12345"), PredictConfig())


def test_table_round_trips_the_class_order() -> None:
    X = np.vstack([np.eye(3)] * 4)
    labels = ["x,1", "y\n2", "z"] * 4
    p = out_of_sample_pred_probs(X, labels, [str(i) for i in range(12)], PredictConfig(folds=2))
    ids = pa.array([str(i) for i in range(12)])
    table = to_table(ids, pa.array(["train"] * 12), pa.array(labels), p)
    assert classes_of(table) == ("x,1", "y\n2", "z")
    assert table.schema.field("pred_probs").type == pa.list_(pa.float32(), 3)


def test_fewer_distinct_contents_than_folds_reduces_the_folds() -> None:
    X = np.repeat(np.eye(4), 3, axis=0)
    labels = list("aabbaabbaabb")
    groups = [str(i) for i in np.repeat(np.arange(4), 3)]
    p = out_of_sample_pred_probs(X, labels, groups, PredictConfig(folds=5))
    assert p.fold.max() + 1 == 4
    with pytest.raises(DataError, match="fewer than 2 distinct contents"):
        out_of_sample_pred_probs(np.ones((4, 2)), list("abab"), ["same"] * 4, PredictConfig())


@pytest.mark.slow
def test_mlp_option_learns_a_non_linear_boundary() -> None:
    """XOR-like classes: a linear model cannot separate them, the MLP can."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    labels = ["same" if a * b > 0 else "diff" for a, b in X]
    groups = [str(i) for i in range(400)]
    mlp = out_of_sample_pred_probs(X, labels, groups, PredictConfig(model="mlp", mlp_epochs=60))
    linear = out_of_sample_pred_probs(X, labels, groups, PredictConfig(model="logreg"))
    assert mlp.cv_accuracy > 0.85 > 0.7 > linear.cv_accuracy
    np.testing.assert_allclose(mlp.pred_probs.sum(axis=1), 1.0, rtol=1e-5)
    again = out_of_sample_pred_probs(X, labels, groups, PredictConfig(model="mlp", mlp_epochs=60))
    np.testing.assert_allclose(mlp.pred_probs, again.pred_probs, atol=1e-6)  # seeded


def test_a_rare_class_does_not_reduce_the_folds_of_the_others() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(102, 4))
    labels = ["big"] * 50 + ["other"] * 50 + ["rare"] * 2
    p = out_of_sample_pred_probs(X, labels, [str(i) for i in range(102)], PredictConfig(folds=5))
    assert p.fold.max() + 1 == 5
    assert len(set(p.fold[-2:])) == 2  # the two rare samples sit in different folds


def test_an_unlabelled_pool_gets_predictions_without_classes() -> None:
    from curate.embed import to_matrix

    X = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    p = out_of_sample_pred_probs(X, [None] * 6, [f"h{i}" for i in range(6)], PredictConfig())
    assert p.classes == () and p.pred_probs.shape == (6, 0)
    assert (p.fold == -1).all()
    ids = pa.array([f"s{i}" for i in range(6)])
    table = to_table(ids, pa.array(["unlabeled"] * 6), pa.nulls(6, pa.string()), p)
    assert classes_of(table) == ()
    assert to_matrix(table.column("pred_probs")).shape == (6, 0)
