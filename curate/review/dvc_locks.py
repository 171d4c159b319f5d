"""DVC's own locks, as the corrections log reads and takes them before publishing a part.

:func:`dvc_root` finds the DVC repository around the log; :func:`dvc_holders` lists the live DVC
processes whose stages hold the log folder in ``.dvc/tmp/rwlock`` (a stale entry of a killed run
does not count); :func:`dvc_guard` holds DVC's guard of that file (``.dvc/tmp/rwlock.lock``, with
DVC's own lock class and its ``core.hardlink_lock`` setting), so no stage can take or release
the folder while :class:`curate.review.corrections.CorrectionsLog` looks and moves parts in.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from curate.errors import ReviewError

#: How long an append waits for DVC's lock guard before giving up (seconds).
GUARD_TIMEOUT = 60.0


def dvc_root(path: Path) -> Path | None:
    """The DVC repository holding ``path`` (the folder with ``.dvc/``), if any."""
    path = path.resolve()
    for folder in (path, *path.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return None


def _overlaps(a: str, b: str) -> bool:
    a, b = os.path.realpath(a), os.path.realpath(b)
    return (
        a == b or a.startswith(b.rstrip(os.sep) + os.sep) or b.startswith(a.rstrip(os.sep) + os.sep)
    )


def dvc_holders(root: Path, directory: Path, *, skip_ancestors: bool = False) -> list[dict]:
    """Live DVC processes that hold ``directory`` (as a dependency or output) in the
    repository's ``.dvc/tmp/rwlock``: DVC holds a stage's dependencies from before its
    command starts until their hashes for ``dvc.lock`` are taken."""
    import psutil

    path = root / ".dvc" / "tmp" / "rwlock"
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):  # being rewritten, or damaged (DVC refuses to run then)
        return [{"pid": None, "cmd": f"unreadable {path}"}]
    if not isinstance(lock, dict):
        return [{"pid": None, "cmd": f"unreadable {path}"}]
    ancestors = set()
    if skip_ancestors:
        ancestors = {p.pid for p in psutil.Process().parents()} | {os.getpid()}
    found = []
    for mode in ("read", "write"):
        entries = lock.get(mode) or {}
        for held, infos in entries.items() if isinstance(entries, dict) else ():
            if not _overlaps(held, str(directory)):
                continue
            for info in infos if isinstance(infos, list) else [infos]:
                pid = info.get("pid") if isinstance(info, dict) else None
                if not isinstance(pid, int) or pid in ancestors:
                    continue
                if psutil.pid_exists(pid):  # a killed run leaves a stale entry: not a holder
                    found.append(info)
    return found


def _hardlink_lock(root: Path) -> bool:
    import configparser

    value = "false"
    for name in ("config", "config.local"):
        parser = configparser.ConfigParser()
        try:
            parser.read(root / ".dvc" / name)
        except configparser.Error:
            continue
        value = parser.get("core", "hardlink_lock", fallback=value)
    return value.strip().lower() in ("true", "1", "yes")


@contextlib.contextmanager
def dvc_guard(root: Path, timeout: float = GUARD_TIMEOUT) -> Iterator[None]:
    """Hold DVC's guard of its rwlock file (``.dvc/tmp/rwlock.lock``, with DVC's own lock
    class), so no DVC stage can take or release the log while we look and publish."""
    from dvc.lock import LockError, make_lock

    tmp = root / ".dvc" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    guard = make_lock(
        str(tmp / "rwlock.lock"), tmp_dir=str(tmp), hardlink_lock=_hardlink_lock(root)
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            guard.lock()
            break
        except LockError:
            if time.monotonic() > deadline:
                raise ReviewError(
                    f"could not take DVC's lock {tmp / 'rwlock.lock'} within {timeout:.0f} s "
                    "to add to the corrections log. If no dvc command is running, delete that "
                    "file and retry."
                ) from None
            time.sleep(0.05)
    try:
        yield
    finally:
        guard.unlock()
