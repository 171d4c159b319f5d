"""Word edits: the verifier of lexical text near-duplicates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from curate import checks
from curate.checks.word_edits import edit_budget, tokenise, within_word_edits, word_edits
from curate.config import DuplicatesConfig
from curate.index.graph import KnnGraph

BASE = "How do I change the PIN of my new card at an ATM?"


def edits(a: str, b: str) -> int:
    x, y = tokenise([a, b])
    return word_edits(x, y)


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        ("how do i change the pin of my new card at an atm", 0),  # case, punctuation
        ("How do I change the PIN of my card at an ATM?", 1),  # a dropped word
        ("How do I change the PIN of my new debit card at an ATM?", 1),  # an added word
        ("How do I change the PIN of my card new at an ATM?", 1),  # adjacent words swapped
        ("At an ATM, how do I change the PIN of my new card?", 3),  # three words moved
        ("How do I chnge the PIN of my new card at an ATM?", 1),  # a deleted letter
        ("How do I chagne the PIN of my new card at an ATM?", 1),  # transposed letters
        ("How do I change the PIN of my new cart at an ATM?", 1),  # a substituted letter
        ("How do I change the PIN of my new account at an ATM?", 3),  # a replaced word
        ("How do I change the PIN of my new card in an ATM?", 3),  # 'at' / 'in': not a typo
        ("How do I chnge PIN the of my card at an ATM?", 3),  # typo, swap, drop
    ],
)
def test_word_edit_costs(other: str, expected: int) -> None:
    assert edits(BASE, other) == expected
    assert edits(other, BASE) == expected


def test_budget_is_a_fraction_of_the_longer_text_and_one_edit_from_three_words() -> None:
    assert edit_budget(4, 3, 0.25) == 1
    assert edit_budget(2, 3, 0.25) == 1
    assert edit_budget(8, 12, 0.25) == 3
    assert edit_budget(10, 10, 0.0) == 1
    # One- and two-word texts must be equal after normalisation: "Yup" / "Yup ok" is not near.
    assert edit_budget(1, 2, 0.25) == 0
    assert edit_budget(2, 2, 0.25) == 0
    a, b = tokenise(["Yup", "Yup ok..."])
    assert not within_word_edits([a, b], np.array([0]), np.array([1]), 0.25)[0]


WORDS = st.lists(st.sampled_from([f"w{i:02d}" for i in range(40)]), min_size=1, max_size=15)


@given(WORDS, WORDS)
def test_word_edits_are_symmetric_and_zero_only_for_equal_texts(a, b) -> None:
    assert word_edits(a, b) == word_edits(b, a)
    assert (word_edits(a, b) == 0) == (a == b)


@given(WORDS, st.data())
def test_one_dropped_or_swapped_word_is_one_edit(a, data) -> None:
    i = data.draw(st.integers(0, len(a) - 1))
    assert word_edits(a, a[:i] + a[i + 1 :]) <= 1
    if i + 1 < len(a) and a[i] != a[i + 1]:
        swapped = a[:i] + [a[i + 1], a[i]] + a[i + 2 :]
        assert word_edits(a, swapped) == 1


def test_limit_exits_early_above_the_budget() -> None:
    a, b = tokenise(["one two three four five six", "one"])
    assert word_edits(a, b, limit=2) == 3
    assert word_edits(a, b) == 5


def test_within_word_edits_checks_each_pair_against_its_budget() -> None:
    words = tokenise(
        [
            "why was my transfer declined",
            "why was my transfer declined yesterday",  # +1 word: within 1
            "why was my payment declined",  # a replaced word: 3 > 1
            "declined why was my transfer",  # one word moved: 1
        ]
    )
    ok = within_word_edits(words, np.array([0, 0, 0]), np.array([1, 2, 3]), 0.25)
    assert ok.tolist() == [True, False, True]


def test_near_duplicate_check_verifies_lexical_candidates_by_word_edits() -> None:
    texts = [
        "How do I activate my new card I just got?",
        "I just got new card, how do I activate it?",  # reordered paraphrase
        "how do I activate my new crad I just got",  # case, punctuation, typo
    ]
    # A complete graph: every pair is a candidate at cosine 0.95.
    graph = KnnGraph(ids=np.array([[1, 2], [0, 2], [0, 1]]), sims=np.full((3, 2), 0.95, np.float32))
    X = np.eye(3, dtype=np.float32)
    run = checks.get("near_duplicate")
    cfg = DuplicatesConfig(threshold=0.9)
    verified = run(["a", "b", "c"], X, graph, texts=texts, cfg=cfg)
    assert verified.table.column("group_id").to_pylist() == ["a", None, "a"]
    assert verified.summary["pairs_above_threshold"] == 3
    assert verified.summary["pairs_within_word_edits"] == 1
    # Without the texts (or with max_word_edits null) the cosine alone decides.
    for kwargs in (
        {},
        {"texts": texts, "cfg": DuplicatesConfig(threshold=0.9, max_word_edits=None)},
    ):
        cosine_only = run(["a", "b", "c"], X, graph, **{"cfg": cfg, **kwargs})
        assert cosine_only.table.column("group_id").to_pylist() == ["a", "a", "a"]
        assert "pairs_within_word_edits" not in cosine_only.summary
