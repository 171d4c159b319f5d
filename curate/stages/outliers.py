"""Stage ``outliers``: kNN graph -> issues/outliers.parquet + summary metrics."""

from __future__ import annotations

from pathlib import Path

from curate import checks, layout
from curate.artifacts import write_json, write_parquet
from curate.config import load_config
from curate.data.manifest import read_graph, read_manifest


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
