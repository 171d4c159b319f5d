"""Word edits between two texts: the verifier of lexical near-duplicate candidates.

A near-duplicate of a text is the same text with surface noise: case, punctuation, words
dropped or added, words moved, typos. Character-3-gram cosine (:mod:`curate.embed.lexical`)
finds such candidates fast through a kNN graph, but it cannot tell them apart from real
variants: it ignores word order ("I just got new card, how do I activate it?" scores 0.93
against "How do I activate my new card I just got?") and a typo costs a short query as many
3-grams as a different word does. This module counts edits at the word level instead, on
texts normalised as the lexical vectors are (casefold, no apostrophes, other punctuation to
spaces, split on whitespace):

* a word dropped or added: 1;
* a word moved (present in both texts, but out of order): 1;
* a misspelt word (one character substituted, inserted or deleted, or two adjacent characters
  transposed; both spellings have at least 2 characters and the longer at least 3, so
  "in" / "on" are different words): 1;
* a word replaced by a different word: :data:`REPLACED_WORD_COST` (3): more than dropping one
  word and adding another, because a replaced content word usually changes what a short text
  says ("top up my card" / "top up my account").

Two texts are near-duplicates when their edits are at most ``floor(max_fraction x words of the
longer text)``, and at least one edit when the longer text has 3 words or more. With the default
fraction 0.25 a 3- to 7-word text tolerates one edit, a 12-word text three (or one replaced
word). Two texts of at most two words each must be equal after normalisation; otherwise short
chat messages chain into one group ("Yup" / "Yup ok" / "Ok" / "Ok thanx" / "Thanx").

The count comes from the longest common subsequence of the word sequences (``rapidfuzz``'s
Indel distance) and a greedy pairing of the leftover words; it is an upper bound of the
cheapest alignment under these costs, exact for the single edits above. Long texts stay cheap:
with a budget, a lower bound (every leftover word of the text with more of them costs at least
1) rejects a pair before any pairing, and the pairing compares a word only with the leftover
words of the other text that share a one-deletion variant with it (all its possible typos), so
its cost grows with the words, not with their product. Texts written without
spaces between words (Chinese, Japanese, Thai) are one "word" each, so they would be
near-duplicates only when equal: set ``duplicates.max_word_edits`` to null there and let the
cosine decide.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from rapidfuzz.distance import OSA, Indel

#: Edit cost of a word replaced by a different (not misspelt) word.
REPLACED_WORD_COST = 3


def word_edits(a: Sequence[str], b: Sequence[str], limit: int | None = None) -> int:
    """Word edits between the token sequences ``a`` and ``b`` (see the module docstring).

    With ``limit``, any count above it may be returned as ``limit + 1`` (early exit)."""
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    count_a, count_b = Counter(a), Counter(b)
    only_a = list((count_a - count_b).elements())
    only_b = list((count_b - count_a).elements())
    if limit is not None and max(len(only_a), len(only_b)) > limit:
        # Each leftover word costs at least 1 (a misspelling pairs two of them), so the
        # count is at least the larger leftover: over the limit without the LCS or pairing.
        return limit + 1
    lcs = (len(a) + len(b) - Indel.distance(a, b)) // 2
    # Words common to both texts but outside the longest common subsequence were moved.
    moved = len(a) - len(only_a) - lcs
    if limit is not None and moved + max(len(only_a), len(only_b)) > limit:
        return limit + 1  # the same lower bound with the moved words
    # Greedy pairing of misspelt words, from either side (so the count is symmetric).
    misspelt = max(_pair_misspelt(only_a, only_b), _pair_misspelt(only_b, only_a))
    left_a, left_b = len(only_a) - misspelt, len(only_b) - misspelt
    replaced = min(left_a, left_b)
    return moved + misspelt + abs(left_a - left_b) + REPLACED_WORD_COST * replaced


def _pair_misspelt(words: list[str], others: list[str]) -> int:
    """How many of ``words`` pair up, first come first served, with a misspelling among
    ``others`` (each used once, the earliest free one first).

    Two words one typo apart share a variant with at most one character deleted (a substituted
    or transposed character: the same deletion in both; an inserted one: its deletion gives
    the other word), so each word is compared only with the ``others`` sharing one."""
    if not words or not others:
        return 0
    by_variant: dict[str, list[int]] = {}
    for j, other in enumerate(others):
        if len(other) >= MIN_TYPO_WORD:
            for variant in _deletion_variants(other):
                by_variant.setdefault(variant, []).append(j)
    pairs = 0
    free = [True] * len(others)
    for word in words:
        if len(word) < MIN_TYPO_WORD:
            continue
        candidates = {j for v in _deletion_variants(word) for j in by_variant.get(v, ()) if free[j]}
        for j in sorted(candidates):
            if _misspelt(word, others[j]):
                pairs += 1
                free[j] = False
                break
    return pairs


def _deletion_variants(word: str) -> set[str]:
    """The word and every string made by deleting one of its characters."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


#: Words shorter than this are never misspelt (both spellings need 2 characters or more).
MIN_TYPO_WORD = 2


def _misspelt(word: str, other: str) -> bool:
    """Whether two different words are one typo apart (see the module docstring)."""
    return (
        max(len(word), len(other)) >= 3
        and min(len(word), len(other)) >= MIN_TYPO_WORD
        and OSA.distance(word, other, score_cutoff=1) <= 1
    )


#: From this many words (of the longer text) on, one edit is always allowed.
MIN_WORDS_FOR_AN_EDIT = 3


def edit_budget(words_a: int, words_b: int, max_fraction: float) -> int:
    """Edits allowed between texts of ``words_a`` and ``words_b`` words."""
    longer = max(words_a, words_b)
    floor = 1 if longer >= MIN_WORDS_FOR_AN_EDIT else 0
    return max(floor, math.floor(max_fraction * longer + 1e-9))


def within_word_edits(
    words: Sequence[Sequence[str]] | Mapping[int, Sequence[str]],
    a: np.ndarray,
    b: np.ndarray,
    max_fraction: float,
) -> np.ndarray:
    """For each candidate pair ``(a[i], b[i])`` of tokenised texts ``words`` (a sequence, or
    a mapping from row to tokens): whether its word edits are within :func:`edit_budget`."""
    out = np.zeros(len(a), dtype=bool)
    for i, (x, y) in enumerate(zip(np.asarray(a).tolist(), np.asarray(b).tolist(), strict=True)):
        wa, wb = words[x], words[y]
        budget = edit_budget(len(wa), len(wb), max_fraction)
        out[i] = word_edits(wa, wb, limit=budget) <= budget
    return out


def tokenise(texts: Sequence[str]) -> list[list[str]]:
    """Texts as the word sequences compared here (the lexical vectors' normalisation)."""
    from curate.embed.lexical import normalise_text

    return [normalise_text(str(t)).split() for t in texts]
