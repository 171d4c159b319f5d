"""Stage ``predict``: manifest + embeddings -> out-of-sample pred_probs for every sample."""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.compute import uses_ray
from curate.config import PredictConfig, load_config
from curate.data.manifest import read_artifact, read_graph, read_manifest, require_aligned
from curate.embed import to_matrix
from curate.model.predict import fold_groups, predictions_from_file, to_table
from curate.model.reference import reference_pred_probs, resolve_members
from curate.pipeline.stage import Stage


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    embeddings = read_artifact(cfg.path(layout.EMBEDDINGS), "embed")
    require_aligned(embeddings, manifest, layout.EMBEDDINGS, "embed")
    X = to_matrix(embeddings.column("embedding"))
    labels = manifest.column("label").to_pylist()
    if cfg.predict.pred_probs_file:
        p = predictions_from_file(
            cfg.path(cfg.predict.pred_probs_file),
            X,
            manifest.column("sample_id").to_pylist(),
            labels,
            cfg.predict,
            seed=cfg.seed,
        )
    else:
        graph = (
            read_graph(cfg.path(layout.GRAPH), manifest)
            if cfg.predict.near_duplicate_threshold is not None
            else None
        )
        groups = fold_groups(graph, manifest.column("content_hash").to_pylist(), cfg.predict)
        members = resolve_members(cfg.predict, cfg.data.modality)
        texts = manifest.column("input").to_pylist() if "lexical_logreg" in members else None
        run_jobs = None
        if uses_ray(cfg):  # the fits of every member and fold in parallel on the cluster
            from curate.compute.ray_jobs import ray_job_runner

            run_jobs = ray_job_runner(cfg.compute)
        ref = reference_pred_probs(
            X, labels, groups, cfg.predict, members, seed=cfg.seed, texts=texts, run_jobs=run_jobs
        )
        p = ref.predictions
    table = to_table(
        manifest.column("sample_id"), manifest.column("split"), manifest.column("label"), p
    )
    write_parquet(table, cfg.path(layout.PRED_PROBS))
    summary = {
        "model": "file" if cfg.predict.pred_probs_file else "reference",
        "classes": list(p.classes),
        "folds": max(int(p.fold.max()) + 1, 0),
        # null without labelled samples (nothing to cross-validate)
        "cv_log_loss": round(p.cv_log_loss, 4) if p.classes else None,
        "cv_accuracy": round(p.cv_accuracy, 4) if p.classes else None,
    }
    if not cfg.predict.pred_probs_file and p.classes:
        summary["combine"] = ref.combine
        summary["members"] = {
            m.name: {
                "cv_accuracy": round(m.cv_accuracy, 4),
                "cv_log_loss": round(m.cv_log_loss, 4),
                "weight": round(ref.weights[m.name], 4),
                "seconds": round(m.seconds, 2),
            }
            for m in ref.members
        }
    write_json(summary, cfg.path(layout.PRED_PROBS_SUMMARY))
    return summary


class Predict(Stage):
    name = "predict"
    help = "Stage: out-of-sample pred_probs from the reference classifier on the embeddings."
    order = 50
    config = PredictConfig
    deps = (layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH)
    params = ("seed", "data.modality")
    outs = (layout.PRED_PROBS,)
    metrics = (layout.PRED_PROBS_SUMMARY,)
    run = staticmethod(run)
