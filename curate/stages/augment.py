"""Stage ``augment``: augmentation candidates for rare classes and the top failure clusters."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import AugmentationConfig, load_config
from curate.data.manifest import read_artifact, read_graph, read_manifest
from curate.pipeline.stage import Stage
from curate.selection.augmentation import augment, choose_parents


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    acfg = cfg.augmentation
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    ids = manifest.column("sample_id").to_pylist()
    position = {sid: i for i, sid in enumerate(ids)}
    clusters = read_artifact(cfg.path(layout.FAILURE_CLUSTERS), "analysis")
    members = read_artifact(cfg.path(layout.SAMPLE_CLUSTERS), "analysis")
    issues = read_artifact(cfg.path(layout.LABEL_ISSUES), "label", ["sample_id", "is_label_issue"])
    cluster_of = np.full(len(ids), -1, np.int64)
    for sid, c in zip(*(members.column(n).to_pylist() for n in ("sample_id", "cluster")),
                      strict=True):  # fmt: skip
        cluster_of[position[sid]] = c
    excluded = np.zeros(len(ids), bool)
    for sid, flag in zip(*(issues.column(n).to_pylist() for n in issues.column_names),
                         strict=True):  # fmt: skip
        if flag:
            excluded[position[sid]] = True
    top = [r["cluster"] for r in clusters.to_pylist() if r["errors"] > 0][: acfg.target_clusters]
    parents = choose_parents(
        manifest.column("label").to_pylist(),
        manifest.column("split").to_pylist(),
        rare_fraction=acfg.rare_fraction,
        cluster_of=cluster_of,
        target_clusters=top,
        excluded=excluded,
        max_parents=acfg.max_parents,
        seed=cfg.seed,
        parent_splits=acfg.parent_splits,
    )
    modality = cfg.data.modality
    embeddings = neighbours = None
    image_dir = cfg.path(layout.AUGMENTED_IMAGES)
    if modality == "image":
        shutil.rmtree(image_dir, ignore_errors=True)  # a DVC output: rebuilt whole each run
        image_dir.mkdir(parents=True)
    if modality in ("tabular", "embedding"):
        graph = read_graph(cfg.path(layout.GRAPH), manifest)
        neighbours = graph.ids
        if modality == "embedding":
            from curate.data.manifest import read_embeddings

            embeddings = read_embeddings(cfg.path(layout.EMBEDDINGS), manifest)
    table = augment(
        manifest,
        modality,
        parents,
        per_sample=acfg.per_sample,
        seed=cfg.seed,
        root=cfg.root,
        image_dir=image_dir,
        image_ops=acfg.image_ops,
        embeddings=embeddings,
        neighbours=neighbours,
        feature_columns=cfg.data.feature_columns,
    )
    reasons = {}
    for r in table.column("reason").to_pylist():
        key = "rare class" if r.startswith("rare class") else "failure cluster"
        reasons[key] = reasons.get(key, 0) + 1
    summary = {
        "parents": len(parents),
        "rows": table.num_rows,
        "by_reason": reasons,
        "target_clusters": top,
        "splits": sorted(set(table.column("split").to_pylist())),
    }
    write_parquet(table, cfg.path(layout.AUGMENTATION))
    write_json(summary, cfg.path(layout.AUGMENTATION_SUMMARY))
    return summary


class Augment(Stage):
    name = "augment"
    help = "Stage: augmentation candidates for rare classes and the top failure clusters."
    order = 80
    config = AugmentationConfig
    section = "augmentation"
    deps = (layout.MANIFEST, layout.LABEL_ISSUES, layout.FAILURE_CLUSTERS, layout.SAMPLE_CLUSTERS)
    params = ("seed", "data.modality", "data.feature_columns")
    outs = (layout.AUGMENTATION,)
    metrics = (layout.AUGMENTATION_SUMMARY,)
    run = staticmethod(run)

    def deps_for(self, modality: str) -> list[str]:
        # Tabular rows and precomputed vectors are augmented by interpolating neighbours.
        extra = {"tabular": [layout.GRAPH], "embedding": [layout.GRAPH, layout.EMBEDDINGS]}
        return list(self.deps) + extra.get(modality, [])

    def outs_for(self, modality: str) -> list[str]:
        return list(self.outs) + ([layout.AUGMENTED_IMAGES] if modality == "image" else [])
