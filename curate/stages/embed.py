"""Stage ``embed``: manifest -> L2-normalised embeddings aligned by ``sample_id``."""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import load_config
from curate.embed import embed_manifest, make_embedder
from curate.manifest import read_manifest


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    embedder = make_embedder(cfg)
    table, stats = embed_manifest(manifest, embedder, cfg.path(cfg.embed.cache_dir))
    write_parquet(table, cfg.path(layout.EMBEDDINGS))
    summary = stats.to_dict()
    write_json(summary, cfg.path(layout.EMBEDDINGS_SUMMARY))
    return summary
