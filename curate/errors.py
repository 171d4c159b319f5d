"""One exception tree for the whole library.

Every error message names the input, what was expected, what was found and what to do.
Only ``curate.cli`` turns these into exit codes; the library itself only raises.
"""

from __future__ import annotations

#: How many offending rows or values an error message lists before "...".
MAX_LISTED = 5


def fmt_rows(rows: list[int]) -> str:
    """Row indices as a person counts data rows: 1-based, header excluded, first few only."""
    shown = ", ".join(str(r + 1) for r in rows[:MAX_LISTED])
    return shown + (", ..." if len(rows) > MAX_LISTED else "")


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


class ReviewError(CurateError):
    """The review loop (Label Studio, the corrections log, webhooks) cannot proceed."""
