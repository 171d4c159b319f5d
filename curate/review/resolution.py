"""Resolution of the corrections log: one outcome per sample from its annotations.

:func:`resolve` applies the rule documented in :mod:`curate.review.corrections` (latest version
of each annotation, skips ignored, ground truth first, one vote per annotator, a tie is a
conflict) and returns a :class:`Resolved` per sample, sorted by ``sample_id``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


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
