"""Stage ``candidates``: the active-learning batch from the unlabelled pool."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import ActiveLearningConfig, load_config
from curate.data.manifest import read_artifact, read_embeddings, read_manifest, require_aligned
from curate.embed import to_matrix
from curate.model.predict import classes_of
from curate.pipeline.stage import Stage
from curate.selection.active_learning import select_batch


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict")
    require_aligned(predictions, manifest, layout.PRED_PROBS, "predict")
    leakage = read_artifact(cfg.path(layout.LEAKAGE), "duplicates")
    require_aligned(leakage, manifest, layout.LEAKAGE, "duplicates")
    embeddings = read_embeddings(cfg.path(layout.EMBEDDINGS), manifest)
    clusters = read_artifact(cfg.path(layout.FAILURE_CLUSTERS), "analysis")
    members = read_artifact(cfg.path(layout.SAMPLE_CLUSTERS), "analysis")

    ids = manifest.column("sample_id").to_pylist()
    labels = manifest.column("label").to_pylist()
    pool = np.array([lab is None for lab in labels])
    # Pool samples that duplicate labelled data add nothing new: never candidates.
    pairs = leakage.column("leak_pairs").to_pylist()
    dup_of_labelled = np.array(["labelled-pool" in (p or []) for p in pairs])

    # The most severe clusters with errors (the table is ranked by severity).
    top = [r["cluster"] for r in clusters.to_pylist() if r["errors"] > 0]
    top = top[: cfg.active_learning.target_clusters]
    position = {sid: i for i, sid in enumerate(ids)}
    seeds = [
        position[sid]
        for sid, c, e in zip(
            *(members.column(n).to_pylist() for n in ("sample_id", "cluster", "is_error")),
            strict=True,
        )
        if e and c in top and sid in position
    ]
    rows = np.flatnonzero(pool)
    classes = classes_of(predictions)
    probs = to_matrix(predictions.column("pred_probs"))[rows]
    al_cfg = cfg.active_learning
    if not classes:
        # An unlabelled pool has no model, so no uncertainty: the batch is picked for
        # diversity (and similarity) alone, with no predicted label.
        al_cfg = dataclasses.replace(al_cfg, weights={**al_cfg.weights, "uncertainty": 0.0})
        probs, classes = np.ones((len(rows), 1)), ("",)
    selection = select_batch(
        [ids[i] for i in rows],
        probs,
        embeddings[rows],
        embeddings[~pool],
        classes,
        al_cfg,
        targets=embeddings[seeds],
        excluded=dup_of_labelled[rows],
    )
    table = selection.table
    if not any(lab is not None for lab in labels):
        for name in ("predicted_label", "confidence"):
            column = table.schema.get_field_index(name)
            table = table.set_column(
                column,
                table.schema.field(name),
                pa.nulls(table.num_rows, table.schema.field(name).type),
            )
    summary = {**selection.summary, "target_clusters": top}
    write_parquet(table, cfg.path(layout.ACTIVE_LEARNING))
    write_json(summary, cfg.path(layout.ACTIVE_LEARNING_SUMMARY))
    return summary


class Candidates(Stage):
    name = "candidates"
    help = "Stage: the active-learning batch from the unlabelled pool."
    order = 75
    config = ActiveLearningConfig
    section = "active_learning"
    deps = (
        layout.MANIFEST,
        layout.EMBEDDINGS,
        layout.PRED_PROBS,
        layout.LEAKAGE,
        layout.FAILURE_CLUSTERS,
        layout.SAMPLE_CLUSTERS,
    )
    outs = (layout.ACTIVE_LEARNING,)
    metrics = (layout.ACTIVE_LEARNING_SUMMARY,)
    review_kinds = {"active_learning": 0.8}
    report_reads = (layout.ACTIVE_LEARNING,)

    def findings(self, ctx):
        from curate.review.queue import active_learning_findings

        return [active_learning_findings(ctx.table(layout.ACTIVE_LEARNING, self.name))]

    def report_section(self, ctx):
        from curate.report.sections import candidates_section

        return candidates_section(ctx)

    run = staticmethod(run)
