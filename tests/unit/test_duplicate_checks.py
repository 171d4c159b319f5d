"""Exact and near duplicates, the keep policy, and leakage across splits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from curate import checks
from curate.config import DuplicatesConfig, IndexConfig, LabelConfig
from curate.index import build_graph


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def oracle_groups(X: np.ndarray, threshold: float) -> set[frozenset[int]]:
    """Connected components of the all-pairs graph (sim >= threshold), by brute force."""
    sims = X @ X.T
    n = len(X)
    comp = list(range(n))
    for a, b in zip(*np.nonzero(np.triu(sims >= threshold, 1)), strict=True):
        ca, cb = comp[a], comp[b]
        comp = [ca if c == cb else c for c in comp]
    groups: dict[int, set[int]] = {}
    for i, c in enumerate(comp):
        groups.setdefault(c, set()).add(i)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


@pytest.fixture
def data():
    """200 distinct points; 10 near copies (cosine ~0.998) and a chain of 3; 5 exact copies."""
    rng = np.random.default_rng(0)
    base = unit(rng.normal(size=(200, 24)))
    near = unit(base[:10] + 0.015 * rng.normal(size=(10, 24)))
    chain = [unit(base[20:21] + 0.04 * rng.normal(size=(1, 24)))]
    chain.append(unit(chain[0] + 0.04 * rng.normal(size=(1, 24))))
    exact = base[30:35]
    X = np.vstack([base, near, *chain, exact])
    ids = [f"s{i:03d}" for i in range(len(X))]
    hashes = [f"h{i}" for i in range(200)] + [f"n{i}" for i in range(12)]
    hashes += [f"h{i}" for i in range(30, 35)]
    return X, ids, hashes


def group_sets(table) -> set[frozenset[int]]:
    out: dict[str, set[int]] = {}
    for i, g in enumerate(table.column("group_id").to_pylist()):
        if g is not None:
            out.setdefault(g, set()).add(i)
    return {frozenset(v) for v in out.values()}


def test_near_duplicate_sets_match_the_brute_force_oracle(data) -> None:
    X, ids, hashes = data
    graph = build_graph(X, IndexConfig())
    cfg = DuplicatesConfig(threshold=0.99)
    result = checks.get("near_duplicate")(ids, X, graph, content_hashes=hashes, cfg=cfg)
    assert group_sets(result.table) == oracle_groups(X, 0.99)
    found = group_sets(result.table)
    assert all(frozenset({i, 200 + i}) in found for i in range(10))
    assert all(frozenset({i, 212 + i - 30}) in found for i in range(30, 35))
    t = result.table.to_pydict()
    assert sum(t["is_near_duplicate_issue"]) == 15
    assert sum(t["is_exact_copy"]) == 5
    # Lower score = worse: copies score 1 - similarity to the kept member.
    for sim, score, issue in zip(
        t["similarity_to_kept"],
        t["near_duplicate_score"],
        t["is_near_duplicate_issue"],
        strict=True,
    ):
        assert 0.0 <= score <= 1.0
        if issue:
            assert score == pytest.approx(1 - sim, abs=1e-6)
        else:
            assert score == 1.0
    assert result.summary["groups"] == 15 and result.summary["duplicates"] == 15


def test_a_chain_of_near_copies_is_one_set(data) -> None:
    X, ids, hashes = data
    graph = build_graph(X, IndexConfig())
    sims = [float(X[20] @ X[210]), float(X[210] @ X[211]), float(X[20] @ X[211])]
    threshold = min(sims[:2]) - 1e-4
    assert sims[2] < threshold  # the ends are linked only through the middle
    result = checks.get("near_duplicate")(
        ids, X, graph, content_hashes=hashes, cfg=DuplicatesConfig(threshold=threshold)
    )
    assert frozenset({20, 210, 211}) in group_sets(result.table)


def test_keep_policy_prefers_labelled_then_train_then_label_score_then_earliest() -> None:
    X = unit(np.ones((1, 4)).repeat(8, axis=0) + np.eye(8, 4) * 1e-4)
    ids = [f"s{i}" for i in range(8)]
    graph = build_graph(X, IndexConfig())
    near = checks.get("near_duplicate")

    def kept(labels, splits, scores=None) -> str:
        t = near(ids, X, graph, labels=labels, splits=splits, label_scores=scores).table
        return t.column("group_id")[0].as_py()

    pool = ["unlabeled"] * 8
    assert kept([None] * 5 + ["a", None, None], pool[:5] + ["test"] + pool[6:]) == "s5"
    assert kept(["a"] * 8, ["test"] * 3 + ["validation", "train", "test", "train", "test"]) == "s4"
    scores = np.array([0.1, 0.2, 0.9, 0.3, 0.1, 0.95, 0.2, 0.2])
    assert kept(["a"] * 8, ["train"] * 8, scores) == "s5"
    assert kept(["a"] * 8, ["train"] * 8) == "s0"


def test_label_conflicts_are_marked(data) -> None:
    X, ids, hashes = data
    labels = ["x"] * len(X)
    labels[200] = "y"  # the near copy of s000 disagrees
    result = checks.get("near_duplicate")(
        ids, X, build_graph(X, IndexConfig()), labels=labels, cfg=DuplicatesConfig(threshold=0.99)
    )
    conflict = result.table.column("label_conflict").to_pylist()
    assert {i for i, c in enumerate(conflict) if c} == {0, 200}
    assert result.summary["label_conflict_groups"] == 1


def test_near_duplicate_label_conflicts_become_label_issues(data) -> None:
    X, ids, hashes = data
    labels = ["x"] * len(X)
    labels[200] = "y"
    P = np.tile([0.9, 0.1], (len(X), 1))  # the model agrees with 'x' everywhere
    groups = [None] * len(X)
    groups[0] = groups[200] = "s000"
    result = checks.get("label")(
        sample_ids=ids,
        splits=["train"] * len(X),
        labels=labels,
        content_hashes=hashes,
        pred_probs=P,
        classes=("x", "y"),
        cfg=LabelConfig(bootstrap=10),
        duplicate_groups=groups,
    )
    rows = result.table.to_pylist()
    assert rows[200]["is_label_issue"] and rows[200]["suggested_label"] == "x"
    assert "near duplicate of s000 ('x') with a different label" in rows[200]["reason"]


def test_exact_duplicates_group_equal_hashes_only() -> None:
    hashes = ["a", "b", "a", "c", "a", "b"]
    ids = [f"s{i}" for i in range(6)]
    labels = ["1", "1", "1", "1", "2", None]
    result = checks.get("exact_duplicate")(ids, hashes, labels=labels)
    t = result.table.to_pydict()
    assert t["exact_group_id"] == ["s0", "s1", "s0", None, "s0", "s1"]
    assert t["is_exact_duplicate_issue"] == [False, False, True, False, True, True]
    assert t["exact_duplicate_score"] == [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    assert t["exact_label_conflict"] == [True, False, True, False, True, False]
    assert result.summary == {
        "groups": 2,
        "samples_in_groups": 5,
        "copies": 3,
        "label_conflict_groups": 1,
    }


def test_leakage_is_reported_per_split_boundary() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 16))
    X[4] = X[0] + 0.1 * X[4]
    X = unit(X)
    ids = [f"s{i}" for i in range(12)]
    splits = ["train"] * 4 + ["test"] * 4 + ["validation"] * 2 + ["unlabeled"] * 2
    labels = ["a"] * 10 + [None, None]
    groups = [None] * 12
    groups[0] = groups[4] = "g1"  # train-test
    groups[1] = groups[5] = groups[8] = "g2"  # train-test, train-validation, validation-test
    groups[2] = groups[10] = "g3"  # labelled-pool
    groups[6] = groups[7] = "g4"  # two test samples: not a leak
    result = checks.get("leakage")(ids, splits, labels, groups, X)
    t = result.table.to_pydict()
    assert [i for i, f in enumerate(t["is_leakage_issue"]) if f] == [0, 1, 2, 4, 5, 8, 10]
    assert sorted(t["leak_pairs"][8]) == ["train-validation", "validation-test"]
    assert t["leaks_with"][4] == ["s0"]
    assert t["leakage_score"][4] == pytest.approx(1 - float(X[0] @ X[4]), abs=1e-6)
    assert t["leakage_score"][3] == 1.0
    b = result.summary["boundaries"]
    assert b["train-test"] == {
        "groups": 2,
        "train_samples": 2,
        "test_samples": 2,
        "fraction_of_test": 0.5,
    }
    assert b["train-validation"]["fraction_of_validation"] == 0.5
    assert b["labelled-pool"]["pool_samples"] == 1 and b["labelled-pool"]["fraction_of_pool"] == 0.5


@pytest.mark.parametrize("threshold", [0.9, 0.99])
def test_pairs_above_threshold_are_counted_once(data, threshold: float) -> None:
    X, ids, _ = data
    result = checks.get("near_duplicate")(
        ids, X, build_graph(X, IndexConfig(k=20)), cfg=DuplicatesConfig(threshold=threshold)
    )
    sims = X @ X.T
    expected = sum(
        1 for a, b in itertools.combinations(range(len(X)), 2) if sims[a, b] >= threshold
    )
    assert result.summary["pairs_above_threshold"] == expected


def test_lexical_vectors_ignore_case_and_punctuation_and_survive_typos() -> None:
    from curate.embed.lexical import lexical_vectors

    texts = [
        "My new card has still not arrived, and I ordered it two weeks ago.",
        "my new card has still not arrived and i ordered it two weeks ago",
        "My new card has still not arived, and I ordered it two weeks ago.",  # a typo
        "My card has still not arrived, and I ordered it two weeks ago.",  # a dropped word
        "Why was my transfer to a friend declined yesterday?",
    ]
    L = lexical_vectors(texts)
    assert L.dtype == np.float32 and np.allclose(np.linalg.norm(L, axis=1), 1.0)
    sims = L @ L.T
    assert sims[0, 1] == pytest.approx(1.0)
    assert sims[0, 2] > 0.93 and sims[0, 3] > 0.93
    assert sims[0, 4] < 0.4


@pytest.mark.slow
def test_text_near_duplicates_run_on_lexical_vectors_through_the_stages(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate import layout
    from curate.stages import apply, duplicates, embed, ingest, knn, predict
    from tests.helpers import write_workspace

    base = [
        "My new card has still not arrived, and I ordered it two weeks ago.",
        "Why was my transfer to a friend declined yesterday afternoon?",
        "Can I get a refund for this purchase, the item never arrived?",
        "The exchange rate on my cash withdrawal abroad looks wrong.",
        "Where can I see the fees for topping up with a foreign card?",
        "How can I change the PIN number of my card at an ATM?",
        # Reordered paraphrases: lexical cosine 0.93, but not the same text.
        "How do I activate my new card I just got?",
        "I just got new card, how do I activate it?",
    ]
    copies = [
        "my new card has still not arived and I ordered it two weeks ago",  # case, typo
        "Why was my transfer to friend declined yesterday afternoon",  # a dropped word
    ]
    texts = base + copies
    labels = ["a", "b", "a", "b", "a", "b", "a", "a", "a", "b"]
    pq.write_table(pa.table({"text": texts, "label": labels}), tmp_path / "data.parquet")
    write_workspace(
        tmp_path,
        {"sources": [{"path": "data.parquet"}], "input_column": "text", "label_column": "label"},
        predict={"folds": 2},
    )
    for stage in (ingest, apply, embed, knn, predict):
        stage.run(tmp_path)
    summary = duplicates.run(tmp_path)
    assert summary["near_duplicate"]["similarity"] == "lexical"
    near = summary["near_duplicate"]
    assert near["threshold"] == 0.7 and near["max_word_edits"] == 0.25
    # The paraphrases are candidates (cosine >= 0.7) that the word edits reject.
    assert near["pairs_above_threshold"] > near["pairs_within_word_edits"] == 2
    rows = pq.read_table(tmp_path / layout.DUPLICATES).to_pylist()
    groups = {r["group_id"] for r in rows if r["group_id"]}
    assert len(groups) == 2, rows
    assert rows[0]["group_id"] == rows[8]["group_id"] and rows[1]["group_id"] == rows[9]["group_id"]
    assert rows[6]["group_id"] is None and rows[7]["group_id"] is None


def test_a_high_candidate_threshold_for_word_edits_gets_a_note() -> None:
    from curate.stages.duplicates import candidate_threshold_note

    old = DuplicatesConfig(threshold=0.93)  # a workspace written for the cosine alone
    note = candidate_threshold_note(old, "text")
    assert note is not None and "0.93" in note and "0.7" in note and "max_word_edits" in note
    assert candidate_threshold_note(DuplicatesConfig(threshold=0.7), "text") is None
    assert (
        candidate_threshold_note(DuplicatesConfig(threshold=0.93, max_word_edits=None), "text")
        is None
    )
    assert candidate_threshold_note(DuplicatesConfig(threshold=0.997), "image") is None
