"""The corrections log: an append-only record of every review decision.

The log is a folder of Parquet parts (``review/corrections/part-*.parquet``); each append
writes one new part atomically and never rewrites an old one, so the log can be committed to
git and a crash never loses or half-writes rows. ``curate review pull`` and ``curate serve``
(webhooks) both append to it, from any number of threads or processes: appends take a file
lock and skip rows already logged, so the same annotation delivered twice is stored once.

Appends never race ``dvc repro``: DVC hashes ``review/corrections/`` for ``dvc.lock`` only
after the ``apply`` command has finished, so a part added while ``apply`` runs would be
recorded as applied without being in the manifest. Every append therefore first writes its
part to a staging folder next to the log (``review/.corrections-pending/``, which also holds
the log's lock file; ignored by git and outside the stage's dependency) and moves it into
the log only while no DVC process holds the folder (DVC's own lock file ``.dvc/tmp/rwlock``
says which stages run, and its guard ``.dvc/tmp/rwlock.lock`` is held while looking, so a run
cannot start in between). A part written during a run stays pending and is published as soon
as the run has ended, by the writer that staged it (``curate serve`` keeps trying), by the
next append or ``curate review pull``, by ``curate serve`` starting, or by the ``apply`` stage
itself before it reads the log. Once published, the folder differs from what ``dvc.lock``
recorded, so ``dvc status`` shows ``apply`` as changed and the next ``dvc repro`` applies it.

A row is one version of one annotation, keyed by ``entry_id`` (annotation id + update time).
When an annotator edits an annotation, its new version is a new row whose ``supersedes``
names the row it replaces; nothing is overwritten.

Resolution (:func:`resolve`, in :mod:`curate.review.resolution`), the documented rule for one
sample:

1. each annotation counts in its latest version only; skips are ignored;
2. if any annotation is marked ground truth in Label Studio, only those count;
3. each annotator (Label Studio user id) counts once, with their latest annotation;
4. the decision (``keep`` / ``relabel`` to a label / ``remove``) with the most annotators
   wins; a tie is a *conflict*: nothing changes for that sample, and it is reported.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.artifacts import atomic_path, file_lock
from curate.errors import DataError, ReviewError
from curate.review.dvc_locks import GUARD_TIMEOUT as GUARD_TIMEOUT
from curate.review.dvc_locks import dvc_guard, dvc_root
from curate.review.dvc_locks import dvc_holders as dvc_holders
from curate.review.resolution import Resolved as Resolved
from curate.review.resolution import resolve as resolve

SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("sample_id", pa.string()),
        ("project_id", pa.int64()),
        ("task_id", pa.int64()),
        ("annotation_id", pa.int64()),
        ("annotator_id", pa.int64()),
        ("annotator", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("decision", pa.string()),
        ("new_label", pa.string()),
        ("given_label", pa.string()),
        ("kind", pa.string()),
        ("ground_truth", pa.bool_()),
        ("source", pa.string()),
        ("supersedes", pa.string()),
        ("logged_at", pa.timestamp("us", tz="UTC")),
    ]
)

PART_GLOB = "part-*.parquet"


@dataclass(frozen=True)
class AppendResult:
    added: int
    already_logged: int
    superseding: int
    #: Parts waiting in the staging folder because a DVC run holds the log (0 normally).
    pending: int = 0


class CorrectionsLog:
    """The append-only log in ``directory`` (created on first append)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        #: Parts written while a DVC run held the log wait here (outside the stage's dep).
        self.pending_dir = self.directory.parent / f".{self.directory.name}-pending"
        self._lock_path = self.pending_dir / ".lock"
        self._thread_lock = threading.Lock()
        self._seen_parts: set[str] = set()
        self._entries: set[str] = set()
        self._latest: dict[int, tuple[Any, str]] = {}  # annotation_id -> (time, entry_id)

    # -- reading ---------------------------------------------------------------------------
    def parts(self) -> list[Path]:
        """The published parts (what ``apply`` reads)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(PART_GLOB))

    def pending(self) -> list[Path]:
        """Parts written while a DVC run held the log, not published yet."""
        if not self.pending_dir.is_dir():
            return []
        return sorted(self.pending_dir.glob(PART_GLOB))

    def read(self) -> pa.Table:
        """Every published row once, oldest first (by time, then entry_id)."""
        tables = [_read_part(p) for p in self.parts()]
        if not tables:
            return SCHEMA.empty_table()
        table = pa.concat_tables(tables)
        rows = table.to_pylist()
        unique = {r["entry_id"]: r for r in rows}  # a part re-read after a crash: dedupe
        ordered = sorted(unique.values(), key=lambda r: (r["time"], r["entry_id"]))
        return pa.Table.from_pylist(ordered, schema=SCHEMA)

    # -- appending -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.pending_dir.is_dir():
            self.pending_dir.mkdir(parents=True, exist_ok=True)
            # git ignores the folder whatever the workspace's .gitignore says
            (self.pending_dir / ".gitignore").write_text("*\n")
        with self._thread_lock, file_lock(self._lock_path):
            yield

    def _refresh(self) -> None:
        """Take in parts written since the last look (by this or another process)."""
        for part in [*self.pending(), *self.parts()]:
            if part.name in self._seen_parts:
                continue
            for row in _read_part(part).select(["entry_id", "annotation_id", "time"]).to_pylist():
                self._remember(row)
            self._seen_parts.add(part.name)

    def _remember(self, row: Mapping[str, Any]) -> None:
        self._entries.add(row["entry_id"])
        key = (row["time"], row["entry_id"])
        current = self._latest.get(row["annotation_id"])
        if current is None or key > current:
            self._latest[row["annotation_id"]] = key

    def append(
        self, rows: Iterable[Mapping[str, Any]], *, source: str | None = None
    ) -> AppendResult:
        """Append the rows not logged yet, as one new part; returns what happened. The part
        is on disk when this returns: in the log, or pending while a DVC run holds it."""
        rows = list(rows)
        with self._locked():
            self._refresh()
            new: list[dict[str, Any]] = []
            already = superseding = 0
            now = _now()
            for row in rows:
                if row["entry_id"] in self._entries or any(
                    r["entry_id"] == row["entry_id"] for r in new
                ):
                    already += 1
                    continue
                entry = {name: row.get(name) for name in SCHEMA.names}
                if source is not None:
                    entry["source"] = source
                previous = self._latest.get(entry["annotation_id"])
                entry["supersedes"] = (
                    previous[1] if previous and previous[0] <= entry["time"] else None
                )
                superseding += entry["supersedes"] is not None
                entry["logged_at"] = now
                new.append(entry)
                self._remember(entry)
            if new:
                name = f"part-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
                _write_durably(pa.Table.from_pylist(new, schema=SCHEMA), self.pending_dir / name)
                self._seen_parts.add(name)
            try:
                left = self._publish(within_run=False)
            except ReviewError:  # DVC's guard is busy: the rows are safe on disk, pending
                left = len(self.pending())
            return AppendResult(
                added=len(new), already_logged=already, superseding=superseding, pending=left
            )

    def publish_pending(self, *, within_run: bool = False) -> int:
        """Move pending parts into the log unless a DVC run holds it; returns how many parts
        are still pending. ``within_run``: called by the ``apply`` stage's own command, before
        it reads the log (the run holding the log is this process's parent, and DVC hashes
        the folder only after the command ends)."""
        if not self.pending():
            return 0
        with self._locked():
            return self._publish(within_run=within_run)

    def _publish(self, *, within_run: bool) -> int:
        staged = self.pending()
        if not staged:
            return 0
        root = dvc_root(self.directory)
        if root is None:  # not in a DVC repository: nothing can race
            _move_all(staged, self.directory)
            return 0
        if not within_run and dvc_holders(root, self.directory):
            return len(staged)  # cheap look first: DVC's guard is not taken while a run holds
        with dvc_guard(root):
            if dvc_holders(root, self.directory, skip_ancestors=within_run):
                return len(staged)
            _move_all(staged, self.directory)
        return 0


def _write_durably(table: pa.Table, path: Path) -> None:
    """Write a part atomically and fsync it, so an acknowledged row survives a crash."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_all(parts: list[Path], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for part in parts:
        os.replace(part, directory / part.name)  # same file system: atomic, never half a part
    _fsync_dir(directory)


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _read_part(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(
            f"{path} (part of the corrections log) is not a readable Parquet file ({exc}). "
            "Restore it from git (`git checkout -- <path>`); the log is append-only."
        ) from None
    missing = [n for n in SCHEMA.names if n not in table.column_names]
    if missing:
        raise DataError(
            f"{path} (part of the corrections log) lacks column(s) {', '.join(missing)}. "
            "Restore it from git; parts are written by `curate review pull` and `curate serve`."
        )
    return table.select(SCHEMA.names).cast(SCHEMA)
