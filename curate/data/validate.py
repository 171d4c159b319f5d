"""Checks and string conversions of the columns that become the manifest.

What :mod:`curate.data.dataset` asks of every source and of the dataset as a whole: the
configured columns exist and do not clash with the manifest's own (:data:`MANIFEST_COLUMNS`),
splits are known (or mapped by ``data.split_values``), labels fall in the declared classes with
at least two of them, ids are present and unique (or derived from content). Also the one rule by
which a flat column of any type becomes strings (:func:`as_string`), nested values refused
(:func:`string_column`), and the stripping of label cells (:func:`clean_labels`). Each failure
is a :class:`curate.errors.DataError` naming the file or column, what was expected and the
setting to change.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from curate.config import SPLITS, DataConfig
from curate.errors import MAX_LISTED, DataError, fmt_rows

MANIFEST_COLUMNS = ("sample_id", "content_hash", "input", "label", "split")


def require_columns(data: DataConfig, path: Path, table: pa.Table, split_fixed: bool) -> None:
    wanted = {
        "data.input_column": [data.input_column] if data.modality != "tabular" else [],
        "data.feature_columns": list(data.feature_columns) if data.modality == "tabular" else [],
        "data.id_column": [data.id_column] if data.id_column else [],
        "data.label_column": [data.label_column] if data.label_column else [],
        "data.split_column": [data.split_column] if data.split_column and not split_fixed else [],
        "data.annotator_columns": list(data.annotator_columns),
        "data.metadata_columns": list(data.metadata_columns),
    }
    present = table.column_names
    for key, names in wanted.items():
        for name in names:
            if name not in present:
                what = key.split(".")[1].replace("_", " ").rstrip("s")
                raise DataError(
                    f"{what} '{name}' not found in {path}; columns are: "
                    f"{', '.join(present) or '(none)'}. Set {key} in configs/data.yaml."
                )
    reserved = set(MANIFEST_COLUMNS)
    clashes = [c for c in (*data.metadata_columns, *data.annotator_columns) if c in reserved]
    if data.modality == "tabular":
        clashes += [c for c in data.feature_columns if c in reserved]
    if clashes:
        raise DataError(
            f"{path}: column(s) {', '.join(clashes)} would overwrite manifest columns "
            f"({', '.join(MANIFEST_COLUMNS)}). Rename them in the data, or leave them out of "
            "data.metadata_columns / data.feature_columns."
        )


def assign_splits(
    data: DataConfig, fixed: str | None, path: Path, table: pa.Table, label: pa.ChunkedArray
) -> pa.Array:
    n = table.num_rows
    is_unlabelled = pc.is_null(label).to_pylist()
    if fixed is not None:
        raw = [fixed] * n
    elif data.split_column:
        raw = string_column(table, data.split_column, path, "data.split_column").to_pylist()
    else:
        raw = ["train"] * n
    out = []
    unknown: Counter[str] = Counter()
    for value, unlabelled in zip(raw, is_unlabelled, strict=True):
        split = data.split_values.get(value, value) if value is not None else None
        if unlabelled:
            split = "unlabeled"  # a row without a label belongs to the pool, whatever its split
        elif split is None or split not in SPLITS:
            unknown[str(value)] += 1
        out.append(split)
    if unknown:
        shown = ", ".join(f"{v!r} ({c} rows)" for v, c in unknown.most_common(MAX_LISTED))
        raise DataError(
            f"{path}: split column '{data.split_column}' has value(s) {shown}; expected "
            f"{', '.join(SPLITS)}. Map them with data.split_values in configs/data.yaml, "
            "e.g. {val: validation}."
        )
    return pa.array(out, pa.string())


def check_labels(data: DataConfig, manifest: pa.Table, where: str) -> None:
    if not data.label_column:
        return
    labelled = manifest.column("label").drop_null()
    counts = Counter(labelled.to_pylist())
    if data.classes is not None:
        declared = set(data.classes)
        outside = {k: v for k, v in counts.items() if k not in declared}
        if outside:
            shown = ", ".join(f"{k!r} ({v} rows)" for k, v in sorted(outside.items())[:MAX_LISTED])
            raise DataError(
                f"label column '{data.label_column}' in {where} has label(s) outside the declared "
                f"class list: {shown}. Add them to data.classes in configs/data.yaml, or fix the "
                "labels."
            )
    if len(counts) < 2:
        found = f"only {next(iter(counts))!r}" if counts else "no labelled rows"
        raise DataError(
            f"label column '{data.label_column}' in {where} needs at least 2 classes among "
            f"labelled rows; found {found}. Check data.label_column, or set it to null if the "
            "whole dataset is an unlabelled pool."
        )


def sample_ids(data: DataConfig, manifest: pa.Table, where: str) -> pa.Array:
    if data.id_column:
        user_ids = manifest.column("__user_id")
        missing = null_rows(user_ids)
        if missing:
            raise DataError(
                f"id column '{data.id_column}' in {where} is empty on {len(missing)} row(s) "
                f"(first rows: {fmt_rows(missing)}). Every sample needs an id, or set "
                "data.id_column to null to derive ids from content."
            )
        ids = user_ids.to_pylist()
        dupes = [k for k, c in Counter(ids).items() if c > 1]
        if dupes:
            raise DataError(
                f"id column '{data.id_column}' in {where} has {len(dupes)} duplicated id(s), e.g. "
                f"{', '.join(map(repr, sorted(dupes)[:MAX_LISTED]))}. Ids must be unique; fix "
                "them, or set data.id_column to null to derive ids from content."
            )
        return pa.array(ids, pa.string())
    seen: Counter[str] = Counter()
    out = []
    for h in manifest.column("content_hash").to_pylist():
        k = seen[h]
        seen[h] += 1
        out.append(h[:16] if k == 0 else f"{h[:16]}~{k}")
    return pa.array(out, pa.string())


def string_column(table: pa.Table, name: str, path: Path, key: str) -> pa.ChunkedArray:
    """Column ``name`` (configured by ``key``) as strings; nested values are refused."""
    column = table.column(name)
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_nested(kind):
        raise DataError(
            f"{path}: column '{name}' ({key}) holds nested values of type {column.type}; it "
            "must hold one string or number per row. Flatten it into a string column before "
            f"ingesting (e.g. join the list, or pick one field of the struct), or set {key} in "
            "configs/data.yaml to another column."
        )
    return as_string(column)


def as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Any flat column as strings, by one documented rule: strings unchanged; integers in
    decimal; floats as Python's shortest round-trip form, integer-valued ones without ``.0``
    (``1.0`` -> ``1``, ``0.10`` -> ``0.1``), NaN as null; booleans ``True``/``False``;
    anything else as Python's ``str``."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_floating(column.type):
        # 1.0 -> "1": integer-valued floats appear when a CSV column has blanks.
        values = [
            None
            if v is None or (isinstance(v, float) and math.isnan(v))
            else (str(int(v)) if float(v).is_integer() else str(v))
            for v in column.to_pylist()
        ]
        return pa.chunked_array([pa.array(values, pa.string())])
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        # Readers reject non-UTF-8 text files; Parquet binary columns must decode cleanly.
        try:
            return pa.chunked_array(
                [pa.array([None if v is None else v.decode("utf-8") for v in column.to_pylist()])],
                pa.string(),
            )
        except UnicodeDecodeError:
            raise DataError(
                "a binary column is not valid UTF-8 text. Store text columns as UTF-8 strings."
            ) from None
    return pa.chunked_array(
        [pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())]
    )


def clean_labels(column: pa.ChunkedArray) -> tuple[pa.Array, int]:
    """Labels with surrounding whitespace stripped (``" cat"`` -> ``"cat"``); an empty or
    whitespace-only cell means "unlabelled" (null). Also returns how many cells were stripped."""
    out: list[str | None] = []
    stripped = 0
    for value in column.to_pylist():
        if value is None:
            out.append(None)
            continue
        clean = value.strip()
        stripped += clean != value
        out.append(clean or None)
    return pa.array(out, pa.string()), stripped


def null_rows(column: pa.ChunkedArray) -> list[int]:
    values = column.to_pylist()
    return [i for i, v in enumerate(values) if v is None or (isinstance(v, str) and not v.strip())]
