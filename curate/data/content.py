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
    root: Path,
    path: Path,
    base: Path,
    rel_paths: list[str | None],
    allowed: dict[Path, str] | None = None,
    tracked: list[Path] | None = None,
) -> tuple[list[str], list[str]]:
    """Hash image files; return (workspace-relative paths, hashes). ``path`` names the table.

    Each file must resolve (symbolic links followed) inside one of ``allowed``: folder -> how
    the error message names it (default: the workspace ``root`` and ``base``). A file outside
    the workspace must also lie in one of ``tracked`` (the ingest stage's dependencies), when
    given, so that DVC notices when it changes.
    """
    if allowed is None:
        allowed = {root: "the workspace", base: "the image folder"}
    roots: list[tuple[Path, str]] = []
    for folder, name in allowed.items():
        if all(folder.resolve() != seen for seen, _ in roots):
            roots.append((folder.resolve(), name))
    files: list[str] = []
    hashes: list[str] = []
    missing: list[str] = []
    outside: list[tuple[int, str, Path]] = []
    untracked: list[tuple[int, str, Path]] = []
    workspace = root.resolve()
    for row, rel in enumerate(rel_paths):
        if rel is None or not rel.strip():
            missing.append("(empty path)")
            continue
        file = Path(rel) if os.path.isabs(rel) else base / rel
        resolved = file.resolve()
        if not any(resolved.is_relative_to(folder) for folder, _ in roots):
            outside.append((row, rel, resolved))
            continue
        if (
            tracked is not None
            and not resolved.is_relative_to(workspace)
            and not any(resolved.is_relative_to(dep) for dep in tracked)
        ):
            untracked.append((row, rel, resolved))
            continue
        try:
            hashes.append(content_hash(resolved.read_bytes()))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            missing.append(str(file))
            continue
        files.append(_workspace_relative(root, resolved))
    if outside:
        shown = _listed(outside)
        places = " or ".join(f"{name} ({folder})" for folder, name in roots)
        raise DataError(
            f"{path}: {len(outside)} image path(s) resolve outside {places}, e.g. {shown}. "
            "curate reads images only from folders DVC tracks, so that changing an image "
            "re-runs the pipeline. Move the images into the workspace, or set data.image_root "
            "in configs/data.yaml to the folder holding them and list that folder in the "
            "ingest stage's deps in dvc.yaml."
        )
    if untracked:
        raise DataError(
            f"{path}: {len(untracked)} image file(s) outside the workspace are not in any "
            f"dependency of the ingest stage in {root / 'dvc.yaml'}, so `dvc status` would not "
            f"notice when they change, e.g. {_listed(untracked)}. Add the folder holding them "
            "(data.image_root) to stages.ingest.deps in dvc.yaml, or move the images into the "
            "workspace."
        )
    if missing:
        raise DataError(
            f"{path}: {len(missing)} image file(s) not found or unreadable, e.g. "
            f"{', '.join(missing[:MAX_LISTED])}. Relative paths are resolved against {base}; "
            "set data.image_root in configs/data.yaml if they are relative to another folder."
        )
    return files, hashes


def _listed(rows: list[tuple[int, str, Path]]) -> str:
    return ", ".join(
        f"row {row + 1}: {rel!r}" + (f" (-> {res})" if str(res) != rel else "")
        for row, rel, res in rows[:MAX_LISTED]
    )


def _workspace_relative(root: Path, resolved: Path) -> str:
    try:
        return str(resolved.relative_to(root.resolve()))
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
