"""Stage ``ingest``: sources -> validated source manifest (Parquet) + summary metrics.

The apply stage turns the source manifest into the current version (review decisions applied).
"""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import DataConfig, load_config
from curate.data.dataset import ingest_tables, summarize
from curate.pipeline.stage import Stage


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest, annotations, notes = ingest_tables(cfg)
    summary = summarize(manifest)
    summary["annotations"] = annotations.num_rows
    # Label cells whose surrounding whitespace was stripped (" cat" -> "cat").
    summary.update(notes)
    write_parquet(manifest, cfg.path(layout.SOURCE_MANIFEST))
    write_parquet(annotations, cfg.path(layout.ANNOTATIONS))
    write_json(summary, cfg.path(layout.MANIFEST_SUMMARY))
    return summary


class Ingest(Stage):
    name = "ingest"
    help = "Stage: read and validate the sources, write the source manifest."
    order = 10
    config = DataConfig
    section = "data"
    outs = (layout.SOURCE_MANIFEST, layout.ANNOTATIONS)
    metrics = (layout.MANIFEST_SUMMARY,)
    run = staticmethod(run)
