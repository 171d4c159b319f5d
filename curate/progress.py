"""The one progress helper: a rich progress bar on a terminal, silence elsewhere."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Protocol


class Progress(Protocol):
    def advance(self, n: int = 1) -> None: ...


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass


class _Rich:
    def __init__(self, progress, task_id) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task_id, n)


def enabled() -> bool:
    """Progress is shown only when stderr is an interactive terminal."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress(description: str, total: int | None) -> Iterator[Progress]:
    """Context manager yielding an object with ``advance(n)``.

    Quiet (a no-op) when stderr is not a terminal, so logs and CI output stay clean.
    """
    if not enabled():
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with RichProgress(*columns, console=Console(stderr=True), transient=False) as bar:
        task_id = bar.add_task(description, total=total)
        yield _Rich(bar, task_id)
