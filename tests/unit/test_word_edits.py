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


def _reference_word_edits(a: list[str], b: list[str]) -> int:
    """The verifier's count computed the plain way: every leftover word against every other."""
    from collections import Counter

    from rapidfuzz.distance import Indel

    from curate.checks.word_edits import REPLACED_WORD_COST, _misspelt

    if a == b:
        return 0
    lcs = (len(a) + len(b) - Indel.distance(a, b)) // 2
    only_a = list((Counter(a) - Counter(b)).elements())
    only_b = list((Counter(b) - Counter(a)).elements())

    def pair(words: list[str], others: list[str]) -> int:
        free, pairs = list(others), 0
        for word in words:
            for j, other in enumerate(free):
                if _misspelt(word, other):
                    pairs, _ = pairs + 1, free.pop(j)
                    break
        return pairs

    misspelt = max(pair(only_a, only_b), pair(only_b, only_a))
    left_a, left_b = len(only_a) - misspelt, len(only_b) - misspelt
    moved = len(a) - len(only_a) - lcs
    return moved + misspelt + abs(left_a - left_b) + REPLACED_WORD_COST * min(left_a, left_b)


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(len(word)))
    kind = int(rng.integers(4))
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + "xq"[i % 2] + word[i:]
    if kind == 2:
        return word[:i] + "z" + word[i + 1 :]
    return word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :]


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, int(rng.integers(1, 9)))) for _ in range(size)]


def test_word_edits_equal_the_all_pairs_count_with_and_without_a_limit() -> None:
    rng = np.random.default_rng(0)
    vocab = _vocabulary(rng, 60)  # small: many words one typo apart, repeated words
    for _ in range(400):
        a = [str(w) for w in rng.choice(vocab, int(rng.integers(1, 30)))]
        b = [_typo(w, rng) if rng.random() < 0.3 else w for w in a]
        b = [w for w in b if w and rng.random() > 0.1] + list(rng.choice(vocab, 2))
        expected = _reference_word_edits(a, b)
        assert word_edits(a, b) == expected
        for limit in (0, 2, 5, 20):
            got = word_edits(a, b, limit=limit)
            assert got == expected if expected <= limit else got > limit


class _CountingOSA:
    """Stands in for rapidfuzz's OSA in the verifier: counts the typo comparisons, and stops
    a run that would take minutes with an error instead."""

    def __init__(self, cap: int) -> None:
        from rapidfuzz.distance import OSA

        self.osa, self.cap, self.calls = OSA, cap, 0

    def distance(self, *args, **kwargs):
        self.calls += 1
        if self.calls > self.cap:
            raise AssertionError(f"more than {self.cap} typo comparisons")
        return self.osa.distance(*args, **kwargs)


def test_long_texts_cost_a_bounded_number_of_typo_comparisons(monkeypatch) -> None:
    """300 pairs of 2,000-word texts: different texts are rejected by the lower bound without
    pairing, and near copies (100 typos) compare each word with a few candidates only (the
    all-pairs pairing made millions of comparisons per pair: 20 minutes on newsgroup posts)."""
    from curate.checks import word_edits as module

    rng = np.random.default_rng(1)
    vocab = _vocabulary(rng, 5000)
    counter = _CountingOSA(cap=200_000)
    monkeypatch.setattr(module, "OSA", counter)
    texts, a, b = [], [], []
    for i in range(200):  # different texts
        texts += [list(rng.choice(vocab, 2000)), list(rng.choice(vocab, 2100))]
        a.append(2 * i)
        b.append(2 * i + 1)
    for _ in range(100):  # near copies: 100 typos and 50 dropped words
        base = [str(w) for w in rng.choice(vocab, 2000)]
        copy = list(base)
        for i in rng.choice(len(copy), 100, replace=False):
            copy[i] = _typo(copy[i], rng) or "x"
        copy = [w for k, w in enumerate(copy) if k % 40]
        texts += [base, copy]
        a.append(len(texts) - 2)
        b.append(len(texts) - 1)
    ok = within_word_edits([[str(w) for w in t] for t in texts], np.array(a), np.array(b), 0.25)
    assert not ok[:200].any() and ok[200:].all()
    assert counter.calls <= 100 * 2 * 100 * 4  # a few comparisons per misspelt word
