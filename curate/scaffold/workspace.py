"""``curate init``: write the pipeline around the user's data so that the next command is
``dvc repro``. Existing files are never overwritten unless asked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from curate import layout
from curate.artifacts import write_text
from curate.config import load_config
from curate.errors import WorkspaceError
from curate.scaffold.infer import DataSpec, data_dependencies
from curate.scaffold.templates import workspace_files
from curate.scaffold.tools import _ensure_dvc, _ensure_git, _ensure_remote, _extend_gitignore


def render_dvc_yaml(deps: Sequence[str], modality: str = "text") -> str:
    """The default pipeline for a workspace whose ingest stage depends on ``deps``."""
    augment_deps = [
        layout.MANIFEST,
        layout.LABEL_ISSUES,
        layout.FAILURE_CLUSTERS,
        layout.SAMPLE_CLUSTERS,
    ]
    if modality in ("tabular", "embedding"):
        augment_deps += [layout.GRAPH] + ([layout.EMBEDDINGS] if modality == "embedding" else [])
    augment_outs = [layout.AUGMENTATION] + (
        [layout.AUGMENTED_IMAGES] if modality == "image" else []
    )
    stages = {
        "ingest": {
            "cmd": "curate ingest",
            "deps": list(deps),
            "params": [{"configs/data.yaml": ["data"]}],
            "outs": [layout.SOURCE_MANIFEST, layout.ANNOTATIONS],
            "metrics": [{layout.MANIFEST_SUMMARY: {"cache": False}}],
        },
        "apply": {
            "cmd": "curate apply",
            "deps": [layout.SOURCE_MANIFEST, layout.CORRECTIONS],
            "params": [{"configs/review.yaml": ["review.labelled_pool_split"]}],
            "outs": [layout.MANIFEST, layout.REMOVED, layout.CHANGES],
            "metrics": [{layout.CHANGELOG: {"cache": False}}],
        },
        "embed": {
            "cmd": "curate embed",
            "deps": [layout.MANIFEST],
            "params": ["seed", {"configs/embed.yaml": ["embed"]}],
            "outs": [layout.EMBEDDINGS],
            "metrics": [{layout.EMBEDDINGS_SUMMARY: {"cache": False}}],
        },
        "knn": {
            "cmd": "curate knn",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS],
            "params": ["seed", {"configs/index.yaml": ["index"]}],
            "outs": [layout.GRAPH],
            "metrics": [{layout.GRAPH_SUMMARY: {"cache": False}}],
        },
        "predict": {
            "cmd": "curate predict",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH],
            "params": [
                "seed",
                {"configs/predict.yaml": ["predict"]},
                {"configs/data.yaml": ["data.modality"]},  # members: auto follows it
            ],
            "outs": [layout.PRED_PROBS],
            "metrics": [{layout.PRED_PROBS_SUMMARY: {"cache": False}}],
        },
        "duplicates": {
            "cmd": "curate duplicates",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH, layout.PRED_PROBS],
            # Text compares lexical vectors by a graph built here with the index settings and
            # the seed; data.modality picks that similarity.
            "params": [
                "seed",
                {"configs/duplicates.yaml": ["duplicates"]},
                {"configs/index.yaml": ["index"]},
                {"configs/data.yaml": ["data.modality"]},
            ],
            "outs": [layout.DUPLICATES, layout.LEAKAGE],
            "metrics": [{layout.DUPLICATES_SUMMARY: {"cache": False}}],
        },
        "label": {
            "cmd": "curate label",
            "deps": [layout.MANIFEST, layout.ANNOTATIONS, layout.PRED_PROBS, layout.DUPLICATES],
            "params": [
                "seed",
                {"configs/label.yaml": ["label"]},
                {"configs/duplicates.yaml": ["duplicates.conflicts_are_label_issues"]},
            ],
            "outs": [layout.LABEL_ISSUES, layout.ANNOTATORS, layout.CONSENSUS],
            "metrics": [{layout.LABEL_SUMMARY: {"cache": False}}],
        },
        "outliers": {
            "cmd": "curate outliers",
            "deps": [layout.MANIFEST, layout.GRAPH],
            "params": [{"configs/outlier.yaml": ["outlier"]}],
            "outs": [layout.OUTLIERS],
            "metrics": [{layout.OUTLIERS_SUMMARY: {"cache": False}}],
        },
        "redundancy": {
            "cmd": "curate redundancy",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH],
            "params": ["seed", {"configs/redundancy.yaml": ["redundancy"]}],
            "outs": [layout.REDUNDANCY],
            "metrics": [{layout.REDUNDANCY_SUMMARY: {"cache": False}}],
        },
        "analysis": {
            "cmd": "curate analysis",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.PRED_PROBS, layout.LABEL_ISSUES],
            "params": ["seed", {"configs/analysis.yaml": ["analysis"]}],
            "outs": [layout.FAILURE_CLUSTERS, layout.SAMPLE_CLUSTERS, layout.SLICES],
            "metrics": [{layout.ANALYSIS_SUMMARY: {"cache": False}}],
        },
        "candidates": {
            "cmd": "curate candidates",
            "deps": [
                layout.MANIFEST,
                layout.EMBEDDINGS,
                layout.PRED_PROBS,
                layout.LEAKAGE,
                layout.FAILURE_CLUSTERS,
                layout.SAMPLE_CLUSTERS,
            ],
            "params": [{"configs/active_learning.yaml": ["active_learning"]}],
            "outs": [layout.ACTIVE_LEARNING],
            "metrics": [{layout.ACTIVE_LEARNING_SUMMARY: {"cache": False}}],
        },
        "augment": {
            "cmd": "curate augment",
            "deps": augment_deps,
            "params": ["seed", {"configs/augmentation.yaml": ["augmentation"]}],
            "outs": augment_outs,
            "metrics": [{layout.AUGMENTATION_SUMMARY: {"cache": False}}],
        },
        "evaluate": {
            "cmd": "curate evaluate",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.LABEL_SUMMARY],
            "params": [
                "seed",
                {"configs/evaluate.yaml": ["evaluate"]},
                {"configs/predict.yaml": ["predict"]},
            ],
            "metrics": [{layout.EVALUATION: {"cache": False}}],
            "plots": [
                {
                    layout.EVALUATION_PER_CLASS: {
                        "cache": False,
                        "x": "f1",
                        "y": "class",
                        "template": "bar_horizontal",
                    }
                },
                {
                    layout.EVALUATION_PREDICTIONS: {
                        "cache": False,
                        "x": "predicted",
                        "y": "actual",
                        "template": "confusion",
                    }
                },
            ],
        },
        "report": {
            "cmd": "curate report",
            "deps": [
                layout.MANIFEST,
                layout.MANIFEST_SUMMARY,
                layout.LABEL_ISSUES,
                layout.LABEL_SUMMARY,
                layout.DUPLICATES,
                layout.OUTLIERS_SUMMARY,
                layout.FAILURE_CLUSTERS,
                layout.ANALYSIS_SUMMARY,
                layout.ACTIVE_LEARNING,
                layout.EVALUATION,
                layout.CHANGELOG,
                layout.REVIEW_SUMMARY,
            ],
            "outs": [{layout.REPORT: {"cache": False}}],
        },
        "queue": {
            "cmd": "curate queue",
            "deps": [
                layout.MANIFEST,
                layout.PRED_PROBS,
                layout.LABEL_ISSUES,
                layout.DUPLICATES,
                layout.LEAKAGE,
                layout.OUTLIERS,
                layout.CHANGES,
                layout.ACTIVE_LEARNING,
            ],
            "params": [
                {"configs/review.yaml": ["review.max_items", "review.quotas", "review.weights"]}
            ],
            "outs": [layout.REVIEW_QUEUE],
            "metrics": [{layout.REVIEW_SUMMARY: {"cache": False}}],
        },
    }
    header = (
        "# The curation pipeline, written by `curate init`. Each stage calls a thin module in\n"
        "# curate/stages/; settings live in params.yaml and configs/*.yaml.\n"
    )
    return header + yaml.safe_dump({"stages": stages}, sort_keys=False)


def init_workspace(
    root: str | Path, spec: DataSpec, *, force: bool = False, image_size: int = 32
) -> list[Path]:
    """Write dvc.yaml, params.yaml and configs/ into ``root`` and make it a git + DVC repo.

    Returns the files written. Refuses to overwrite existing pipeline files unless ``force``.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    files = {root / "dvc.yaml": render_dvc_yaml(data_dependencies(spec, root), spec.modality)}
    for name, text in workspace_files(spec, image_size=image_size).items():
        files[root / name] = text
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise WorkspaceError(
            f"{', '.join(str(p.relative_to(root)) for p in existing)} already exist(s) in "
            f"{root}. Pass --force to overwrite them, or edit them by hand."
        )
    _ensure_git(root)
    _ensure_dvc(root)
    _ensure_remote(root)
    for path, text in files.items():
        write_text(text, path)
    _extend_gitignore(root)
    load_config(root)  # what we wrote must load; fail here rather than in `dvc repro`
    return list(files)
