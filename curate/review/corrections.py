"""The corrections log: an append-only record of every review decision.

The log is a folder of Parquet parts (``review/corrections/part-*.parquet``); each append
writes one new part atomically and never rewrites an old one, so the log can be committed to
git and a crash never loses or half-writes rows. ``curate review pull`` and ``curate serve``
(webhooks) both append to it, from any number of threads or processes: appends take a file
lock and skip rows already logged, so the same annotation delivered twice is stored once.

A row is one version of one annotation, keyed by ``entry_id`` (annotation id + update time).
When an annotator edits an annotation, its new version is a new row whose ``supersedes``
names the row it replaces; nothing is overwritten.

Resolution (:func:`resolve`), the documented rule for one sample:

1. each annotation counts in its latest version only; skips are ignored;
2. if any annotation is marked ground truth in Label Studio, only those count;
3. each annotator (Label Studio user id) counts once, with their latest annotation;
4. the decision (``keep`` / ``relabel`` to a label / ``remove``) with the most annotators
   wins; a tie is a *conflict*: nothing changes for that sample, and it is reported.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.artifacts import write_parquet
from curate.errors import DataError

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


class CorrectionsLog:
    """The append-only log in ``directory`` (created on first append)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._thread_lock = threading.Lock()
        self._seen_parts: set[str] = set()
        self._entries: set[str] = set()
        self._latest: dict[int, tuple[Any, str]] = {}  # annotation_id -> (time, entry_id)

    # -- reading ---------------------------------------------------------------------------
    def parts(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(PART_GLOB))

    def read(self) -> pa.Table:
        """Every logged row once, oldest first (by time, then entry_id)."""
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
        with self._thread_lock, open(self.directory / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _refresh(self) -> None:
        """Take in parts written since the last look (by this or another process)."""
        for part in self.parts():
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
        """Append the rows not logged yet, as one new part; returns what happened."""
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
                write_parquet(pa.Table.from_pylist(new, schema=SCHEMA), self.directory / name)
                self._seen_parts.add(name)
            return AppendResult(added=len(new), already_logged=already, superseding=superseding)


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


# -- resolution ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """The outcome for one sample."""

    sample_id: str
    status: str  # "decided" or "conflict"
    decision: str | None
    new_label: str | None
    annotators: tuple[str, ...]
    task_ids: tuple[int, ...]
    entry_ids: tuple[str, ...]
    kind: str | None
    votes: dict[str, int] = field(default_factory=dict)


def _vote_key(decision: str, new_label: str | None) -> str:
    return f"relabel:{new_label}" if decision == "relabel" else decision


def resolve(log: pa.Table) -> list[Resolved]:
    """Apply the module's resolution rule to every sample in ``log`` (sorted by sample_id)."""
    rows = sorted(log.to_pylist(), key=lambda r: (r["time"], r["entry_id"]))
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:  # oldest first: later versions of an annotation replace earlier ones
        latest[row["annotation_id"]] = row
    by_sample: dict[str, list[dict[str, Any]]] = {}
    for row in latest.values():
        if row["decision"] != "skip":
            by_sample.setdefault(row["sample_id"], []).append(row)
    out = []
    for sid in sorted(by_sample):
        candidates = by_sample[sid]
        truth = [r for r in candidates if r["ground_truth"]]
        if truth:
            candidates = truth
        per_annotator: dict[Any, dict[str, Any]] = {}
        for r in sorted(candidates, key=lambda r: (r["time"], r["entry_id"])):
            per_annotator[
                r["annotator_id"] if r["annotator_id"] is not None else r["annotator"]
            ] = r
        chosen = list(per_annotator.values())
        votes = Counter(_vote_key(r["decision"], r["new_label"]) for r in chosen)
        ranked = votes.most_common()
        tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
        winner = (
            None
            if tie
            else next(r for r in chosen if _vote_key(r["decision"], r["new_label"]) == ranked[0][0])
        )
        out.append(
            Resolved(
                sample_id=sid,
                status="conflict" if tie else "decided",
                decision=None if winner is None else winner["decision"],
                new_label=None if winner is None else winner["new_label"],
                annotators=tuple(sorted(r["annotator"] for r in chosen)),
                task_ids=tuple(sorted({r["task_id"] for r in chosen})),
                entry_ids=tuple(r["entry_id"] for r in chosen),
                kind=chosen[-1]["kind"],
                votes=dict(sorted(votes.items())),
            )
        )
    return out
