"""Stage ``analysis``: failure clusters and metadata slices of the reference model's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from curate import layout
from curate.analysis.clusters import SCHEMA, FailureClusters, failure_clusters
from curate.analysis.slices import metadata_slices
from curate.artifacts import write_json, write_parquet
from curate.config import AnalysisConfig, load_config
from curate.data.manifest import read_artifact, read_embeddings, read_manifest, require_aligned
from curate.embed import to_matrix
from curate.errors import ConfigError
from curate.model.predict import classes_of
from curate.pipeline.stage import Stage

#: The failure clusters of a dataset without labelled samples.
NO_CLUSTERS = FailureClusters(
    table=SCHEMA.empty_table(),
    assignment=np.zeros(0, np.int64),
    errors=np.zeros(0, bool),
    summary={"clusters": 0, "labelled": 0, "error_rate": 0.0, "top3_error_rate": 0.0, "top3": []},
)


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    missing = [c for c in cfg.analysis.slice_columns if c not in manifest.column_names]
    if missing:
        raise ConfigError(
            f"analysis.slice_columns names {', '.join(map(repr, missing))}, which the manifest "
            f"does not carry. List the column(s) in data.metadata_columns "
            f"(configs/data.yaml) or remove them from configs/analysis.yaml."
        )
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict")
    require_aligned(predictions, manifest, layout.PRED_PROBS, "predict")
    embeddings = read_embeddings(cfg.path(layout.EMBEDDINGS), manifest)
    issues = read_artifact(cfg.path(layout.LABEL_ISSUES), "label", ["sample_id", "is_label_issue"])
    flagged = {
        sid
        for sid, f in zip(*(issues.column(c).to_pylist() for c in issues.column_names), strict=True)
        if f
    }
    ids = manifest.column("sample_id").to_pylist()
    labels = manifest.column("label").to_pylist()
    labelled = np.array([lab is not None for lab in labels])
    rows = np.flatnonzero(labelled)
    classes = classes_of(predictions)
    probs = to_matrix(predictions.column("pred_probs"))
    is_issue = np.array([ids[i] in flagged for i in rows])
    fc = (
        failure_clusters(
            [labels[i] for i in rows],
            probs[rows],
            classes,
            embeddings[rows],
            label_issues=is_issue,
            n_clusters=cfg.analysis.clusters,
            seed=cfg.seed,
        )
        if len(rows)
        else NO_CLUSTERS  # an unlabelled pool: no model errors to cluster
    )
    per_sample = pa.table(
        {
            "sample_id": [ids[i] for i in rows],
            "cluster": pa.array(fc.assignment, pa.int64()),
            "is_error": pa.array(fc.errors),
        }
    )
    slices, slice_summary = metadata_slices(
        {c: [manifest.column(c)[i].as_py() for i in rows] for c in cfg.analysis.slice_columns},
        fc.errors,
        label_issues=is_issue,
        alpha=cfg.analysis.slice_alpha,
        min_size=cfg.analysis.min_slice_size,
    )
    summary = {**fc.summary, "slices": slice_summary}
    write_parquet(fc.table, cfg.path(layout.FAILURE_CLUSTERS))
    write_parquet(per_sample, cfg.path(layout.SAMPLE_CLUSTERS))
    write_parquet(slices, cfg.path(layout.SLICES))
    write_json(summary, cfg.path(layout.ANALYSIS_SUMMARY))
    return summary


class Analysis(Stage):
    name = "analysis"
    help = "Stage: failure clusters and metadata slices of the reference model's errors."
    order = 70
    config = AnalysisConfig
    deps = (layout.MANIFEST, layout.EMBEDDINGS, layout.PRED_PROBS, layout.LABEL_ISSUES)
    params = ("seed",)
    outs = (layout.FAILURE_CLUSTERS, layout.SAMPLE_CLUSTERS, layout.SLICES)
    metrics = (layout.ANALYSIS_SUMMARY,)
    report_reads = (layout.FAILURE_CLUSTERS, layout.ANALYSIS_SUMMARY)

    def report_section(self, ctx):
        from curate.report.sections import analysis_section

        return analysis_section(ctx)

    def headlines(self, ctx):
        from curate.report.headlines import analysis_headlines

        return analysis_headlines(ctx)

    run = staticmethod(run)
