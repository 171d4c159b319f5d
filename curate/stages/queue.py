"""Stage ``queue``: every registered check's findings -> the prioritised review queue."""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import load_config
from curate.data.manifest import read_artifact, read_manifest, require_aligned
from curate.model.predict import classes_of
from curate.pipeline import registry
from curate.pipeline.stage import Context, Stage
from curate.review import queue as q


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict")
    require_aligned(predictions, manifest, layout.PRED_PROBS, "predict")
    ctx = Context(root=cfg.root, cfg=cfg)
    # Every registered stage's findings (built-in checks and installed plug-ins alike).
    findings = [f for stage in registry.stages() for f in stage.findings(ctx)]
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


class Queue(Stage):
    name = "queue"
    help = "Stage: merge every check's findings into the prioritised review queue."
    order = 90
    deps = (layout.MANIFEST, layout.PRED_PROBS, layout.CHANGES)
    params = ("review.max_items", "review.quotas", "review.weights")
    outs = (layout.REVIEW_QUEUE,)
    metrics = (layout.REVIEW_SUMMARY,)
    report_reads = (layout.REVIEW_SUMMARY,)
    run = staticmethod(run)
