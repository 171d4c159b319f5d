"""curate: data-centric dataset curation as a reproducible, versioned pipeline."""

from __future__ import annotations

from curate.config import Config, load_config
from curate.data.dataset import build_manifest, summarize
from curate.embed import EmbedStats, embed_manifest, make_embedder
from curate.errors import ConfigError, CurateError, DataError, EmbeddingError, WorkspaceError
from curate.versions.versioning import diff_versions, load, tag_version

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "CurateError",
    "DataError",
    "EmbedStats",
    "EmbeddingError",
    "WorkspaceError",
    "__version__",
    "build_manifest",
    "diff_versions",
    "embed_manifest",
    "load",
    "load_config",
    "make_embedder",
    "summarize",
    "tag_version",
]
