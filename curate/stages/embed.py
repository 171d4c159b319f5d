"""Stage ``embed``: manifest -> L2-normalised embeddings aligned by ``sample_id``."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import EmbedConfig, load_config
from curate.data.manifest import read_manifest
from curate.embed import embed_manifest, make_embedder
from curate.pipeline.stage import Stage


class LongTextsCappedWarning(UserWarning):
    """Some texts were longer than ``embed.text.max_chunks`` chunks: their end was not read."""


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    embedder = make_embedder(cfg)
    from curate.compute import uses_ray

    compute = None
    if uses_ray(cfg):
        # Only the new contents are embedded, by an actor pool on the cluster; same artifact.
        from curate.compute.ray_embed import embed_on_ray

        table, stats, compute = embed_on_ray(manifest, embedder, cfg)
    else:
        table, stats = embed_manifest(manifest, embedder, cfg.path(cfg.embed.cache_dir))
    chunk_counts = getattr(embedder, "chunk_counts", None)
    if chunk_counts is not None:
        # Counted over every distinct text, those whose vectors came from the cache included.
        stats = dataclasses.replace(stats, **dataclasses.asdict(chunk_counts(manifest)))
        if stats.texts_capped:
            text = cfg.embed.text
            warnings.warn(
                f"{stats.texts_capped} text(s) are longer than embed.text.max_chunks "
                f"({text.max_chunks}) chunks; their vectors are built from the first "
                f"{text.max_chunks} chunks and the rest of each is not read. Raise "
                "embed.text.max_chunks in configs/embed.yaml to read them whole.",
                LongTextsCappedWarning,
                stacklevel=2,
            )
    write_parquet(table, cfg.path(layout.EMBEDDINGS))
    summary = stats.to_dict()
    backend_summary = getattr(embedder, "backend_summary", None)
    if backend_summary is not None:
        # Which backend ran, its export, and the agreement-gate figures against fp32 torch.
        summary["backend"] = backend_summary()
    if compute is not None:
        summary["compute"] = compute  # where it ran: Ray actors, CPUs, shard rows, nodes
    write_json(summary, cfg.path(layout.EMBEDDINGS_SUMMARY))
    return summary


class Embed(Stage):
    name = "embed"
    help = "Stage: embed the manifest (cached by content hash)."
    order = 30
    config = EmbedConfig
    deps = (layout.MANIFEST,)
    params = ("seed", "data.modality", "data.feature_columns")
    outs = (layout.EMBEDDINGS,)
    metrics = (layout.EMBEDDINGS_SUMMARY,)
    run = staticmethod(run)
