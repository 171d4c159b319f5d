"""What ``curate init`` learns about the user's data: column roles guessed from common names,
the data spec written to configs/data.yaml, and what the ingest stage depends on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curate.config import SourceConfig
from curate.data.sources import read_source, resolve_format
from curate.errors import ConfigError

TEXT_COLUMNS = ("text", "sentence", "content", "message", "query", "input", "document")
IMAGE_COLUMNS = ("image", "image_path", "path", "file", "filename", "filepath")
LABEL_COLUMNS = ("label", "labels", "category", "intent", "class", "target", "y")
ID_COLUMNS = ("sample_id", "id", "uid", "uuid")
SPLIT_COLUMNS = ("split", "subset", "fold")


@dataclass
class DataSpec:
    """What ``curate init`` learned or was told about the user's data."""

    sources: list[dict[str, Any]]
    modality: str
    input_column: str | None
    label_column: str | None
    id_column: str | None = None
    split_column: str | None = None
    feature_columns: list[str] = field(default_factory=list)
    metadata_columns: list[str] = field(default_factory=list)
    split_values: dict[str, str] = field(default_factory=dict)
    classes: list[str] | None = None
    image_root: str | None = None

    def to_yaml(self) -> str:
        # Keys a stage declares as a DVC param (dvc.yaml) are always written: DVC refuses a
        # declared key that is missing from the file.
        data: dict[str, Any] = {"sources": self.sources, "modality": self.modality}
        data["feature_columns"] = self.feature_columns
        data["input_column"] = None if self.modality == "tabular" else self.input_column
        data["label_column"] = self.label_column
        data["id_column"] = self.id_column
        data["split_column"] = self.split_column
        if self.split_values:
            data["split_values"] = self.split_values
        data["metadata_columns"] = self.metadata_columns
        data["classes"] = self.classes
        if self.image_root:
            data["image_root"] = self.image_root
        header = (
            "# Where the data is and which columns mean what. See README.md, 'Data contract'.\n"
            "# label_column: null makes every row part of the unlabelled pool; rows with an\n"
            "# empty label are always in the pool. classes: null takes the labels found.\n"
        )
        return header + yaml.safe_dump({"data": data}, sort_keys=False)


def data_dependencies(spec: DataSpec, root: Path | None = None) -> list[str]:
    """What the ingest stage depends on: every source, plus the image folders for image data.

    Image tables reference files by path, so the folder holding them is a dependency too:
    ``image_root`` when set, otherwise the folder of each table source. A table in the
    workspace itself (or above it) cannot make that folder a dependency, since the stage's
    outputs live there: the folders of the images it lists are the dependencies instead.
    """
    deps = [s["path"] for s in spec.sources]
    if spec.modality == "image":
        if spec.image_root:
            deps.append(spec.image_root)
        else:
            for source in spec.sources:
                path = Path(source["path"])
                if not path.suffix:
                    continue  # an image folder: already a dependency as a source
                found = [str(path.parent)]
                if root is not None:
                    folder = (root / path).parent.resolve()
                    if root.resolve().is_relative_to(folder):
                        found = _image_folders(root, source, spec.input_column)
                elif str(path.parent) in (".", ""):
                    found = []
                deps += [d for d in found if d not in deps]
    return deps


def _image_folders(root: Path, source: dict[str, Any], column: str | None) -> list[str]:
    """The top-level folders (or files) under ``root`` holding the images a table lists, and
    the folders of any listed outside it."""
    table_path = (root / source["path"]).resolve()
    src = SourceConfig(
        path=str(table_path),
        format=source.get("format", "auto"),
        header=source.get("header", True),
        column_names=tuple(source["column_names"]) if source.get("column_names") else None,
    )
    table = read_source(src, table_path)
    if column is None or column not in table.column_names:
        return []
    root = root.resolve()
    found: list[str] = []
    for value in table.column(column).to_pylist():
        if not value:
            continue
        file = (table_path.parent / str(value)).resolve()
        if file.is_relative_to(root):
            parts = file.relative_to(root).parts
            dep = parts[0] if parts else "."
        else:
            dep = str(file.parent)
        if dep not in found and dep != ".":
            found.append(dep)
    return found


def infer_data_spec(
    root: Path,
    data: Sequence[str],
    *,
    modality: str | None = None,
    input_column: str | None = None,
    label_column: str | None = None,
    no_label: bool = False,
    id_column: str | None = None,
    split_column: str | None = None,
    feature_columns: Sequence[str] = (),
    metadata_columns: Sequence[str] = (),
    header: bool = True,
    column_names: Sequence[str] | None = None,
    fmt: str = "auto",
) -> DataSpec:
    """Build a data spec from ``--data`` arguments (``[SPLIT=]PATH``), guessing column roles.

    Guesses are made only where the user gave nothing, from common column names; anything
    that cannot be guessed is an error that says which option to pass.
    """
    if not data:
        raise ConfigError("no data given. Pass --data PATH (repeat it, or use SPLIT=PATH).")
    sources: list[dict[str, Any]] = []
    first_columns: list[str] | None = None
    for item in data:
        split, sep, raw_path = item.partition("=")
        if not sep:
            split, raw_path = None, item
        path = Path(raw_path).expanduser().resolve()
        source: dict[str, Any] = {"path": _relative_to(path, root)}
        if fmt != "auto":
            source["format"] = fmt
        if not header:
            source["header"] = False
        if column_names:
            source["column_names"] = list(column_names)
        if split:
            source["split"] = split
        sources.append(source)
        if first_columns is None:
            src = SourceConfig(
                path=str(path),
                format=fmt,  # type: ignore[arg-type]
                header=header,
                column_names=tuple(column_names) if column_names else None,
            )
            if resolve_format(src, path) == "image_folder":
                modality = modality or "image"
                input_column = input_column or "path"
                label_column = label_column or "label"
                first_columns = ["path", "label"]
            else:
                first_columns = read_source(src, path).column_names

    assert first_columns is not None
    where = data[0].partition("=")[2] or data[0]
    if feature_columns:
        modality = modality or "tabular"
    if input_column is None and modality != "tabular":
        candidates = IMAGE_COLUMNS if modality == "image" else TEXT_COLUMNS
        if modality is None:
            candidates = TEXT_COLUMNS + IMAGE_COLUMNS
        input_column = _pick(first_columns, candidates)
        if input_column is None:
            raise ConfigError(
                f"cannot tell which column of {where} holds the inputs; columns are: "
                f"{', '.join(first_columns)}. Pass --input-column NAME (or --feature-column "
                "for tabular data)."
            )
    if modality is None:
        modality = "image" if input_column in IMAGE_COLUMNS else "text"
    if no_label:
        label_column = None
    elif label_column is None:
        label_column = _pick(first_columns, LABEL_COLUMNS)
        if label_column is None:
            raise ConfigError(
                f"cannot tell which column of {where} holds the labels; columns are: "
                f"{', '.join(first_columns)}. Pass --label-column NAME, or --no-label for an "
                "unlabelled dataset."
            )
    if id_column is None:
        id_column = _pick(first_columns, ID_COLUMNS)
    if split_column is None and not any("split" in s for s in sources):
        split_column = _pick(first_columns, SPLIT_COLUMNS)
    return DataSpec(
        sources=sources,
        modality=modality,
        input_column=input_column,
        label_column=label_column,
        id_column=id_column,
        split_column=split_column,
        feature_columns=list(feature_columns),
        metadata_columns=list(metadata_columns),
    )


def _pick(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lower:
            return lower[name]
    return None


def _relative_to(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)
