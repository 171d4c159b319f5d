"""The data contract: read sources, validate them once, and build the normalised manifest.

The manifest is one Parquet table with these columns, in this order:

``sample_id``
    Stable join key. The user's id when ``data.id_column`` is set; otherwise derived from the
    content hash, with ``~1``, ``~2`` ... appended to later exact copies (in source order) so that
    exact duplicates get distinct, deterministic ids. The label never enters the id, so
    relabelling a sample never changes it.
``content_hash``
    32 hex digits (BLAKE2b-128) of the sample's content: the UTF-8 text, the image file's bytes,
    the canonical feature values, or the float32 vector. Exact duplicates share it.
``input``
    The text, or the image path (relative to the workspace when inside it); null for tabular
    and embedding data, whose inputs are the feature / embedding columns kept beside it.
``label``
    The label as a string, surrounding whitespace stripped; null for the unlabelled pool
    (an empty cell or a real null; ``NA``, ``null``, ``nan`` are labels like any other).
``split``
    One of train, validation, test, unlabeled.

then the feature columns (tabular) or the embedding column (embedding modality), then the
metadata columns, untouched.

CSV/TSV cells are strings byte for byte (see :mod:`curate.data.sources`); only tabular feature
columns get a type. Parquet and JSON values of other types become strings by one rule
(:func:`_as_string`), and nested values (lists, structs) in the text, image path, label, id,
split and annotator columns are refused.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.config import SPLITS, Config, DataConfig
from curate.data import annotation
from curate.data.content import content_hash, embedding_matrix, hash_images, hash_rows
from curate.data.sources import read_source, resolve_format
from curate.errors import MAX_LISTED, DataError, fmt_rows

MANIFEST_COLUMNS = ("sample_id", "content_hash", "input", "label", "split")


def build_manifest(cfg: Config) -> pa.Table:
    """Read every source of ``cfg.data``, validate, and return the manifest table."""
    return build_manifest_and_annotations(cfg)[0]


def build_manifest_and_annotations(cfg: Config) -> tuple[pa.Table, pa.Table]:
    """The manifest, and the per-annotator labels as a long table (empty without annotators)."""
    manifest, annotations, _ = ingest_tables(cfg)
    return manifest, annotations


def ingest_tables(cfg: Config) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    """The manifest, the per-annotator labels, and what ingest normalised on the way:
    ``labels_stripped`` and ``annotator_labels_stripped`` count the label cells whose
    surrounding whitespace was removed."""
    data = cfg.data
    notes = {"labels_stripped": 0, "annotator_labels_stripped": 0}
    long = annotation.read_long(cfg)
    votes = annotation.votes_by_id(long) if long is not None else None
    parts = []
    dims: dict[int, Path] = {}
    where = _describe_sources(cfg)
    for i, source in enumerate(data.sources):
        path = cfg.path(source.path)
        typed = set(data.feature_columns) if data.modality == "tabular" else set()
        table = read_source(source, path, typed=typed.__contains__)
        if table.num_rows == 0:
            _require_columns(data, path, table, split_fixed=source.split is not None)
            continue
        part = _normalise_source(cfg, i, path, table, votes, notes)
        if data.modality == "embedding":
            dims.setdefault(part.schema.field(data.input_column).type.list_size, path)
        parts.append(part)
    if not parts:
        raise DataError(
            f"the dataset is empty: {where} contain(s) no rows. Point data.sources at files "
            "with data."
        )
    if len(dims) > 1:
        found = ", ".join(f"{d} in {p}" for d, p in dims.items())
        raise DataError(
            f"embedding column '{data.input_column}' has different dimensions across sources "
            f"({found}). All embeddings must come from the same model; re-export them, or set "
            "data.embedding_dim in configs/data.yaml to the expected dimension."
        )
    parts = _unify_metadata(parts, data.metadata_columns)
    manifest = _concat(parts, [cfg.path(s.path) for s in data.sources])
    _check_labels(data, manifest, where)
    ids = _sample_ids(data, manifest, where)
    manifest = manifest.set_column(0, "sample_id", ids)
    # Drop the private bookkeeping columns.
    manifest = manifest.drop_columns([c for c in manifest.column_names if c.startswith("__")])
    return manifest, annotation.annotation_table(cfg, manifest, long), notes


def _unify_metadata(parts: list[pa.Table], names: tuple[str, ...]) -> list[pa.Table]:
    """A flat metadata column that is strings in one source (CSV reads it so) and another
    type in another (Parquet numbers) becomes strings everywhere, by :func:`_as_string`."""
    for name in names:
        types = {part.schema.field(name).type for part in parts if name in part.column_names}
        if (
            len(types) < 2
            or not any(pa.types.is_string(t) or pa.types.is_large_string(t) for t in types)
            or any(pa.types.is_nested(t) for t in types)
        ):
            continue
        parts = [
            part.set_column(part.column_names.index(name), name, _as_string(part.column(name)))
            if name in part.column_names
            else part
            for part in parts
        ]
    return parts


def _concat(parts: list[pa.Table], paths: list[Path]) -> pa.Table:
    if len(parts) == 1:
        return parts[0]
    try:
        # "permissive" unifies e.g. int64 with float64 and fills columns missing from a source.
        return pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        types: dict[str, set[str]] = {}
        for part in parts:
            for f in part.schema:
                types.setdefault(f.name, set()).add(str(f.type))
        clash = {k: sorted(v) for k, v in types.items() if len(v) > 1}
        shown = "; ".join(f"'{k}': {', '.join(v)}" for k, v in clash.items())
        raise DataError(
            f"the sources {', '.join(map(str, paths))} disagree on column types ({shown}). "
            "Make each column the same type in every source (e.g. all strings)."
        ) from None


def summarize(manifest: pa.Table) -> dict[str, Any]:
    """Small JSON-able summary of a manifest (row, class and split counts, exact duplicates)."""
    labels = manifest.column("label")
    labelled = labels.drop_null()
    hashes = manifest.column("content_hash").to_pylist()
    return {
        "rows": manifest.num_rows,
        "labelled": len(labelled),
        "unlabelled": manifest.num_rows - len(labelled),
        "classes": dict(sorted(Counter(labelled.to_pylist()).items())),
        "splits": dict(sorted(Counter(manifest.column("split").to_pylist()).items())),
        "exact_duplicate_rows": len(hashes) - len(set(hashes)),
    }


# -- per-source normalisation ---------------------------------------------------------------


def _normalise_source(
    cfg: Config,
    index: int,
    path: Path,
    table: pa.Table,
    votes: dict[str, str] | None,
    notes: dict[str, int],
) -> pa.Table:
    data = cfg.data
    source = data.sources[index]
    _require_columns(data, path, table, split_fixed=source.split is not None)
    n = table.num_rows
    fmt = resolve_format(source, path)

    annotators = {}
    for name in data.annotator_columns:
        column = _string_column(table, name, path, "data.annotator_columns")
        annotators[name], stripped = _clean_labels(column)
        notes["annotator_labels_stripped"] += stripped
    if data.label_column:
        column = _string_column(table, data.label_column, path, "data.label_column")
        label, stripped = _clean_labels(column)
        notes["labels_stripped"] += stripped
    elif annotators:
        label = _majority_vote(list(annotators.values()))
    elif votes is not None:
        user_ids = _string_column(table, data.id_column, path, "data.id_column").to_pylist()
        label = pa.array([votes.get(uid) for uid in user_ids], pa.string())
    else:
        label = pa.nulls(n, pa.string())

    extra: dict[str, pa.ChunkedArray | pa.Array] = {}
    if data.modality == "text":
        text = _string_column(table, data.input_column, path, "data.input_column")
        missing = _null_rows(text)
        if missing:
            raise DataError(
                f"{path}: input column '{data.input_column}' is empty on {len(missing)} row(s) "
                f"(first rows: {fmt_rows(missing)}). Every sample needs a text; drop those rows "
                "or fill them in."
            )
        texts = text.to_pylist()
        hashes = [content_hash(t.encode("utf-8")) for t in texts]
        inputs = pa.array(texts, pa.string())
    elif data.modality == "image":
        base = _image_base(cfg, path, fmt)
        rel_paths = _string_column(table, data.input_column, path, "data.input_column")
        files, hashes = hash_images(
            cfg.root,
            path,
            base,
            rel_paths.to_pylist(),
            allowed=_image_folders(cfg, base, fmt),
            tracked=_ingest_dependencies(cfg.root),
        )
        inputs = pa.array(files, pa.string())
    elif data.modality == "tabular":
        features = table.select(list(data.feature_columns))
        hashes = hash_rows(features)
        inputs = pa.nulls(n, pa.string())
        extra.update(zip(features.column_names, features.columns, strict=True))
    else:  # embedding
        vectors = embedding_matrix(data, path, table.column(data.input_column))
        hashes = [content_hash(row.tobytes()) for row in vectors]
        inputs = pa.nulls(n, pa.string())
        extra[data.input_column] = pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]
        )

    split = _splits(data, source.split, path, table, label)
    extra.update(annotators)
    for name in data.metadata_columns:
        extra[name] = table.column(name)
    columns = {
        "sample_id": pa.nulls(n, pa.string()),  # filled once all sources are read
        "content_hash": pa.array(hashes, pa.string()),
        "input": inputs,
        "label": label,
        "split": split,
        **extra,
    }
    # User ids are kept aside in a private column until the global uniqueness check.
    if data.id_column:
        columns["__user_id"] = _string_column(table, data.id_column, path, "data.id_column")
    return pa.table(columns)


def _require_columns(data: DataConfig, path: Path, table: pa.Table, split_fixed: bool) -> None:
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


def _splits(
    data: DataConfig, fixed: str | None, path: Path, table: pa.Table, label: pa.ChunkedArray
) -> pa.Array:
    n = table.num_rows
    is_unlabelled = pc.is_null(label).to_pylist()
    if fixed is not None:
        raw = [fixed] * n
    elif data.split_column:
        raw = _string_column(table, data.split_column, path, "data.split_column").to_pylist()
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


def _check_labels(data: DataConfig, manifest: pa.Table, where: str) -> None:
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


def _sample_ids(data: DataConfig, manifest: pa.Table, where: str) -> pa.Array:
    if data.id_column:
        user_ids = manifest.column("__user_id")
        missing = _null_rows(user_ids)
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


def _image_base(cfg: Config, path: Path, fmt: str) -> Path:
    if cfg.data.image_root:
        return cfg.path(cfg.data.image_root)
    return path if fmt == "image_folder" else path.parent


def _image_folders(cfg: Config, base: Path, fmt: str) -> dict[Path, str]:
    """Where a source's images may live: the workspace, and the folder its relative paths
    resolve against (``data.image_root``, the image folder itself, or the table's folder),
    which ``curate init`` makes a dependency of the ingest stage."""
    if cfg.data.image_root:
        name = "data.image_root"
    elif fmt == "image_folder":
        name = "the image folder source"
    else:
        name = "the table's folder"
    if base.resolve() == cfg.root.resolve():
        return {cfg.root: "the workspace"}
    return {cfg.root: "the workspace", base: name}


def _ingest_dependencies(root: Path) -> list[Path] | None:
    """The ingest stage's dependencies in ``root/dvc.yaml``, resolved; None when there is no
    such pipeline to check (a workspace driven without DVC)."""
    import yaml

    try:
        pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
        deps = pipeline["stages"]["ingest"].get("deps") or []
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None
    return [(root / dep).resolve() for dep in deps if isinstance(dep, str)]


# -- helpers ----------------------------------------------------------------------------------


def _string_column(table: pa.Table, name: str, path: Path, key: str) -> pa.ChunkedArray:
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
    return _as_string(column)


def _as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
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


def _clean_labels(column: pa.ChunkedArray) -> tuple[pa.Array, int]:
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


def _majority_vote(columns: list[pa.ChunkedArray]) -> pa.Array:
    """Most frequent label per row; ties go to the earliest annotator column's label."""
    rows = zip(*(c.to_pylist() for c in columns), strict=True)
    given = ([v for v in row if v is not None] for row in rows)
    return pa.array([annotation.majority(g) if g else None for g in given], pa.string())


def _null_rows(column: pa.ChunkedArray) -> list[int]:
    values = column.to_pylist()
    return [i for i, v in enumerate(values) if v is None or (isinstance(v, str) and not v.strip())]


def _describe_sources(cfg: Config) -> str:
    return ", ".join(str(cfg.path(s.path)) for s in cfg.data.sources)
