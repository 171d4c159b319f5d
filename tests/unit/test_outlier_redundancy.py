"""Outlier scores and the redundancy pruning set."""

from __future__ import annotations

import numpy as np
import pytest

from curate import checks
from curate.config import IndexConfig, OutlierConfig, RedundancyConfig
from curate.index import build_graph


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def blobs(n: int, centres: int, d: int = 16, spread: float = 0.25, seed: int = 0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, d))
    which = rng.integers(0, centres, n)
    return unit(c[which] + spread * rng.normal(size=(n, d))), which


def test_planted_outliers_score_lowest_and_are_flagged() -> None:
    X, _ = blobs(490, 5)
    far = unit(np.random.default_rng(1).normal(size=(10, 16)))  # no cluster of their own
    X = np.vstack([X, far])
    ids = [f"s{i}" for i in range(500)]
    result = checks.get("outlier")(ids, build_graph(X, IndexConfig()), cfg=OutlierConfig(rate=0.02))
    t = result.table.to_pydict()
    score = np.array(t["outlier_score"])
    assert ((score >= 0) & (score <= 1)).all()
    assert set(np.argsort(score)[:10]) == set(range(490, 500))
    assert sum(t["is_outlier_issue"]) == 10
    assert all(t["is_outlier_issue"][490:])
    assert result.summary["outliers"] == 10


def test_outlier_rate_zero_flags_nothing() -> None:
    X, _ = blobs(100, 3)
    result = checks.get("outlier")(
        [str(i) for i in range(100)], build_graph(X, IndexConfig()), cfg=OutlierConfig(rate=0.0)
    )
    assert not any(result.table.column("is_outlier_issue").to_pylist())


@pytest.fixture
def training_set():
    X, which = blobs(600, 6, spread=0.3)
    rng = np.random.default_rng(2)
    # 40 semantic duplicates: very close copies of training samples, same label.
    src = rng.choice(500, 40, replace=False)
    copies = unit(X[src] + 0.01 * rng.normal(size=(40, 16)))
    X = np.vstack([X, copies])
    labels = [f"c{w}" for w in which] + [f"c{which[s]}" for s in src]
    splits = ["train"] * 500 + ["test"] * 100 + ["train"] * 40
    ids = [f"s{i:03d}" for i in range(len(X))]
    return X, ids, labels, splits, src


def run(training_set, **cfg):
    X, ids, labels, splits, _ = training_set
    return checks.get("redundancy")(
        ids,
        X,
        build_graph(X, IndexConfig()),
        splits=splits,
        labels=labels,
        cfg=RedundancyConfig(**cfg),
        seed=0,
    )


def test_redundancy_ranks_training_samples_and_sizes_the_keep_set(training_set) -> None:
    result = run(training_set, clusters=6, keep_fraction=0.7)
    t = result.table.to_pydict()
    ids = t["sample_id"]
    assert len(ids) == 540 and not any("s500" <= s < "s600" for s in ids)  # test rows excluded
    assert sorted(t["keep_rank"]) == list(range(1, 541))
    assert sum(t["in_keep_set"]) == round(0.7 * 540)
    assert t["is_redundancy_issue"] == [not k for k in t["in_keep_set"]]
    assert all(0 <= s <= 1 for s in t["redundancy_score"])
    # The table is sorted by rank and the score falls with it.
    assert t["keep_rank"] == sorted(t["keep_rank"])
    assert t["redundancy_score"] == sorted(t["redundancy_score"], reverse=True)


def test_semantic_duplicates_are_found_and_pruned_first(training_set) -> None:
    _, ids, _, _, src = training_set
    result = run(training_set, clusters=6, keep_fraction=0.9, threshold=0.99)
    rows = {r["sample_id"]: r for r in result.table.to_pylist()}
    pairs = [(ids[s], ids[600 + i]) for i, s in enumerate(src)]  # copies follow the 600
    for original, copy in pairs:
        a, b = rows[original], rows[copy]
        assert a["is_semantic_duplicate"] != b["is_semantic_duplicate"]
        dup = a if a["is_semantic_duplicate"] else b
        assert dup["duplicate_of"] == (copy if dup is a else original)  # the other one
        assert not dup["in_keep_set"]  # pruned before any non-duplicate
    assert result.summary["semantic_duplicates"] == 40


def test_keep_easy_or_hard_orders_by_difficulty(training_set) -> None:
    for keep in ("easy", "hard"):
        result = run(training_set, clusters=6, keep=keep, threshold=1.0)
        t = result.table.to_pydict()
        kept = np.array(t["difficulty"])[np.array(t["in_keep_set"])]
        pruned = np.array(t["difficulty"])[~np.array(t["in_keep_set"])]
        if keep == "easy":
            assert kept.mean() < pruned.mean()
        else:
            assert kept.mean() > pruned.mean()
        # Every cluster keeps about the keep fraction of its members.
        clusters = np.array(t["cluster"])
        for c in np.unique(clusters):
            share = np.array(t["in_keep_set"])[clusters == c].mean()
            assert share == pytest.approx(0.7, abs=0.06)
        assert result.summary["keep"] == keep


def test_auto_keep_switches_with_dataset_size(training_set) -> None:
    assert run(training_set, clusters=6).summary["keep"] == "easy"
    assert run(training_set, clusters=6, large_dataset_rows=100).summary["keep"] == "hard"


def test_redundancy_is_deterministic_for_a_seed(training_set) -> None:
    assert run(training_set).table.equals(run(training_set).table)
