"""Apply resolved review decisions to the ingested data: the next dataset version.

* ``relabel``: the sample takes the new label; a pool sample that gets a label moves into
  ``review.labelled_pool_split`` (train by default) and is counted as *labelled from pool*;
* ``remove``: the sample leaves the manifest and is listed in ``manifest/removed.parquet``
  with every column it had, the decision's annotators, tasks and reason;
* ``keep``: nothing changes; the sample is recorded as reviewed.

Conflicts (annotators tied), labels outside the class list and samples no longer in the data
change nothing and are reported. The changelog lists counts and ids per decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from curate.review.corrections import Resolved

CHANGES_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("status", pa.string()),  # applied | conflict | rejected | unknown_sample
        ("decision", pa.string()),
        ("old_label", pa.string()),
        ("new_label", pa.string()),
        ("old_split", pa.string()),
        ("new_split", pa.string()),
        ("kind", pa.string()),
        ("annotators", pa.list_(pa.string())),
        ("task_ids", pa.list_(pa.int64())),
        ("entry_ids", pa.list_(pa.string())),
        ("note", pa.string()),
    ]
)


@dataclass(frozen=True)
class Applied:
    manifest: pa.Table
    removed: pa.Table
    changes: pa.Table
    changelog: dict


def apply_decisions(
    source: pa.Table,
    decisions: Sequence[Resolved],
    classes: Sequence[str] | None,
    *,
    pool_split: str = "unlabeled",
    labelled_pool_split: str = "train",
    log_entries: int = 0,
) -> Applied:
    """The next version of ``source`` (the ingested manifest) under ``decisions``."""
    ids = source.column("sample_id").to_pylist()
    position = {sid: i for i, sid in enumerate(ids)}
    labels = source.column("label").to_pylist()
    splits = source.column("split").to_pylist()
    allowed = set(classes) if classes else None
    removed_idx: list[int] = []
    removed_notes: list[str] = []
    removed_meta: list[Resolved] = []
    changes: dict[str, list] = {name: [] for name in CHANGES_SCHEMA.names}
    groups: dict[str, list] = {
        "relabelled": [],
        "labelled_from_pool": [],
        "removed": [],
        "kept": [],
        "conflicts": [],
        "rejected": [],
        "unknown_samples": [],
    }

    def record(d: Resolved, status: str, old_label, new_label, old_split, new_split, note=""):
        for name, value in (
            ("sample_id", d.sample_id),
            ("status", status),
            ("decision", d.decision),
            ("old_label", old_label),
            ("new_label", new_label),
            ("old_split", old_split),
            ("new_split", new_split),
            ("kind", d.kind),
            ("annotators", list(d.annotators)),
            ("task_ids", list(d.task_ids)),
            ("entry_ids", list(d.entry_ids)),
            ("note", note),
        ):
            changes[name].append(value)

    for d in decisions:
        i = position.get(d.sample_id)
        if i is None:
            groups["unknown_samples"].append(d.sample_id)
            record(
                d,
                "unknown_sample",
                None,
                None,
                None,
                None,
                "sample is not in the ingested data any more",
            )
            continue
        old_label, old_split = labels[i], splits[i]
        if d.status == "conflict":
            votes = ", ".join(f"{k}: {v}" for k, v in d.votes.items())
            groups["conflicts"].append({"sample_id": d.sample_id, "votes": d.votes})
            record(
                d,
                "conflict",
                old_label,
                old_label,
                old_split,
                old_split,
                f"annotators disagree ({votes}); nothing changed",
            )
            continue
        if d.decision == "remove":
            who = ", ".join(d.annotators)
            note = f"removed in review by {who} (task {', '.join(map(str, d.task_ids))})"
            if d.kind:
                note += f"; queued as {d.kind.replace('_', ' ')}"
            removed_idx.append(i)
            removed_notes.append(note)
            removed_meta.append(d)
            groups["removed"].append(d.sample_id)
            record(d, "applied", old_label, None, old_split, None, note)
        elif d.decision == "relabel":
            if allowed is not None and d.new_label not in allowed:
                groups["rejected"].append({"sample_id": d.sample_id, "label": d.new_label})
                record(
                    d,
                    "rejected",
                    old_label,
                    d.new_label,
                    old_split,
                    old_split,
                    f"label {d.new_label!r} is not one of the classes; nothing changed",
                )
                continue
            new_split = labelled_pool_split if old_split == pool_split else old_split
            labels[i], splits[i] = d.new_label, new_split
            if old_label is None:
                groups["labelled_from_pool"].append(
                    {"sample_id": d.sample_id, "label": d.new_label, "split": new_split}
                )
            else:
                groups["relabelled"].append(
                    {"sample_id": d.sample_id, "from": old_label, "to": d.new_label}
                )
            record(d, "applied", old_label, d.new_label, old_split, new_split)
        else:  # keep
            groups["kept"].append(d.sample_id)
            record(d, "applied", old_label, old_label, old_split, old_split)

    updated = source.set_column(
        source.schema.get_field_index("label"), "label", pa.array(labels, pa.string())
    )
    updated = updated.set_column(
        updated.schema.get_field_index("split"), "split", pa.array(splits, pa.string())
    )
    gone = set(removed_idx)
    keep_mask = pa.array([i not in gone for i in range(len(ids))])
    manifest = updated.filter(keep_mask)
    removed = source.take(pa.array(removed_idx, pa.int64()))
    removed = removed.append_column("removal_reason", pa.array(removed_notes, pa.string()))
    removed = removed.append_column(
        "annotators", pa.array([list(d.annotators) for d in removed_meta], pa.list_(pa.string()))
    )
    removed = removed.append_column(
        "task_ids", pa.array([list(d.task_ids) for d in removed_meta], pa.list_(pa.int64()))
    )

    def block(items: list) -> dict:
        return {"count": len(items), "items": items}

    changelog = {
        "source_rows": source.num_rows,
        "rows": manifest.num_rows,
        "log_entries": log_entries,
        "samples_reviewed": len(decisions),
        "relabelled": block(groups["relabelled"]),
        "labelled_from_pool": block(groups["labelled_from_pool"]),
        "removed": block(groups["removed"]),
        "kept": block(groups["kept"]),
        "conflicts": block(groups["conflicts"]),
        "rejected": block(groups["rejected"]),
        "unknown_samples": block(groups["unknown_samples"]),
    }
    return Applied(
        manifest=manifest,
        removed=removed,
        changes=pa.Table.from_pydict(changes, schema=CHANGES_SCHEMA),
        changelog=changelog,
    )
