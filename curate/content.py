"""Content identity: hashing each kind of input, and validating precomputed vectors.

Exact duplicates are samples with equal ``content_hash``; the hash covers exactly what the
embedder sees (text bytes, image file bytes, feature values, float32 vector bytes).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.config import DataConfig
from curate.errors import MAX_LISTED, DataError, fmt_rows


def content_hash(payload: bytes) -> str:
    """BLAKE2b-128 of ``payload`` as 32 hex digits."""
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def hash_images(
    root: Path, path: Path, base: Path, rel_paths: list[str | None]
) -> tuple[list[str], list[str]]:
    """Hash image files; return (workspace-relative paths, hashes). ``path`` names the table."""
    files: list[str] = []
    hashes: list[str] = []
    missing: list[str] = []
    for rel in rel_paths:
        if rel is None or not rel.strip():
            missing.append("(empty path)")
            continue
        file = Path(rel) if os.path.isabs(rel) else base / rel
        try:
            hashes.append(content_hash(file.read_bytes()))
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            missing.append(str(file))
            continue
        files.append(_workspace_relative(root, file))
    if missing:
        raise DataError(
            f"{path}: {len(missing)} image file(s) not found or unreadable, e.g. "
            f"{', '.join(missing[:MAX_LISTED])}. Relative paths are resolved against {base}; "
            "set data.image_root in configs/data.yaml if they are relative to another folder."
        )
    return files, hashes


def _workspace_relative(root: Path, file: Path) -> str:
    resolved = file.resolve()
    try:
        return str(resolved.relative_to(root))
    except ValueError:
        return str(resolved)


def hash_rows(features: pa.Table) -> list[str]:
    cols = [c.to_pylist() for c in features.columns]
    return [content_hash(repr(tuple(row)).encode("utf-8")) for row in zip(*cols, strict=True)]


def embedding_matrix(data: DataConfig, path: Path, column: pa.ChunkedArray) -> np.ndarray:
    name = data.input_column
    values = column.to_pylist()
    bad_type = [i for i, v in enumerate(values) if not isinstance(v, list | tuple)]
    if bad_type:
        raise DataError(
            f"{path}: embedding column '{name}' must hold a list of numbers per row; row(s) "
            f"{fmt_rows(bad_type)} hold {type(values[bad_type[0]]).__name__}. Store embeddings as "
            "a list column (Parquet or JSON Lines)."
        )
    lengths = Counter(len(v) for v in values)
    expected = data.embedding_dim or lengths.most_common(1)[0][0]
    wrong = [i for i, v in enumerate(values) if len(v) != expected]
    if wrong:
        found = ", ".join(f"{d} ({c} rows)" for d, c in sorted(lengths.items()) if d != expected)
        source = "data.embedding_dim" if data.embedding_dim else "the most common length"
        raise DataError(
            f"{path}: embedding column '{name}' has dimension {found}, expected {expected} "
            f"({source}); first rows: {fmt_rows(wrong)}. All embeddings must come from the "
            "same model; fix the rows or data.embedding_dim in configs/data.yaml."
        )
    try:
        matrix = np.asarray(values, dtype=np.float32).reshape(len(values), expected)
    except (TypeError, ValueError):
        raise DataError(
            f"{path}: embedding column '{name}' holds non-numeric values. Store numbers only."
        ) from None
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1)).tolist()
    if bad:
        raise DataError(
            f"{path}: embedding column '{name}' has NaN or infinite values on {len(bad)} row(s) "
            f"(first rows: {fmt_rows(bad)}). Recompute those embeddings or drop the rows."
        )
    if not (np.abs(matrix).sum(axis=1) > 0).all():
        zero = np.flatnonzero(~(np.abs(matrix).sum(axis=1) > 0)).tolist()
        raise DataError(
            f"{path}: embedding column '{name}' has all-zero vectors on {len(zero)} row(s) "
            f"(first rows: {fmt_rows(zero)}); they have no direction for cosine similarity. "
            "Recompute those embeddings or drop the rows."
        )
    return matrix
