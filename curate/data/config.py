"""Settings of the data contract (section ``data``): where the data is and which columns mean
what. ``curate init`` writes this section from the columns it finds (configs/data.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from curate.settings import invalid

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config

Modality = Literal["text", "image", "tabular", "embedding"]
SourceFormat = Literal["auto", "csv", "tsv", "parquet", "jsonl", "image_folder"]
SPLITS = ("train", "validation", "test", "unlabeled")


@dataclass(frozen=True)
class SourceConfig:
    """One input file or folder."""

    path: str
    format: SourceFormat = "auto"
    #: CSV/TSV only: whether the first line holds the column names.
    header: bool = True
    #: CSV/TSV only: names for the columns of a headerless file (in file order).
    column_names: tuple[str, ...] | None = None
    #: Assign this split to every row of this source (overrides ``data.split_column``).
    split: str | None = None


@dataclass(frozen=True)
class AnnotationsConfig:
    """A long table of per-annotator labels: one row per (sample, annotator, label)."""

    path: str
    format: SourceFormat = "auto"
    id_column: str = "sample_id"
    annotator_column: str = "annotator"
    label_column: str = "label"


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and which columns mean what (section ``data``)."""

    sources: tuple[SourceConfig, ...]
    modality: Modality = "text"
    #: Column holding the text, the image path or the precomputed embedding.
    input_column: str | None = "text"
    #: Tabular modality: the feature columns.
    feature_columns: tuple[str, ...] = ()
    #: Optional user id column; ids must be unique. Without it ids derive from content.
    id_column: str | None = None
    #: Label column; ``null`` means every row belongs to the unlabelled pool.
    label_column: str | None = "label"
    split_column: str | None = None
    #: Map raw split values onto train / validation / test / unlabeled, e.g. {val: validation}.
    split_values: dict[str, str] = field(default_factory=dict)
    #: Multi-annotator data: one label column per annotator (blank = not labelled by them).
    #: With ``label_column: null`` the label is the annotators' majority vote.
    annotator_columns: tuple[str, ...] = ()
    #: Or a separate long table of annotations, joined by ``id_column``.
    annotations: AnnotationsConfig | None = None
    #: Columns carried through to the manifest untouched (annotator, source, timestamp ...).
    metadata_columns: tuple[str, ...] = ()
    #: Optional declared class list; labels outside it are errors.
    classes: tuple[str, ...] | None = None
    #: Base folder for relative image paths (default: the folder of the source file).
    image_root: str | None = None
    #: Embedding modality: the expected vector dimension (checked when set).
    embedding_dim: int | None = None

    def validate(self, cfg: Config) -> None:
        if not self.sources:
            invalid("data.sources", "data.sources is empty. List at least one file or folder.")
        for value in self.split_values.values():
            if value not in SPLITS:
                invalid(
                    "data.split_values",
                    f"data.split_values maps onto {value!r}; "
                    f"targets must be one of {', '.join(SPLITS)}.",
                )
        for i, src in enumerate(self.sources):
            if src.split is not None and src.split not in SPLITS:
                invalid(
                    "data.sources",
                    f"data.sources[{i}].split is {src.split!r}; "
                    f"expected one of {', '.join(SPLITS)}.",
                )
        if self.annotations is not None and self.annotator_columns:
            invalid(
                "data.annotations",
                "set either data.annotator_columns (one column per annotator) or "
                "data.annotations (a long table), not both.",
            )
        if self.modality == "tabular" and not self.feature_columns:
            invalid(
                "data.feature_columns",
                "data.modality is 'tabular' but data.feature_columns is empty. "
                "List the feature columns.",
            )
        if self.modality != "tabular" and not self.input_column:
            invalid(
                "data.input_column",
                f"data.modality is {self.modality!r} but data.input_column is not set. "
                "Name the column holding the text, image path or embedding.",
            )
