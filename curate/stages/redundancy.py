"""Stage ``redundancy``: embeddings + kNN graph -> issues/redundancy.parquet, a ranked
pruning set of the training samples."""

from __future__ import annotations

from pathlib import Path

from curate import checks, layout
from curate.artifacts import write_json, write_parquet
from curate.config import RedundancyConfig, load_config
from curate.data.manifest import read_embeddings, read_graph, read_manifest
from curate.pipeline.stage import Check


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    X = read_embeddings(cfg.path(layout.EMBEDDINGS), manifest)
    graph = read_graph(cfg.path(layout.GRAPH), manifest)
    result = checks.get("redundancy")(
        manifest.column("sample_id").to_pylist(),
        X,
        graph,
        splits=manifest.column("split").to_pylist(),
        labels=manifest.column("label").to_pylist(),
        cfg=cfg.redundancy,
        seed=cfg.seed,
        modality=cfg.data.modality,
    )
    write_parquet(result.table, cfg.path(layout.REDUNDANCY))
    write_json(result.summary, cfg.path(layout.REDUNDANCY_SUMMARY))
    return result.summary


class Redundancy(Check):
    name = "redundancy"
    help = "Stage: rank training samples for pruning (class quotas, SemDeDup, difficulty)."
    order = 63
    config = RedundancyConfig
    deps = (layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH)
    params = ("seed", "data.modality")
    outs = (layout.REDUNDANCY,)
    metrics = (layout.REDUNDANCY_SUMMARY,)
    report_reads = (layout.REDUNDANCY, layout.REDUNDANCY_SUMMARY)
    run = staticmethod(run)

    def report_section(self, ctx):
        from curate.report.sections import redundancy_section

        return redundancy_section(ctx)
