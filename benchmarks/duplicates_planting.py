"""Planted copies: the perturbations of the planted-copies experiments and the truth they
are scored against (``CopyTruth``)."""

from __future__ import annotations

import re
import string

import numpy as np
from duplicates_common import PERTURBATIONS, PUNCT, close, keys, members_by_group, normalise


def expand(pairs: np.ndarray, root: np.ndarray, n: int) -> np.ndarray:
    """Pairs between any member of the group of a and any member of the group of b."""
    groups = members_by_group(root)
    out = [pairs]
    for k in pairs.tolist():
        ga, gb = groups.get(int(root[k // n])), groups.get(int(root[k % n]))
        if ga is None and gb is None:
            continue
        ga = ga if ga is not None else np.array([k // n])
        gb = gb if gb is not None else np.array([k % n])
        a, b = np.meshgrid(ga, gb)
        out.append(keys(a.ravel(), b.ravel(), n))
    return np.unique(np.concatenate(out))


# --- banking77 ------------------------------------------------------------------------------


def perturb(text: str, kind: str, rng) -> str:
    """One perturbation of ``kind`` (see the module docstring); may return ``text`` unchanged."""
    words = list(re.finditer(r"\S+", text))
    if kind == "case":
        mode = rng.integers(3)
        if mode == 0:
            return text.lower()
        if mode == 1:
            return text.upper()
        w = words[rng.integers(len(words))]
        return text[: w.start()] + w.group().swapcase()[0] + text[w.start() + 1 :]
    if kind == "punct":
        marks = [m.start() for m in PUNCT.finditer(text)]
        if marks and rng.random() < 0.5:
            i = marks[rng.integers(len(marks))]
            return text[:i] + text[i + 1 :]
        if text[-1] not in string.punctuation:
            return text + "?.!"[rng.integers(3)]
        w = words[rng.integers(max(len(words) - 1, 1))]
        return text[: w.end()] + "," + text[w.end() :]
    if kind == "drop_word":  # the word and the whitespace after it (before it, if last)
        i = int(rng.integers(len(words)))
        if i + 1 < len(words):
            return text[: words[i].start()] + text[words[i + 1].start() :]
        return text[: words[i - 1].end()] + text[words[i].end() :]
    if kind == "swap_words":
        i = rng.integers(len(words) - 1)
        a, b = words[i], words[i + 1]
        return (
            text[: a.start()] + b.group() + text[a.end() : b.start()] + a.group() + text[b.end() :]
        )
    if kind == "typo":
        cands = [w for w in words if w.group().isalpha() and len(w.group()) >= 3]
        if not cands:
            return text
        w = cands[rng.integers(len(cands))]
        word, pos = w.group(), int(rng.integers(len(w.group())))
        letter = "abcdefghijklmnopqrstuvwxyz"[rng.integers(26)]
        op = rng.integers(3)
        if op == 0:  # substitute
            letter = letter if letter != word[pos].lower() else ("a" if letter != "a" else "b")
            new = word[:pos] + letter + word[pos + 1 :]
        elif op == 1:  # delete
            new = word[:pos] + word[pos + 1 :]
        else:  # insert
            new = word[:pos] + letter + word[pos:]
        return text[: w.start()] + new + text[w.end() :]
    raise ValueError(kind)


def plant(texts: list[str], count: int, seed: int) -> tuple[list[str], list[int], list[tuple]]:
    """``count`` perturbed copies of distinct random rows with at least 3 words. Each copy
    gets 1 or 2 different perturbations (in random order), each of which changes the text, and
    differs from every text already in the data."""
    return _plant_with(texts, count, np.random.default_rng(seed), PERTURBATIONS, perturb)


def _plant_with(texts: list[str], count: int, rng, rules, apply) -> tuple[list, list, list]:
    """The planting loop shared by every perturbation family: ``apply(text, rule, rng)``."""
    existing = set(texts)
    copies, sources, kinds = [], [], []
    for i in rng.permutation(len(texts)).tolist():
        if len(copies) == count:
            break
        if len(texts[i].split()) < 3:
            continue
        for _ in range(10):
            ops = rng.choice(rules, rng.integers(1, 3), replace=False).tolist()
            steps = [texts[i]]
            for op in ops:
                steps.append(apply(steps[-1], op, rng))
            new = steps[-1]
            changed = all(a != b for a, b in zip(steps, steps[1:], strict=False))
            if changed and new not in existing and new.strip():
                break
        else:
            continue
        existing.add(new)
        copies.append(new)
        sources.append(i)
        kinds.append(tuple(sorted(ops)))
    return copies, sources, kinds


def copy_pairs(root: np.ndarray, n0: int) -> np.ndarray:
    """Every group pair (all member pairs of each group) with at least one planted copy (rows
    from ``n0`` on)."""
    n = len(root)
    parts = [np.array([], np.int64)]
    for members in members_by_group(root).values():
        copies = members[members >= n0]
        if len(copies):
            a, b = np.repeat(copies, len(members)), np.tile(members, len(copies))
            parts.append(keys(a, b, n))
    return np.unique(np.concatenate(parts))


class CopyTruth:
    """Correctness of pairs that include a planted copy. A pair (copy, x) is correct when x is
    the copy's source, or x is :func:`close` to the copy's source, or x is another copy whose
    source is the same as, or close to, this copy's source. Pairs of sources are looked up in
    the natural pairs and otherwise checked with :func:`close` directly (cached)."""

    def __init__(self, texts: list[str], src: np.ndarray, n0: int, natural: np.ndarray):
        self.norm = [normalise(t) for t in texts]
        self.words = np.array([len(w) for w in self.norm])
        self.src, self.n0, self.natural = src, n0, natural
        self.cache: dict[int, bool] = {}

    def involving(self, pairs: np.ndarray) -> np.ndarray:
        """The pairs among ``pairs`` (keys) that include a planted copy."""
        return pairs[pairs % len(self.src) >= self.n0]  # key = min * n + max

    def correct(self, pairs: np.ndarray) -> np.ndarray:
        n = len(self.src)
        a, b = self.src[pairs // n], self.src[pairs % n]
        sk = np.minimum(a, b) * n + np.maximum(a, b)
        ok = (a == b) | np.isin(sk, self.natural)
        rest = np.unique(sk[~ok])
        la, lb = self.words[rest // n], self.words[rest % n]
        rest = rest[np.abs(la - lb) <= np.maximum(2, np.maximum(la, lb) // 5)]  # close's cut
        for k in rest.tolist():
            if k not in self.cache:
                self.cache[k] = close(self.norm[k // n], self.norm[k % n])
        good = np.array([k for k in rest.tolist() if self.cache[k]], np.int64)
        return ok | np.isin(sk, good)

    def precision(self, pairs: np.ndarray) -> tuple[float, int]:
        """(precision, count) over the pairs among ``pairs`` that include a planted copy."""
        mine = self.involving(pairs)
        return (float(self.correct(mine).mean()) if len(mine) else 1.0), int(len(mine))
