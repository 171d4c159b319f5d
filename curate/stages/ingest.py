"""Stage ``ingest``: sources -> validated source manifest (Parquet) + summary metrics.

The apply stage turns the source manifest into the current version (review decisions applied).
"""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import load_config
from curate.dataset import build_manifest_and_annotations, summarize


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest, annotations = build_manifest_and_annotations(cfg)
    summary = summarize(manifest)
    summary["annotations"] = annotations.num_rows
    write_parquet(manifest, cfg.path(layout.SOURCE_MANIFEST))
    write_parquet(annotations, cfg.path(layout.ANNOTATIONS))
    write_json(summary, cfg.path(layout.MANIFEST_SUMMARY))
    return summary
