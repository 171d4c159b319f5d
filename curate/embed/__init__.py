"""Embeddings: one small protocol, four embedders, a content-hash cache.

``embed_manifest`` embeds each distinct ``content_hash`` once, reuses cached vectors, and
returns a table of ``sample_id`` and an L2-normalised float32 ``embedding`` aligned with the
manifest's row order.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from curate.embed.base import Embedder
from curate.embed.cache import EmbeddingCache, from_matrix, to_matrix
from curate.errors import EmbeddingError
from curate.progress import progress

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config

__all__ = ["Embedder", "EmbedStats", "embed_manifest", "make_embedder", "to_matrix"]

#: Rows handed to the embedder per call. Embedders batch internally (``embed.batch_size``); a
#: large chunk lets the text model sort by length and pad little, and keeps progress moving.
CHUNK_ROWS = 1024
#: Vectors are flushed to the cache every this many new rows, so an interrupted run keeps them.
FLUSH_ROWS = 4096


@dataclass(frozen=True)
class EmbedStats:
    embedder: str
    identity: str
    rows: int
    unique_contents: int
    cached: int
    embedded: int
    dim: int
    #: Wall time of the whole embedding step.
    seconds: float
    #: Loading the model (only when something needed embedding).
    load_seconds: float
    #: Time spent inside the embedder on new rows; ``embedded / embed_seconds`` is throughput.
    embed_seconds: float
    rows_per_second: float
    #: Text embedder, over the distinct contents (cached ones included): texts longer than the
    #: model's window, embedded as the mean of their chunks; their chunks; and those of them
    #: that hit ``embed.text.max_chunks`` (the rest of such a text is not read). 0 for the
    #: other embedders.
    texts_chunked: int = 0
    chunks: int = 0
    texts_capped: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def make_embedder(cfg: Config) -> Embedder:
    """Build the embedder chosen by ``embed.embedder`` (``auto``: by ``data.modality``)."""
    kind = cfg.embed.embedder
    if kind == "auto":
        kind = {"text": "text", "image": "image", "tabular": "tabular", "embedding": "precomputed"}[
            cfg.data.modality
        ]
    expected = {"text": "text", "image": "image", "tabular": "tabular", "precomputed": "embedding"}
    if expected[kind] != cfg.data.modality:
        raise EmbeddingError(
            f"embed.embedder is {kind!r} but data.modality is {cfg.data.modality!r}. Set "
            "embed.embedder to 'auto' or to the embedder matching the modality."
        )
    if kind == "text":
        from curate.embed.text import TextEmbedder

        return TextEmbedder(cfg.embed.text, batch_size=cfg.embed.batch_size, root=cfg.root)
    if kind == "image":
        from curate.embed.image import ImageEmbedder

        return ImageEmbedder(
            cfg.embed.image, root=cfg.root, seed=cfg.seed, batch_size=cfg.embed.batch_size
        )
    if kind == "tabular":
        from curate.embed.tabular import TabularEmbedder

        return TabularEmbedder(cfg.data.feature_columns)
    from curate.embed.precomputed import PrecomputedEmbedder

    return PrecomputedEmbedder(cfg.data.input_column or "embedding")


def embed_manifest(
    manifest: pa.Table,
    embedder: Embedder,
    cache_dir: str | Path | None,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[pa.Table, EmbedStats]:
    """Embed every manifest row, embedding each distinct content once and reusing the cache.

    Returns ``(table, stats)`` where ``table`` has ``sample_id`` and ``embedding``
    (fixed-size list of float32, L2-normalised) in manifest row order.
    """
    start = time.perf_counter()
    embedder.fit(manifest)
    hashes = manifest.column("content_hash").to_pylist()
    first_row: dict[str, int] = {}
    for i, h in enumerate(hashes):
        first_row.setdefault(h, i)

    cache = (
        EmbeddingCache(cache_dir, embedder.identity) if cache_dir and embedder.cacheable else None
    )
    vectors = cache.load(set(first_row)) if cache else {}
    n_cached = len(vectors)
    todo = [h for h in first_row if h not in vectors]

    load_seconds = embed_seconds = 0.0
    if todo:
        t0 = time.perf_counter()
        embedder.prepare()
        load_seconds = time.perf_counter() - t0
    pending_h: list[str] = []
    pending_v: list[np.ndarray] = []
    with progress(f"embedding ({embedder.name})", total=len(todo)) as bar:
        for start_i in range(0, len(todo), chunk_rows):
            chunk = todo[start_i : start_i + chunk_rows]
            rows = manifest.take(pa.array([first_row[h] for h in chunk], pa.int64()))
            t0 = time.perf_counter()
            out = np.asarray(embedder.embed(rows), dtype=np.float32)
            embed_seconds += time.perf_counter() - t0
            _check_batch(out, len(chunk), embedder)
            vectors.update(zip(chunk, out, strict=True))
            pending_h.extend(chunk)
            pending_v.append(out)
            if cache and len(pending_h) >= FLUSH_ROWS:
                cache.add(pending_h, np.concatenate(pending_v))
                pending_h, pending_v = [], []
            bar.advance(len(chunk))
    if cache and pending_h:
        cache.add(pending_h, np.concatenate(pending_v))

    return assemble(
        manifest, embedder, vectors, hashes,
        unique=len(first_row), cached=n_cached, embedded=len(todo), cache_dir=cache_dir,
        seconds=time.perf_counter() - start, load_seconds=load_seconds,
        embed_seconds=embed_seconds,
    )  # fmt: skip


def assemble(
    manifest: pa.Table,
    embedder: Embedder,
    vectors: dict[str, np.ndarray],
    hashes: list[str],
    *,
    unique: int,
    cached: int,
    embedded: int,
    cache_dir: Path | str | None,
    seconds: float,
    load_seconds: float,
    embed_seconds: float,
) -> tuple[pa.Table, EmbedStats]:
    """The embeddings table (one L2-normalised row per manifest row, by content hash) and its
    stats, from the vectors of every content (cached or just embedded, here or on a cluster)."""
    dims = {v.shape[0] for v in vectors.values()}
    if len(dims) != 1:
        raise EmbeddingError(
            f"embedder {embedder.identity!r} returned vectors of different sizes {sorted(dims)} "
            f"(some possibly from the cache in {cache_dir}). Delete that cache folder and re-run."
        )
    matrix = np.stack([vectors[h] for h in hashes]) if hashes else np.zeros((0, 0), np.float32)
    matrix = l2_normalise(matrix)
    table = pa.table({"sample_id": manifest.column("sample_id"), "embedding": from_matrix(matrix)})
    stats = EmbedStats(
        embedder=embedder.name,
        identity=embedder.identity,
        rows=manifest.num_rows,
        unique_contents=unique,
        cached=cached,
        embedded=embedded,
        dim=int(matrix.shape[1]),
        seconds=round(seconds, 3),
        load_seconds=round(load_seconds, 3),
        embed_seconds=round(embed_seconds, 3),
        rows_per_second=round(embedded / embed_seconds, 1) if embed_seconds > 0 else 0.0,
    )
    return table, stats


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation; zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _check_batch(out: np.ndarray, n: int, embedder: Embedder) -> None:
    if out.ndim != 2 or out.shape[0] != n:
        raise EmbeddingError(
            f"embedder {embedder.identity!r} returned shape {out.shape} for {n} rows; expected "
            f"({n}, dim). Check the embedder (for a custom image module: its output shape)."
        )
    if not np.isfinite(out).all():
        raise EmbeddingError(
            f"embedder {embedder.identity!r} produced NaN or infinite values. Check the inputs "
            "and, for a custom module, its numerics."
        )
