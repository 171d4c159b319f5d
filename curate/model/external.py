"""Bring-your-own-model: read and validate a user's out-of-sample ``pred_probs`` file.

Accepted layouts (CSV, Parquet or JSON Lines), aligned by ``sample_id``:

* **wide**: a ``sample_id`` column and one column per class, named exactly like the labels;
* **list**: a ``sample_id`` column and a ``pred_probs`` list column whose class order is given
  by ``predict.pred_probs_classes`` (or by curate's own schema metadata).

Every labelled sample must be present; unlabelled-pool rows are optional. Probabilities must be
finite, non-negative, and each row must sum to 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.config import SourceConfig
from curate.data.sources import read_source
from curate.errors import MAX_LISTED, DataError, fmt_rows

TOLERANCE = 1e-3


def read_pred_probs(
    path: Path,
    sample_ids: list[str],
    labels: list[str | None],
    classes_hint: tuple[str, ...] | None,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Return ``(classes, pred_probs, present)`` aligned with ``sample_ids``.

    ``present`` marks the samples the file covers (every labelled one is required).
    """
    if not path.is_file():
        raise DataError(
            f"pred_probs file {path} does not exist. Check predict.pred_probs_file in "
            "configs/predict.yaml (a relative path is relative to the workspace), or set it to "
            "null to let curate train its own model."
        )
    # sample_id is read as a string, byte for byte; the class columns as numbers.
    table = read_source(
        SourceConfig(path=str(path)),
        path,
        typed=lambda name: name != "sample_id",
        setting="predict.pred_probs_file in configs/predict.yaml",
    )
    if "sample_id" not in table.column_names:
        raise DataError(
            f"pred_probs file {path} has no 'sample_id' column; columns are: "
            f"{', '.join(table.column_names)}. Align your predictions by curate's sample_id "
            "(from manifest/manifest.parquet)."
        )
    data_classes = sorted({lab for lab in labels if lab is not None})
    classes, matrix = _matrix(path, table, classes_hint)
    unknown = [c for c in classes if c not in data_classes]
    missing = [c for c in data_classes if c not in classes]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"classes not in the data: {_names(unknown)}")
        if missing:
            parts.append(f"data classes missing from the file: {_names(missing)}")
        raise DataError(
            f"pred_probs file {path} does not match the dataset's classes ({'; '.join(parts)}). "
            f"The data's classes are: {_names(data_classes)}. Give one probability per class, "
            "named exactly like the labels."
        )
    _check_values(path, matrix)

    ids = table.column("sample_id").cast(pa.string()).to_pylist()
    position = {sid: i for i, sid in enumerate(sample_ids)}
    strangers = [sid for sid in ids if sid not in position]
    if strangers:
        raise DataError(
            f"pred_probs file {path} has {len(strangers)} sample_id(s) not in the manifest, e.g. "
            f"{_names(strangers)}. Use the ids from manifest/manifest.parquet."
        )
    order = [data_classes.index(c) for c in classes]
    out = np.zeros((len(sample_ids), len(data_classes)), np.float32)
    present = np.zeros(len(sample_ids), bool)
    rows = np.array([position[sid] for sid in ids], np.int64)
    out[rows[:, None], np.array(order)[None, :]] = matrix
    present[rows] = True
    absent = [
        sid
        for sid, lab, p in zip(sample_ids, labels, present, strict=True)
        if lab is not None and not p
    ]
    if absent:
        raise DataError(
            f"pred_probs file {path} misses {len(absent)} labelled sample(s), e.g. "
            f"{_names(absent)}. Every labelled sample needs out-of-sample probabilities."
        )
    return tuple(data_classes), out, present


def _matrix(
    path: Path, table: pa.Table, classes_hint: tuple[str, ...] | None
) -> tuple[tuple[str, ...], np.ndarray]:
    if "pred_probs" in table.column_names:
        meta = table.schema.metadata or {}
        if classes_hint is None and b"classes" in meta:
            classes_hint = tuple(json.loads(meta[b"classes"]))
        if classes_hint is None:
            raise DataError(
                f"pred_probs file {path} has a 'pred_probs' list column but no class order. Set "
                "predict.pred_probs_classes in configs/predict.yaml, or use one column per class."
            )
        values = table.column("pred_probs").to_pylist()
        wrong = [i for i, v in enumerate(values) if v is None or len(v) != len(classes_hint)]
        if wrong:
            found = len(values[wrong[0]]) if values[wrong[0]] is not None else "empty"
            raise DataError(
                f"pred_probs file {path} has the wrong shape: row(s) {fmt_rows(wrong)} hold "
                f"{found} probabilities, expected {len(classes_hint)} (one per class in "
                "predict.pred_probs_classes)."
            )
        return classes_hint, np.asarray(values, np.float64).reshape(len(values), -1)
    class_cols = [c for c in table.column_names if c != "sample_id"]
    if not class_cols:
        raise DataError(
            f"pred_probs file {path} has no probability columns. Add one column per class, or a "
            "'pred_probs' list column."
        )
    try:
        matrix = np.column_stack(
            [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in class_cols]
        )
    except (TypeError, ValueError, pa.ArrowInvalid):
        raise DataError(
            f"pred_probs file {path} has non-numeric values in its class columns "
            f"({_names(class_cols)}). Store probabilities as numbers."
        ) from None
    return tuple(class_cols), matrix


def _check_values(path: Path, matrix: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1) | (matrix < 0).any(axis=1))
    if len(bad):
        raise DataError(
            f"pred_probs file {path} has NaN, infinite or negative probabilities on {len(bad)} "
            f"row(s) (rows {fmt_rows(bad.tolist())}). Fix or recompute them."
        )
    sums = matrix.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > TOLERANCE)
    if len(off):
        raise DataError(
            f"pred_probs file {path}: rows must sum to 1, but {len(off)} row(s) do not (rows "
            f"{fmt_rows(off.tolist())}; first sums to {sums[off[0]]:.4f}). Pass probabilities "
            "(e.g. softmax outputs), not logits or scores."
        )


def _names(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_LISTED])
    return shown + (", ..." if len(values) > MAX_LISTED else "")
