"""Tabular embedder: standardised numeric features plus one-hot categoricals.

Scaling statistics and the category vocabulary are fitted on the whole manifest; their digest
is part of the identity, so cached vectors are reused only while those statistics are unchanged.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class TabularEmbedder:
    name = "tabular"
    cacheable = True

    def __init__(self, feature_columns: tuple[str, ...]) -> None:
        self.columns = feature_columns
        self._numeric: dict[str, tuple[float, float]] = {}
        self._categories: dict[str, list[str]] = {}

    @property
    def identity(self) -> str:
        state = json.dumps([self._numeric, self._categories], sort_keys=True, default=str)
        digest = hashlib.sha256(state.encode()).hexdigest()[:16]
        return f"tabular/standardise+onehot/{','.join(self.columns)}/{digest}"

    def prepare(self) -> None:
        pass

    def fit(self, manifest: pa.Table) -> None:
        for name in self.columns:
            col = manifest.column(name)
            if _is_numeric(col.type):
                values = col.to_numpy(zero_copy_only=False).astype(np.float64)
                finite = values[np.isfinite(values)]
                mean = float(finite.mean()) if finite.size else 0.0
                std = float(finite.std()) if finite.size else 1.0
                self._numeric[name] = (mean, std if std > 0 else 1.0)
            else:
                cats = pc.unique(col.cast(pa.string()).drop_null()).to_pylist()
                self._categories[name] = sorted(cats)

    def embed(self, rows: pa.Table) -> np.ndarray:
        parts = []
        for name in self.columns:
            col = rows.column(name)
            if name in self._numeric:
                mean, std = self._numeric[name]
                values = col.to_numpy(zero_copy_only=False).astype(np.float64)
                # Missing values sit at the mean (0 after scaling).
                values = np.where(np.isfinite(values), (values - mean) / std, 0.0)
                parts.append(values[:, None])
            else:
                index = {c: i for i, c in enumerate(self._categories[name])}
                onehot = np.zeros((rows.num_rows, len(index)))
                for r, v in enumerate(col.cast(pa.string()).to_pylist()):
                    if v in index:
                        onehot[r, index[v]] = 1.0
                parts.append(onehot)
        out = np.concatenate(parts, axis=1) if parts else np.zeros((rows.num_rows, 0))
        return out.astype(np.float32)


def _is_numeric(tp: pa.DataType) -> bool:
    return pa.types.is_integer(tp) or pa.types.is_floating(tp) or pa.types.is_boolean(tp)
