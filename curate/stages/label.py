"""Stage ``label``: pred_probs -> issues/label.parquet + label-noise summary metrics."""

from __future__ import annotations

from pathlib import Path

from curate import checks, layout
from curate.artifacts import write_json, write_parquet
from curate.checks.annotators import EMPTY_ANNOTATORS, EMPTY_CONSENSUS, assess_annotators
from curate.config import LabelConfig, load_config
from curate.data.annotation import pivot
from curate.data.manifest import read_artifact, read_manifest, require_aligned
from curate.embed import to_matrix
from curate.model.predict import classes_of
from curate.pipeline.stage import Check


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict")
    require_aligned(predictions, manifest, layout.PRED_PROBS, "predict")
    duplicate_groups = duplicate_links = None
    if cfg.duplicates.conflicts_are_label_issues:
        duplicates = read_artifact(cfg.path(layout.DUPLICATES), "duplicates")
        require_aligned(duplicates, manifest, layout.DUPLICATES, "duplicates")
        duplicate_groups = duplicates.column("group_id").to_pylist()
        # Written by an older duplicates stage without it: conflicts are judged per group.
        if "linked_to" in duplicates.column_names:
            duplicate_links = duplicates.column("linked_to").to_pylist()
    result = checks.get("label")(
        sample_ids=manifest.column("sample_id").to_pylist(),
        splits=manifest.column("split").to_pylist(),
        labels=manifest.column("label").to_pylist(),
        content_hashes=manifest.column("content_hash").to_pylist(),
        pred_probs=to_matrix(predictions.column("pred_probs")),
        classes=classes_of(predictions),
        cfg=cfg.label,
        seed=cfg.seed,
        duplicate_groups=duplicate_groups,
        duplicate_links=duplicate_links,
    )
    per_sample, per_annotator = EMPTY_CONSENSUS, EMPTY_ANNOTATORS
    long = read_artifact(cfg.path(layout.ANNOTATIONS), "ingest")
    if long.num_rows:
        ids = manifest.column("sample_id").to_pylist()
        annotators = assess_annotators(
            ids,
            pivot(long, ids),
            to_matrix(predictions.column("pred_probs")),
            classes_of(predictions),
            alpha=cfg.label.annotator_alpha,
        )
        per_sample, per_annotator = annotators.per_sample, annotators.per_annotator
        result.summary["annotators"] = annotators.summary
    # Written even without annotators (empty), so the DVC outputs always exist.
    write_parquet(per_annotator, cfg.path(layout.ANNOTATORS))
    write_parquet(per_sample, cfg.path(layout.CONSENSUS))
    write_parquet(result.table, cfg.path(layout.LABEL_ISSUES))
    write_json(result.summary, cfg.path(layout.LABEL_SUMMARY))
    keys = ("labelled", "issues", "overall", "joint_noise_rate", "annotators")
    out = {k: result.summary[k] for k in keys if k in result.summary}
    out["noise_bracket"] = result.summary["noise_bracket"]["overall"]
    return out


class Label(Check):
    name = "label"
    help = "Stage: find label issues with cleanlab; write issues/label.parquet and the summary."
    order = 61
    config = LabelConfig
    deps = (layout.MANIFEST, layout.ANNOTATIONS, layout.PRED_PROBS, layout.DUPLICATES)
    params = ("seed", "duplicates.conflicts_are_label_issues")
    outs = (layout.LABEL_ISSUES, layout.ANNOTATORS, layout.CONSENSUS)
    metrics = (layout.LABEL_SUMMARY,)
    review_kinds = {"label_issue": 1.0}
    findings_reads = (layout.LABEL_ISSUES,)
    report_reads = (layout.LABEL_ISSUES, layout.LABEL_SUMMARY)
    counts = {"label issues": (layout.LABEL_SUMMARY, ("issues",))}

    def findings(self, ctx):
        from curate.review.queue import label_findings

        return [label_findings(ctx.table(layout.LABEL_ISSUES, self.name))]

    def report_section(self, ctx):
        from curate.report.sections import label_section

        return label_section(ctx)

    def headlines(self, ctx):
        from curate.report.headlines import label_headlines

        return label_headlines(ctx)

    run = staticmethod(run)
