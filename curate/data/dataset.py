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
(:func:`curate.data.validate.as_string`), and nested values (lists, structs) in the text, image
path, label, id, split and annotator columns are refused. The checks of columns, labels, splits
and ids live in :mod:`curate.data.validate`; this module reads the sources and builds the
manifest from them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.compute import uses_ray
from curate.config import Config
from curate.data import annotation
from curate.data.content import content_hash, embedding_matrix, hash_images, hash_rows
from curate.data.sources import read_parquet_shards, read_source, resolve_format
from curate.data.validate import MANIFEST_COLUMNS as MANIFEST_COLUMNS
from curate.data.validate import (
    as_string,
    assign_splits,
    check_labels,
    clean_labels,
    null_rows,
    require_columns,
    sample_ids,
    string_column,
)
from curate.errors import DataError, fmt_rows


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
    shard_reader = read_parquet_shards
    if uses_ray(cfg):  # Parquet shards read in parallel on the cluster
        from curate.compute.ray_ingest import ray_shard_reader

        shard_reader = ray_shard_reader(cfg.compute)
    for i, source in enumerate(data.sources):
        path = cfg.path(source.path)
        typed = set(data.feature_columns) if data.modality == "tabular" else set()
        table = read_source(source, path, typed=typed.__contains__, shard_reader=shard_reader)
        if table.num_rows == 0:
            require_columns(data, path, table, split_fixed=source.split is not None)
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
    check_labels(data, manifest, where)
    ids = sample_ids(data, manifest, where)
    manifest = manifest.set_column(0, "sample_id", ids)
    # Drop the private bookkeeping columns.
    manifest = manifest.drop_columns([c for c in manifest.column_names if c.startswith("__")])
    return manifest, annotation.annotation_table(cfg, manifest, long), notes


def _unify_metadata(parts: list[pa.Table], names: tuple[str, ...]) -> list[pa.Table]:
    """A flat metadata column that is strings in one source (CSV reads it so) and another
    type in another (Parquet numbers) becomes strings everywhere, by :func:`as_string`."""
    for name in names:
        types = {part.schema.field(name).type for part in parts if name in part.column_names}
        if (
            len(types) < 2
            or not any(pa.types.is_string(t) or pa.types.is_large_string(t) for t in types)
            or any(pa.types.is_nested(t) for t in types)
        ):
            continue
        parts = [
            part.set_column(part.column_names.index(name), name, as_string(part.column(name)))
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
    require_columns(data, path, table, split_fixed=source.split is not None)
    n = table.num_rows
    fmt = resolve_format(source, path)

    annotators = {}
    for name in data.annotator_columns:
        column = string_column(table, name, path, "data.annotator_columns")
        annotators[name], stripped = clean_labels(column)
        notes["annotator_labels_stripped"] += stripped
    if data.label_column:
        column = string_column(table, data.label_column, path, "data.label_column")
        label, stripped = clean_labels(column)
        notes["labels_stripped"] += stripped
    elif annotators:
        label = _majority_vote(list(annotators.values()))
    elif votes is not None:
        user_ids = string_column(table, data.id_column, path, "data.id_column").to_pylist()
        label = pa.array([votes.get(uid) for uid in user_ids], pa.string())
    else:
        label = pa.nulls(n, pa.string())

    extra: dict[str, pa.ChunkedArray | pa.Array] = {}
    if data.modality == "text":
        text = string_column(table, data.input_column, path, "data.input_column")
        missing = null_rows(text)
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
        rel_paths = string_column(table, data.input_column, path, "data.input_column")
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

    split = assign_splits(data, source.split, path, table, label)
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
        columns["__user_id"] = string_column(table, data.id_column, path, "data.id_column")
    return pa.table(columns)


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


def _majority_vote(columns: list[pa.ChunkedArray]) -> pa.Array:
    """Most frequent label per row; ties go to the earliest annotator column's label."""
    rows = zip(*(c.to_pylist() for c in columns), strict=True)
    given = ([v for v in row if v is not None] for row in rows)
    return pa.array([annotation.majority(g) if g else None for g in given], pa.string())


def _describe_sources(cfg: Config) -> str:
    return ", ".join(str(cfg.path(s.path)) for s in cfg.data.sources)
