"""Stage ``queue``: every check's findings -> the prioritised review queue."""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import load_config
from curate.data.manifest import read_artifact, read_manifest, require_aligned
from curate.model.predict import classes_of
from curate.review import queue as q


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict")
    require_aligned(predictions, manifest, layout.PRED_PROBS, "predict")
    findings = [
        q.label_findings(read_artifact(cfg.path(layout.LABEL_ISSUES), "label")),
        q.duplicate_findings(read_artifact(cfg.path(layout.DUPLICATES), "duplicates")),
        q.leakage_findings(read_artifact(cfg.path(layout.LEAKAGE), "duplicates")),
        q.outlier_findings(read_artifact(cfg.path(layout.OUTLIERS), "outliers")),
        q.active_learning_findings(read_artifact(cfg.path(layout.ACTIVE_LEARNING), "candidates")),
    ]
    changes = read_artifact(cfg.path(layout.CHANGES), "apply", columns=["sample_id", "status"])
    statuses = changes.column("status").to_pylist()
    decided = [
        sid
        for sid, status in zip(changes.column("sample_id").to_pylist(), statuses, strict=True)
        if status != "unknown_sample"
    ]
    # An unlabelled pool has no classes, so the model suggests no label.
    suggestions = q.suggestions_from_pred_probs(predictions) if classes_of(predictions) else {}
    table, summary = q.build_queue(manifest, suggestions, findings, cfg.review, decided)
    write_parquet(table, cfg.path(layout.REVIEW_QUEUE))
    write_json(summary, cfg.path(layout.REVIEW_SUMMARY))
    return summary
