"""One exception tree for the whole library.

Every error message names the input, what was expected, what was found and what to do.
Only ``curate.cli`` turns these into exit codes; the library itself only raises.
"""

from __future__ import annotations


class CurateError(Exception):
    """Base class of every error curate raises on purpose."""

    exit_code = 2


class ConfigError(CurateError):
    """A config file or parameter is missing, malformed or inconsistent."""


class DataError(CurateError):
    """Input data cannot be read or does not satisfy the data contract."""


class EmbeddingError(CurateError):
    """Embeddings cannot be computed or are invalid."""


class WorkspaceError(CurateError):
    """The workspace (git / DVC repository) is not in the expected state."""
