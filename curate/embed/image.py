"""Image embedder.

Default (works offline, no weights): each image is converted to grayscale (or RGB), resized to
``size`` x ``size``, standardised per image, and projected to ``dim`` dimensions with a seeded
Gaussian random projection, which preserves cosine geometry (Johnson-Lindenstrauss). It depends
on nothing but the image itself, so vectors can be cached by content.

Plug-in: ``embed.image.module: package.module:factory`` names a callable returning a
``torch.nn.Module`` that maps a float batch ``(N, C, size, size)`` in [0, 1] to ``(N, D)``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.config import ImageEmbedConfig
from curate.errors import EmbeddingError


class ImageEmbedder:
    name = "image"
    cacheable = True

    def __init__(
        self, cfg: ImageEmbedConfig, root: Path, seed: int = 0, batch_size: int = 64
    ) -> None:
        self.cfg = cfg
        self.batch_size = batch_size
        self.root = root
        self.seed = seed
        self._projection: np.ndarray | None = None
        self._module = None

    @property
    def identity(self) -> str:
        mode = "L" if self.cfg.grayscale else "RGB"
        if self.cfg.module:
            return (
                f"image/module/{self.cfg.module}@{self.cfg.module_version}/{mode}/{self.cfg.size}"
            )
        return f"image/pixels/{mode}/{self.cfg.size}/dim={self.cfg.dim}/seed={self.seed}"

    def fit(self, manifest: pa.Table) -> None:
        pass

    def prepare(self) -> None:
        if self.cfg.module and self._module is None:
            self._module = load_module(self.cfg.module)
            self._module.eval()

    def embed(self, rows: pa.Table) -> np.ndarray:
        pixels = np.stack([self._load(p) for p in rows.column("input").to_pylist()])
        if self.cfg.module:
            return self._embed_module(pixels)
        flat = pixels.reshape(len(pixels), -1)
        flat = flat - flat.mean(axis=1, keepdims=True)
        flat /= flat.std(axis=1, keepdims=True) + 1e-6
        if self.cfg.dim is None:
            return flat.astype(np.float32)
        return (flat @ self._random_projection(flat.shape[1])).astype(np.float32)

    def _load(self, rel: str) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        path = Path(rel) if Path(rel).is_absolute() else self.root / rel
        try:
            with Image.open(path) as img:
                img = img.convert("L" if self.cfg.grayscale else "RGB")
                img = img.resize((self.cfg.size, self.cfg.size), Image.Resampling.BILINEAR)
                arr = np.asarray(img, dtype=np.float32) / 255.0
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
            raise EmbeddingError(
                f"cannot decode image {path}: {exc}. Replace or remove the file and re-run."
            ) from None
        return arr[None, :, :] if arr.ndim == 2 else arr.transpose(2, 0, 1)

    def _random_projection(self, d_in: int) -> np.ndarray:
        if self._projection is None or self._projection.shape[0] != d_in:
            rng = np.random.default_rng(self.seed)
            dim = int(self.cfg.dim)  # type: ignore[arg-type]
            self._projection = (rng.standard_normal((d_in, dim)) / np.sqrt(dim)).astype(np.float32)
        return self._projection

    def _embed_module(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        self.prepare()
        outs = []
        with torch.no_grad():
            for i in range(0, len(pixels), self.batch_size):
                out = self._module(torch.from_numpy(pixels[i : i + self.batch_size]))
                outs.append(out.detach().cpu().numpy().reshape(out.shape[0], -1))
        return np.concatenate(outs).astype(np.float32)


def load_module(spec: str):
    """Import ``package.module:factory`` and call the factory."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise EmbeddingError(f"embed.image.module is {spec!r}; expected 'package.module:factory'.")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise EmbeddingError(
            f"cannot load embed.image.module {spec!r}: {exc}. Make sure the module is importable "
            "(installed, or on PYTHONPATH) and defines that factory."
        ) from None
    return factory()
