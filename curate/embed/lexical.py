"""Lexical vectors for text near-duplicate detection: hashed character 3-grams.

Surface-level copies of a text (case, punctuation, a dropped or swapped word, a typo) keep most
of its character 3-grams, while a sentence embedding can move far: on banking77 a one-letter
typo drops the MiniLM cosine to a median of 0.86, below that of many paraphrases. So the
near-duplicate check finds its text candidates by the cosine of these vectors, through a kNN
graph over them, and verifies them by word edits (:mod:`curate.checks.word_edits`; see
benchmarks/duplicates.py). Texts are casefolded, apostrophes dropped, other punctuation turned
into spaces; each word, padded with spaces, contributes its 3-grams (binary), hashed into
``dim`` dimensions and L2-normalised.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

#: Hashed dimensions: 1,024 keeps hash collisions rare for texts of a few hundred characters
#: at 4 KiB per row.
LEXICAL_DIM = 1024
_APOSTROPHES = re.compile("['\u2019]")
_PUNCT = re.compile(r"[^\w\s]")
_BATCH = 65_536


def normalise_text(text: str) -> str:
    """Casefold, drop apostrophes, punctuation to spaces, collapse whitespace."""
    return " ".join(_PUNCT.sub(" ", _APOSTROPHES.sub("", text.casefold())).split())


def lexical_vectors(texts: Sequence[str], dim: int = LEXICAL_DIM) -> np.ndarray:
    """(n, dim) float32, L2-normalised hashed character-3-gram vectors of ``texts``."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 3),
        preprocessor=normalise_text,
        n_features=dim,
        alternate_sign=False,
        binary=True,
        norm="l2",
        dtype=np.float32,
    )
    out = np.zeros((len(texts), dim), np.float32)
    for start in range(0, len(texts), _BATCH):
        out[start : start + _BATCH] = vectorizer.transform(texts[start : start + _BATCH]).toarray()
    return out
