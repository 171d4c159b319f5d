"""Stage ``knn``: embeddings -> graph/knn.parquet, the kNN graph every similarity check reuses."""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.compute import uses_ray
from curate.config import IndexConfig, load_config
from curate.data.manifest import read_embeddings, read_manifest
from curate.index import build_graph, graph_table
from curate.pipeline.stage import Stage


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    if uses_ray(cfg):  # the same graph, built shard by shard on the Ray cluster
        from curate.compute.ray_knn import build_graph_on_ray

        # Passed on without a name here, so the object store's copy can replace it.
        embeddings = cfg.path(layout.EMBEDDINGS)
        graph = build_graph_on_ray(
            read_embeddings(embeddings, manifest), cfg.index, cfg.compute, seed=cfg.seed
        )
    else:
        X = read_embeddings(cfg.path(layout.EMBEDDINGS), manifest)
        graph = build_graph(X, cfg.index, seed=cfg.seed)
    write_parquet(graph_table(manifest.column("sample_id"), graph), cfg.path(layout.GRAPH))
    write_json(graph.stats, cfg.path(layout.GRAPH_SUMMARY))
    return graph.stats


class Knn(Stage):
    name = "knn"
    help = "Stage: build the kNN graph over the embeddings (exact or approximate by size)."
    order = 40
    config = IndexConfig
    section = "index"
    deps = (layout.MANIFEST, layout.EMBEDDINGS)
    params = ("seed",)
    outs = (layout.GRAPH,)
    metrics = (layout.GRAPH_SUMMARY,)
    run = staticmethod(run)
