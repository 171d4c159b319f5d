"""Readers for the supported source formats, each returning a ``pyarrow.Table``.

CSV, TSV (with or without header), Parquet, JSON Lines and image folders
(``<root>/<class>/<file>``). Every failure is a :class:`~curate.errors.DataError` that names
the file.

CSV and TSV cells are read as strings, byte for byte: no type guessing (``01`` stays ``01``,
``0.10`` stays ``0.10``) and no null tokens (``NA``, ``null``, ``nan`` are values). An empty
cell reads as an empty string. Only the columns a caller names as ``typed`` (tabular
features, predicted probabilities) get Arrow's type inference and its null tokens. CSV follows
RFC 4180 at any size: quoted fields may span lines, and a row may be longer than Arrow's
read block.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from curate.config import SourceConfig
from curate.errors import DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: Columns produced by the image-folder reader.
IMAGE_FOLDER_COLUMNS = ("path", "label")
#: Where a data source is configured, for error messages.
DATA_SOURCE_SETTING = "data.sources[].path in configs/data.yaml"
#: Arrow's CSV read block; a longer row triggers one re-read with a block that holds the file.
BLOCK_SIZE = 8 << 20
#: Arrow's block size is a 32-bit integer.
_MAX_BLOCK_SIZE = (1 << 31) - 1


def resolve_format(source: SourceConfig, path: Path) -> str:
    """The source's format: explicit, or inferred from the suffix (a folder of ``*.parquet``
    files is a sharded Parquet dataset, any other folder an image folder)."""
    if source.format != "auto":
        return source.format
    if path.is_dir():
        return "parquet" if parquet_shards(path) else "image_folder"
    fmt = _BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot tell the format of {path} from its suffix {path.suffix!r}. "
            "Set format (csv, tsv, parquet, jsonl or image_folder) on this source in "
            "configs/data.yaml."
        )
    return fmt


def parquet_shards(folder: Path) -> list[Path]:
    """The ``*.parquet`` files directly in ``folder``, in name order (the dataset's row
    order: shard by shard, each in its own order)."""
    return sorted(p for p in folder.glob("*.parquet") if p.is_file())


def read_parquet_shards(files: list[Path]) -> pa.Table:
    """The shards one after the other (their schemas unified), read in this process."""
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")


def read_source(
    source: SourceConfig,
    path: Path,
    *,
    typed: Callable[[str], bool] | None = None,
    setting: str = DATA_SOURCE_SETTING,
    shard_reader: Callable[[list[Path]], pa.Table] = read_parquet_shards,
) -> pa.Table:
    """Read one source into a table. ``path`` is the resolved location of ``source.path``.

    CSV/TSV columns are strings unless ``typed(name)`` is true, in which case Arrow infers
    the column's type. ``setting`` names where the path is configured, for error messages.
    A folder of Parquet shards is read by ``shard_reader`` (in parallel on a Ray cluster).
    """
    if not path.exists():
        raise DataError(
            f"data source {path} does not exist. Check {setting} "
            "(relative paths are relative to the workspace)."
        )
    fmt = resolve_format(source, path)
    if fmt == "image_folder":
        return _read_image_folder(path)
    if path.is_dir() and fmt == "parquet":
        files = parquet_shards(path)
        if not files:
            raise DataError(
                f"data source {path} is a folder with no *.parquet file in it. Point {setting} "
                "at a folder of Parquet shards, or at one file."
            )
        try:
            return shard_reader(files)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
            raise DataError(
                f"cannot read the Parquet shards in {path}: {_first_line(exc)}. Check that "
                f"every *.parquet file there is complete and has the same columns ({setting})."
            ) from None
    if path.is_dir():
        raise DataError(f"data source {path} is a folder, but its format is {fmt!r}.")
    try:
        if fmt in ("csv", "tsv"):
            table = _read_delimited(source, path, "," if fmt == "csv" else "\t", typed)
        elif fmt == "parquet":
            return pq.read_table(path)
        else:
            table = pajson.read_json(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"cannot read {path} as {fmt}: {_first_line(exc)}. Check that the file is a complete, "
            f"valid {fmt} file, or set the right format for it ({setting})."
        ) from None
    # Arrow reads text that is not valid UTF-8 as binary; refuse rather than store bytes.
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type)]
    if binary:
        raise _not_utf8(path, f"column(s) {', '.join(binary)}")
    return table


def _read_delimited(
    source: SourceConfig, path: Path, delimiter: str, typed: Callable[[str], bool] | None
) -> pa.Table:
    names = list(source.column_names) if source.column_names else None
    if source.header and names:
        raise DataError(
            f"{path}: column_names is set but header is true. Set header: false for a file "
            "without a header line, or drop column_names to use the header."
        )
    quoted = delimiter == ","
    autogenerate = not source.header and not names
    first = _first_record(path, delimiter, quoted)
    if names is not None:
        arrow_names = names
    elif autogenerate:
        arrow_names = [f"f{i}" for i in range(len(first))]
    else:
        arrow_names = first
    # Every column is a string unless the caller lets Arrow infer it; typed columns keep
    # Arrow's null tokens (NA, nan, ...), string columns have none.
    user_names = [f"column_{i}" for i in range(len(arrow_names))] if autogenerate else arrow_names
    kept = [
        (arrow, user)
        for arrow, user in zip(arrow_names, user_names, strict=True)
        if typed is None or not typed(user)
    ]
    convert = pacsv.ConvertOptions(
        column_types={arrow: pa.string() for arrow, _ in kept}, strings_can_be_null=False
    )
    # TSV exports rarely quote fields and often contain stray quote characters in text.
    parse = pacsv.ParseOptions(
        delimiter=delimiter, quote_char='"' if quoted else False, newlines_in_values=quoted
    )

    def read(block_size: int) -> pa.Table:
        options = pacsv.ReadOptions(
            column_names=names, autogenerate_column_names=autogenerate, block_size=block_size
        )
        return pacsv.read_csv(
            path, read_options=options, parse_options=parse, convert_options=convert
        )

    try:
        try:
            table = read(BLOCK_SIZE)
        except pa.ArrowInvalid as exc:
            # A row longer than the block: read again with one block that holds the whole file.
            size = path.stat().st_size + 1
            if "straddling" not in str(exc) or size <= BLOCK_SIZE:
                raise
            table = read(min(size, _MAX_BLOCK_SIZE))
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower():
            raise _not_utf8(path, "the file") from None
        raise
    if autogenerate:
        # Arrow names them f0, f1, ...; document them as column_0, column_1, ...
        table = table.rename_columns(user_names[: table.num_columns])
    if typed is not None:
        table = _typed_string_nulls(table, {user for _, user in kept})
    return table


def _first_record(path: Path, delimiter: str, quoted: bool) -> list[str]:
    """The first record of a delimited file (its header, or the first row), per RFC 4180."""
    limit = csv.field_size_limit(_MAX_BLOCK_SIZE)  # a field may be of any length
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(
                f,
                delimiter=delimiter,
                quotechar='"',
                quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
                strict=False,
            )
            return next(reader, [])
    except UnicodeDecodeError:
        raise _not_utf8(path, "the file") from None
    except csv.Error as exc:
        raise DataError(
            f"cannot read the first line of {path}: {exc}. Check that the file is a complete, "
            "valid delimited file."
        ) from None
    finally:
        csv.field_size_limit(limit)


def _not_utf8(path: Path, what: str) -> DataError:
    return DataError(
        f"{path}: {what} is not valid UTF-8 text. Re-save the file as UTF-8 "
        "(e.g. `iconv -f latin1 -t utf-8`)."
    )


def _typed_string_nulls(table: pa.Table, strings: set[str]) -> pa.Table:
    """A typed column Arrow still read as strings holds categories: its null tokens (NA, an
    empty cell, ...) are missing values, as Arrow's inference would have made them."""
    tokens = pa.array(pacsv.ConvertOptions().null_values, pa.string())
    for i, field in enumerate(table.schema):
        if field.name in strings or not pa.types.is_string(field.type):
            continue
        column = table.column(i)
        table = table.set_column(i, field, pc.if_else(pc.is_in(column, tokens), None, column))
    return table


def _read_image_folder(root: Path) -> pa.Table:
    paths: list[str] = []
    labels: list[str] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in sorted(class_dir.rglob("*")):
            if file.is_file() and file.suffix.lower() in IMAGE_EXTENSIONS:
                paths.append(str(file.relative_to(root)))
                labels.append(class_dir.name)
    return pa.table({"path": pa.array(paths, pa.string()), "label": pa.array(labels, pa.string())})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__
