"""Perturbation families of the held-out experiment: the check's own edit model and three
that it does not model (paraphrase, character noise, Unicode variants)."""

from __future__ import annotations

import re

import numpy as np
from common import RESULTS
from duplicates_common import PERTURBATIONS
from duplicates_planting import _plant_with, perturb, plant

#: The held-out part (``--part heldout``) chooses curate's text defaults (candidate threshold,
#: ``max_word_edits``) on the tuning split only: the planted copies of ``TUNING_SEEDS`` made with
#: ``TUNING_FAMILY`` (the edit model above, which is also the word-edit check's own model). It
#: reports every method on the evaluation split: disjoint seeds, and perturbation families that
#: are not the check's edit model.
TUNING_SEEDS = (0, 1)
EVAL_SEEDS = (2, 3)
TUNING_FAMILY = "edits"
FAMILIES = ("edits", "paraphrase", "charnoise", "unicode")
#: The grid of (candidate threshold, max_word_edits) the tuning split chooses from.
GRID_THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8)
GRID_WORD_EDITS = (0.15, 0.2, 0.25, 0.3, 0.35)
HELDOUT_SETS = RESULTS / "duplicates_heldout_sets.json"
#: The tuning split's recall floor (the acceptance: recall >= 0.95 on planted copies).
MIN_RECALL = 0.95

#: Back-off paraphrase rules (family "paraphrase"): contractions both ways, word and
#: function-word substitutions, number formats, and clause reordering. Keys are matched as
#: whole words, case-insensitively; the first letter's case is kept.
CONTRACTIONS = {
    "i'm": "i am", "don't": "do not", "can't": "cannot", "won't": "will not",
    "it's": "it is", "what's": "what is", "i've": "i have", "isn't": "is not",
    "doesn't": "does not", "didn't": "did not", "i'd": "i would", "there's": "there is",
    "that's": "that is", "you're": "you are", "haven't": "have not", "wasn't": "was not",
    "aren't": "are not", "hasn't": "has not", "let's": "let us", "we're": "we are",
}  # fmt: skip
SYNONYMS = {
    "get": "receive", "receive": "get", "need": "require", "want": "wish", "buy": "purchase",
    "purchase": "buy", "money": "funds", "funds": "money", "show": "display", "says": "states",
    "said": "stated", "big": "large", "large": "big", "start": "begin", "begin": "start",
    "help": "assist", "find": "locate", "told": "informed", "about": "regarding",
    "quickly": "fast", "fast": "quickly", "possible": "feasible", "problem": "issue",
    "issue": "problem", "wrong": "incorrect", "pay": "settle", "payment": "transaction",
    "send": "transfer", "charged": "billed", "fee": "charge", "new": "fresh",
    "company": "firm", "firm": "company", "week": "7 days", "month": "30 days",
}  # fmt: skip
FUNCTION_WORDS = {
    "can": "could", "could": "can", "will": "would", "would": "will", "the": "a", "a": "the",
    "my": "the", "on": "in", "in": "on", "to": "towards", "is": "was", "was": "is",
    "do": "does", "how": "in what way", "why": "for what reason", "if": "whether",
    "and": "as well as", "but": "however",
}  # fmt: skip
NUMBERS = {str(i): w for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}  # fmt: skip
PARAPHRASE_RULES = ("contraction", "synonym", "function_word", "number", "reorder")
CHARNOISE_RULES = ("multi_typo", "char_rate", "whitespace", "punct_noise")
UNICODE_RULES = ("mixed_case", "accents", "fullwidth", "homoglyph", "invisible")
FAMILY_RULES = {
    "edits": PERTURBATIONS,
    "paraphrase": PARAPHRASE_RULES,
    "charnoise": CHARNOISE_RULES,
    "unicode": UNICODE_RULES,
}
#: Character noise: each character is deleted, or followed by an inserted letter, at this rate.
CHAR_RATE = 0.04
HOMOGLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440",
              "i": "\u0456", "x": "\u0445", "y": "\u0443"}  # fmt: skip
ACCENTS = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú", "n": "ñ", "c": "ç"}
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _keep_case(old: str, new: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


def _replace_word(text: str, table: dict[str, str], rng) -> str:
    """Replace one whole word (or contraction) found in ``table`` (case-insensitive)."""
    pattern = r"(?<![\w'])(" + "|".join(re.escape(k) for k in table) + r")(?![\w'])"
    hits = list(re.finditer(pattern, text, re.IGNORECASE))
    if not hits:
        return text
    m = hits[rng.integers(len(hits))]
    return text[: m.start()] + _keep_case(m.group(), table[m.group().lower()]) + text[m.end() :]


def paraphrase(text: str, rule: str, rng) -> str:
    """One back-off paraphrase rule (see ``PARAPHRASE_RULES``); may return ``text`` unchanged."""
    if rule == "contraction":
        both = {**CONTRACTIONS, **{v: k for k, v in CONTRACTIONS.items()}}
        return _replace_word(text.replace("\u2019", "'"), both, rng)
    if rule == "synonym":
        return _replace_word(text, SYNONYMS, rng)
    if rule == "function_word":
        return _replace_word(text, FUNCTION_WORDS, rng)
    if rule == "number":
        hits = list(re.finditer(r"\b\d{1,3}(,\d{3})+\b|\b\d+\b", text))
        if hits:
            m = hits[rng.integers(len(hits))]
            digits = m.group().replace(",", "")
            if "," in m.group():
                new = digits  # 1,000 -> 1000
            elif digits in NUMBERS:
                new = NUMBERS[digits]  # 2 -> two
            elif len(digits) >= 4:
                new = f"{int(digits):,}"  # 1000 -> 1,000
            else:
                return text
            return text[: m.start()] + new + text[m.end() :]
        words = {w: d for d, w in NUMBERS.items()}
        return _replace_word(text, words, rng)  # two -> 2
    if rule == "reorder":  # "A, B" -> "B, A"; two sentences swapped
        parts = re.split(r"(?<=[.?!])\s+", text.strip())
        if len(parts) >= 2:
            i = int(rng.integers(len(parts) - 1))
            parts[i], parts[i + 1] = parts[i + 1], parts[i]
            return " ".join(parts)
        m = re.search(r",\s+", text)
        if not m:
            return text
        head, tail = text[: m.start()], text[m.end() :]
        if len(head.split()) < 2 or len(tail.split()) < 2:
            return text
        end = tail[-1] if tail[-1] in ".?!" else ""
        tail = tail[: len(tail) - len(end)]
        first = head if head.split()[0] == "I" else head[:1].lower() + head[1:]
        return f"{tail[:1].upper()}{tail[1:]}, {first}{end}"
    raise ValueError(rule)


def char_noise(text: str, rule: str, rng) -> str:
    """One character-noise rule (see ``CHARNOISE_RULES``): rates and kinds of noise the word
    edits do not model (several typos in one word, noise spread over the text, words merged
    or split, punctuation inside words)."""
    words = list(re.finditer(r"[^\W\d_]{5,}", text))
    if rule == "multi_typo":  # 2 or 3 character edits in one word of 5+ letters
        if not words:
            return text
        w = words[rng.integers(len(words))]
        word = list(w.group())
        for _ in range(int(rng.integers(2, 4))):
            pos, op = int(rng.integers(len(word))), int(rng.integers(3))
            letter = LETTERS[rng.integers(26)]
            if op == 0:
                word[pos] = letter
            elif op == 1 and len(word) > 3:
                del word[pos]
            else:
                word.insert(pos, letter)
        return text[: w.start()] + "".join(word) + text[w.end() :]
    if rule == "char_rate":  # every character: deleted / followed by a letter at CHAR_RATE
        out = []
        for ch in text:
            u = rng.random()
            if u < CHAR_RATE and ch != " ":
                continue
            out.append(ch)
            if u > 1 - CHAR_RATE:
                out.append(LETTERS[rng.integers(26)])
        return "".join(out)
    if rule == "whitespace":  # two words merged, or one split; extra spaces
        spaces = [m.start() for m in re.finditer(r" ", text)]
        if spaces and rng.random() < 0.5:
            i = spaces[rng.integers(len(spaces))]
            new = text[:i] + text[i + 1 :]
        elif words:
            w = words[rng.integers(len(words))]
            cut = w.start() + int(rng.integers(2, len(w.group()) - 1))
            new = text[:cut] + " " + text[cut:]
        else:
            return text
        return re.sub(" ", "  ", new, count=1) if rng.random() < 0.5 else new
    if rule == "punct_noise":  # a mark inside a word, repeated marks, a dash between words
        mode = int(rng.integers(3))
        if mode == 0 and words:
            w = words[rng.integers(len(words))]
            cut = w.start() + int(rng.integers(1, len(w.group())))
            return text[:cut] + ".,-'"[rng.integers(4)] + text[cut:]
        if mode == 1:
            return text.rstrip(".?!") + ["!!!", "??", "...", "?!"][rng.integers(4)]
        spaces = [m.start() for m in re.finditer(r" ", text)]
        if not spaces:
            return text
        i = spaces[rng.integers(len(spaces))]
        return text[:i] + " - " + text[i + 1 :]
    raise ValueError(rule)


def unicode_variant(text: str, rule: str, rng) -> str:
    """One case/Unicode rule (see ``UNICODE_RULES``): mixed case, accented letters, fullwidth
    forms, Cyrillic homoglyphs, invisible characters (zero-width space, no-break space,
    typographic apostrophes)."""
    words = list(re.finditer(r"[A-Za-z]{3,}", text))
    if rule == "mixed_case":
        mode = int(rng.integers(2))
        if mode == 0:
            return text.title()
        return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    if not words:
        return text
    picks = rng.choice(len(words), min(len(words), int(rng.integers(1, 4))), replace=False)
    chars = list(text)
    if rule in ("accents", "homoglyph"):
        table = ACCENTS if rule == "accents" else HOMOGLYPHS
        for k in picks:
            w = words[k]
            spots = [w.start() + i for i, c in enumerate(w.group()) if c in table]
            if spots:
                i = spots[rng.integers(len(spots))]
                chars[i] = table[chars[i]]
        return "".join(chars)
    if rule == "fullwidth":
        w = words[picks[0]]
        wide = "".join(chr(ord(c) + 0xFEE0) for c in w.group())
        return text[: w.start()] + wide + text[w.end() :]
    if rule == "invisible":
        mode = int(rng.integers(3))
        if mode == 0:
            w = words[picks[0]]
            cut = w.start() + int(rng.integers(1, len(w.group())))
            return text[:cut] + "\u200b" + text[cut:]
        if mode == 1:
            return text.replace(" ", "\u00a0")
        return text.replace("'", "\u2019") if "'" in text else text.replace(" ", "\u00a0", 2)
    raise ValueError(rule)


def perturb_family(text: str, family: str, rule: str, rng) -> str:
    if family == "edits":
        return perturb(text, rule, rng)
    fn = {"paraphrase": paraphrase, "charnoise": char_noise, "unicode": unicode_variant}[family]
    return fn(text, rule, rng)


def plant_family(texts: list[str], count: int, seed: int, family: str):
    """:func:`plant` with the rules of ``family``: ``count`` copies of distinct random rows
    with at least 3 words, each with 1 or 2 different rules that each change the text, and
    different from every text already present. Family "edits" is :func:`plant` itself (same
    seed, same copies); the other families draw from ``default_rng((seed, family number))``."""
    if family == "edits":
        return plant(texts, count, seed)
    rng = np.random.default_rng((seed, FAMILIES.index(family)))

    def apply(text, rule, rng):
        return perturb_family(text, family, rule, rng)

    return _plant_with(texts, count, rng, FAMILY_RULES[family], apply)
