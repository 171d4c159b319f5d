"""Stage ``outliers``: kNN graph -> issues/outliers.parquet + summary metrics."""

from __future__ import annotations

from pathlib import Path

from curate import checks, layout
from curate.artifacts import write_json, write_parquet
from curate.config import OutlierConfig, load_config
from curate.data.manifest import read_graph, read_manifest
from curate.pipeline.stage import Check


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    graph = read_graph(cfg.path(layout.GRAPH), manifest)
    result = checks.get("outlier")(
        manifest.column("sample_id").to_pylist(),
        graph,
        splits=manifest.column("split").to_pylist(),
        cfg=cfg.outlier,
    )
    write_parquet(result.table, cfg.path(layout.OUTLIERS))
    write_json(result.summary, cfg.path(layout.OUTLIERS_SUMMARY))
    return result.summary


class Outliers(Check):
    name = "outliers"
    help = "Stage: kNN-distance outlier scores; write issues/outliers.parquet."
    order = 62
    config = OutlierConfig
    section = "outlier"
    deps = (layout.MANIFEST, layout.GRAPH)
    outs = (layout.OUTLIERS,)
    metrics = (layout.OUTLIERS_SUMMARY,)
    review_kinds = {"outlier": 0.4}
    report_reads = (layout.OUTLIERS,)
    counts = {"outliers": (layout.OUTLIERS_SUMMARY, ("outliers",))}

    def findings(self, ctx):
        from curate.review.queue import outlier_findings

        return [outlier_findings(ctx.table(layout.OUTLIERS, self.name))]

    def report_section(self, ctx):
        from curate.report.sections import outliers_section

        return outliers_section(ctx)

    def headlines(self, ctx):
        from curate.report.headlines import outlier_headlines

        return outlier_headlines(ctx)

    run = staticmethod(run)
