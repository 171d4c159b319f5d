"""Splitting long texts into word-piece windows for the text embedder.

:func:`chunk_starts` places the chunks of a text longer than the model's window (``chunk_tokens``
long, overlapping by ``chunk_overlap``, the last one ending at the text's end, at most
``max_chunks``); :class:`ChunkCounts` reports how the texts of a table were read; and
:class:`WindowChunking`, a base of :class:`curate.embed.text.TextEmbedder`, finds how the
tokenizer frames a text with special tokens, checks the chunk settings against the window, plans
each long text's chunks and counts them over a manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from curate.errors import EmbeddingError


def chunk_starts(
    n_tokens: int, chunk: int, overlap: int, max_chunks: int
) -> tuple[list[int], bool]:
    """Start offsets of the chunks of a text of ``n_tokens`` word pieces, and whether the text
    hit ``max_chunks`` (then its word pieces after the last chunk are not read).

    Chunks are ``chunk`` long and step by ``chunk - overlap``; the last one is aligned to end
    at the text's end, so it may overlap its neighbour by more than ``overlap``.
    """
    if n_tokens <= chunk:
        return [0], False
    stride = chunk - overlap
    starts = list(range(0, n_tokens - chunk, stride)) + [n_tokens - chunk]
    if len(starts) > max_chunks:
        return [i * stride for i in range(max_chunks)], True
    return starts, False


@dataclass(frozen=True)
class ChunkCounts:
    """How the distinct texts of a table were read (counted once per distinct content)."""

    #: Texts longer than the window, embedded as the mean of their chunks.
    texts_chunked: int = 0
    #: Chunks of those texts, all together.
    chunks: int = 0
    #: Chunked texts that hit ``max_chunks``: their word pieces after the last chunk are unread.
    texts_capped: int = 0


class WindowChunking:
    """Chunk planning for :class:`curate.embed.text.TextEmbedder`, which provides ``cfg``,
    ``model_path``, ``_load``, ``token_ids`` and the ``_plans`` / ``_embedded`` records."""

    def _set_up_chunking(self, model) -> None:
        """Find how the tokenizer frames a text with special tokens, and the window."""
        tok = model.tokenizer
        if tok is None:
            raise EmbeddingError(
                f"text model {self.model_path} has no tokenizer; curate needs one to split long "
                "texts into chunks. Use a sentence-transformers text model."
            )
        probe = "hello world"
        framed = tok(probe, add_special_tokens=True)
        bare = tok(probe, add_special_tokens=False)["input_ids"]
        ids = list(framed["input_ids"])
        at = next(
            (i for i in range(len(ids) - len(bare) + 1) if ids[i : i + len(bare)] == bare), None
        )
        if at is None or not bare:
            raise EmbeddingError(
                f"cannot tell how the tokenizer of {self.model_path} adds its special tokens, so "
                "long texts cannot be split into chunks. Use a sentence-transformers text model "
                "with a standard tokenizer."
            )
        types = framed.get("token_type_ids")
        if types is not None and "token_type_ids" in tok.model_input_names:
            types = list(types)
            types = (types[:at], types[at], types[at + len(bare) :])
        else:
            types = None
        self._frame(ids[:at], ids[at + len(bare) :], types, int(model.max_seq_length))

    def _frame(self, prefix: list[int], suffix: list[int], types, max_seq_length: int) -> None:
        """Set the special-token framing and the window, and check the chunk settings."""
        self._prefix, self._suffix, self._types = prefix, suffix, types
        self.window = max_seq_length - len(self._prefix) - len(self._suffix)
        cfg = self.cfg
        if self.window < 1:
            raise EmbeddingError(
                f"embed.text.max_seq_length {cfg.max_seq_length} leaves no room for text next to "
                f"the model's {len(self._prefix) + len(self._suffix)} special tokens. Raise it."
            )
        self.chunk_tokens = self.window if cfg.chunk_tokens is None else cfg.chunk_tokens
        if self.chunk_tokens > self.window:
            raise EmbeddingError(
                f"embed.text.chunk_tokens is {cfg.chunk_tokens}, more than the model's window of "
                f"{self.window} word pieces (max_seq_length {cfg.max_seq_length} minus "
                f"{len(self._prefix) + len(self._suffix)} special tokens). Set it to at most "
                f"{self.window}, or to null for the whole window."
            )
        if not 0 <= cfg.chunk_overlap < self.chunk_tokens:
            raise EmbeddingError(
                f"embed.text.chunk_overlap is {cfg.chunk_overlap}; it must be >= 0 and smaller "
                f"than the chunk of {self.chunk_tokens} word pieces. Lower it."
            )

    def plan(self, n_tokens: int) -> tuple[list[int], bool]:
        """Chunk starts for a text of ``n_tokens`` word pieces longer than the window."""
        cfg = self.cfg
        return chunk_starts(n_tokens, self.chunk_tokens, cfg.chunk_overlap, cfg.max_chunks)

    def chunk_counts(self, manifest: pa.Table) -> ChunkCounts:
        """Chunk counts over the distinct contents of ``manifest`` (``content_hash``,
        ``input``). Texts this embedder embedded are counted from what it recorded; the others
        (vectors from the cache) are re-tokenised, which is exact and far cheaper than the
        model."""
        hashes = manifest.column("content_hash").to_pylist()
        first: dict[str, int] = {}
        for i, h in enumerate(hashes):
            first.setdefault(h, i)
        plans = [self._plans[h] for h in first if h in self._embedded and h in self._plans]
        rest = [h for h in first if h not in self._embedded]
        if rest:
            self._load()
            rows = manifest.take(pa.array([first[h] for h in rest], pa.int64()))
            texts = rows.column("input").to_pylist()
            for start in range(0, len(texts), 4096):
                for ids in self.token_ids(texts[start : start + 4096]):
                    if len(ids) > self.window:
                        starts, capped = self.plan(len(ids))
                        plans.append((len(starts), capped))
        return ChunkCounts(
            texts_chunked=len(plans),
            chunks=sum(n for n, _ in plans),
            texts_capped=sum(1 for _, capped in plans if capped),
        )
