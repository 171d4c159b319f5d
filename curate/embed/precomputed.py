"""Precomputed embedder: vectors already stored in a manifest column (validated at ingest)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curate.embed.cache import to_matrix


class PrecomputedEmbedder:
    name = "precomputed"
    cacheable = False  # the vectors are already stored in the manifest

    def __init__(self, column: str) -> None:
        self.column = column

    @property
    def identity(self) -> str:
        return f"precomputed/{self.column}"

    def prepare(self) -> None:
        pass

    def fit(self, manifest: pa.Table) -> None:
        pass

    def embed(self, rows: pa.Table) -> np.ndarray:
        return to_matrix(rows.column(self.column))
