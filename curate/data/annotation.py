"""Per-annotator labels, in either layout, normalised to one long table.

* wide: ``data.annotator_columns`` names one label column per annotator in the data itself;
* long: ``data.annotations`` points at a separate table of (id, annotator, label) rows, joined
  to the data by ``data.id_column``.

Ingest writes both as ``manifest/annotations.parquet`` with columns ``sample_id``, ``annotator``,
``label`` (one row per given annotation), which is all the label stage reads. When the data has
no label column, a sample's label is its annotators' majority vote; ties go to the label given
first (leftmost column, or earliest row of the long table).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow as pa

from curate.config import Config, SourceConfig
from curate.data.sources import read_source
from curate.errors import ConfigError, DataError

SCHEMA = pa.schema([("sample_id", pa.string()), ("annotator", pa.string()), ("label", pa.string())])


def read_long(cfg: Config) -> pa.Table | None:
    """The validated long annotations table of ``data.annotations``, or None if not configured."""
    spec = cfg.data.annotations
    if spec is None:
        return None
    if not cfg.data.id_column:
        raise ConfigError(
            "data.annotations needs data.id_column: the annotations are joined to the data by "
            "your sample ids. Set data.id_column in configs/data.yaml."
        )
    path = cfg.path(spec.path)
    table = read_source(
        SourceConfig(path=spec.path, format=spec.format),
        path,
        setting="data.annotations.path in configs/data.yaml",
    )
    for key in ("id_column", "annotator_column", "label_column"):
        name = getattr(spec, key)
        if name not in table.column_names:
            raise DataError(
                f"annotations column '{name}' not found in {path}; columns are: "
                f"{', '.join(table.column_names)}. Set data.annotations.{key} in configs/data.yaml."
            )
    cols = [spec.id_column, spec.annotator_column, spec.label_column]
    rows = zip(*(table.column(c).cast(pa.string()).to_pylist() for c in cols), strict=True)
    kept = [(s, a, lab.strip()) for s, a, lab in rows if lab is not None and lab.strip()]
    pairs = Counter((s, a) for s, a, _ in kept)
    repeated = [f"{s}/{a}" for (s, a), c in pairs.items() if c > 1]
    if repeated:
        raise DataError(
            f"{path}: {len(repeated)} (sample, annotator) pair(s) appear more than once, e.g. "
            f"{', '.join(repeated[:5])}. Keep one label per annotator per sample."
        )
    return pa.Table.from_pylist(
        [{"sample_id": s, "annotator": a, "label": lab} for s, a, lab in kept], schema=SCHEMA
    )


def votes_by_id(long: pa.Table) -> dict[str, str]:
    """Majority label per sample id of a long table."""
    given: dict[str, list[str]] = defaultdict(list)
    for sid, label in zip(
        long.column("sample_id").to_pylist(), long.column("label").to_pylist(), strict=True
    ):
        given[sid].append(label)
    return {sid: majority(labels) for sid, labels in given.items()}


def majority(labels: list[str]) -> str:
    counts = Counter(labels)
    return max(labels, key=lambda v: (counts[v], -labels.index(v)))


def annotation_table(cfg: Config, manifest: pa.Table, long: pa.Table | None) -> pa.Table:
    """Both layouts as one long table aligned to the manifest's sample ids."""
    ids = manifest.column("sample_id").to_pylist()
    if long is not None:
        known = set(ids)
        strangers = sorted({s for s in long.column("sample_id").to_pylist() if s not in known})
        if strangers:
            raise DataError(
                f"{cfg.path(cfg.data.annotations.path)} has annotations for {len(strangers)} "
                f"sample id(s) not in the data, e.g. {', '.join(map(repr, strangers[:5]))}. "
                "Use the ids of data.id_column."
            )
        return long
    rows = [
        {"sample_id": sid, "annotator": a, "label": lab}
        for a in cfg.data.annotator_columns
        for sid, lab in zip(ids, manifest.column(a).to_pylist(), strict=True)
        if lab is not None
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def pivot(long: pa.Table, sample_ids: list[str]) -> dict[str, list[str | None]]:
    """Long table -> annotator -> labels aligned with ``sample_ids`` (None where not given)."""
    position = {sid: i for i, sid in enumerate(sample_ids)}
    out: dict[str, list[str | None]] = {}
    for sid, annotator, label in zip(*(c.to_pylist() for c in long.columns), strict=True):
        out.setdefault(annotator, [None] * len(sample_ids))[position[sid]] = label
    return out
