"""Readers for the supported source formats, each returning a ``pyarrow.Table``.

CSV, TSV (with or without header), Parquet, JSON Lines and image folders
(``<root>/<class>/<file>``). Every failure is a :class:`~curate.errors.DataError` that names
the file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
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


def resolve_format(source: SourceConfig, path: Path) -> str:
    """The source's format: explicit, or inferred from the suffix (a folder is an image folder)."""
    if source.format != "auto":
        return source.format
    if path.is_dir():
        return "image_folder"
    fmt = _BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot tell the format of {path} from its suffix {path.suffix!r}. "
            "Set format (csv, tsv, parquet, jsonl or image_folder) on this source in "
            "configs/data.yaml."
        )
    return fmt


def read_source(source: SourceConfig, path: Path) -> pa.Table:
    """Read one source into a table. ``path`` is the resolved location of ``source.path``."""
    if not path.exists():
        raise DataError(
            f"data source {path} does not exist. Check data.sources[].path in "
            "configs/data.yaml (relative paths are relative to the workspace)."
        )
    fmt = resolve_format(source, path)
    if fmt == "image_folder":
        return _read_image_folder(path)
    if path.is_dir():
        raise DataError(f"data source {path} is a folder, but its format is {fmt!r}.")
    try:
        if fmt in ("csv", "tsv"):
            table = _read_delimited(source, path, "," if fmt == "csv" else "\t")
        elif fmt == "parquet":
            return pq.read_table(path)
        else:
            table = pajson.read_json(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"cannot read {path} as {fmt}: {_first_line(exc)}. Check that the file is a complete, "
            f"valid {fmt} file, or set the right format on this source in configs/data.yaml."
        ) from None
    # Arrow reads text that is not valid UTF-8 as binary; refuse rather than store bytes.
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type)]
    if binary:
        raise DataError(
            f"{path}: column(s) {', '.join(binary)} are not valid UTF-8 text. Re-save the file "
            "as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        )
    return table


def _read_delimited(source: SourceConfig, path: Path, delimiter: str) -> pa.Table:
    names = list(source.column_names) if source.column_names else None
    if source.header and names:
        raise DataError(
            f"{path}: column_names is set but header is true. Set header: false for a file "
            "without a header line, or drop column_names to use the header."
        )
    read = pacsv.ReadOptions(
        column_names=names, autogenerate_column_names=not source.header and not names
    )
    # TSV exports rarely quote fields and often contain stray quote characters in text.
    parse = pacsv.ParseOptions(delimiter=delimiter, quote_char='"' if delimiter == "," else False)
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    if names is None and not source.header:
        # Arrow names them f0, f1, ...; document them as column_0, column_1, ...
        table = table.rename_columns([f"column_{i}" for i in range(table.num_columns)])
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
