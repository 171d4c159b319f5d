"""The embedder protocol.

An embedder turns rows of the manifest into vectors. It has an ``identity``: a string that
changes whenever its output for the same content would change (model, parameters, fitted
state). Cached vectors are keyed by ``(identity, content_hash)``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pyarrow as pa


@runtime_checkable
class Embedder(Protocol):
    #: Short name shown to users (``text``, ``image`` ...).
    name: str
    #: False when vectors are cheap to recompute or already stored (precomputed).
    cacheable: bool

    @property
    def identity(self) -> str:
        """Stable description of everything that determines the output vectors."""
        ...

    def fit(self, manifest: pa.Table) -> None:
        """Learn dataset-level state (e.g. feature scaling). Most embedders do nothing."""
        ...

    def prepare(self) -> None:
        """Load heavy state (model weights); called once, only if something needs embedding."""
        ...

    def embed(self, rows: pa.Table) -> np.ndarray:
        """Embed manifest rows; return a float32 array of shape (len(rows), dim)."""
        ...
