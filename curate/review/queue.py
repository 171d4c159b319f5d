"""The review queue: every check's findings merged into one prioritised list of review items.

Pure code: tables in, a table out. One item per sample (a sample flagged by several checks
becomes one item carrying every reason), so an annotator decides about a sample once.

Priority (configurable in ``configs/review.yaml``)::

    priority = sum over the kinds the sample is flagged for of  weights[kind] * (1 - score)

where ``score`` is that check's per-sample score in [0, 1] (lower = worse, the cleanlab
convention shared by every check). The kinds and their default weights are the registered
stages' ``review_kinds`` (built-in checks and plug-ins alike). An item's main ``kind`` is the
one contributing most (on a tie, the kind with the higher default weight).
The budget keeps the ``max_items`` highest priorities, at most ``quotas[kind]`` items of each
main kind; ties are broken by ``sample_id`` so the queue is deterministic. Samples already
decided in review (listed in the apply stage's changes) are not queued again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curate.config import ReviewConfig

#: Columns of ``review/queue.parquet``, in order.
QUEUE_SCHEMA = pa.schema(
    [
        ("rank", pa.int64()),
        ("sample_id", pa.string()),
        ("kind", pa.string()),
        ("kinds", pa.list_(pa.string())),
        ("priority", pa.float64()),
        ("reasons", pa.string()),
        ("input", pa.string()),
        ("split", pa.string()),
        ("given_label", pa.string()),
        ("suggested_label", pa.string()),
        ("suggested_confidence", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Findings:
    """The samples one check flags, as review material: per sample a score in [0, 1]
    (lower = worse) and a reason in plain words."""

    kind: str
    sample_ids: Sequence[str]
    scores: Sequence[float]
    reasons: Sequence[str]

    def __post_init__(self) -> None:
        from curate.pipeline.registry import review_kinds

        if self.kind not in review_kinds():
            raise ValueError(
                f"review kind {self.kind!r} is not declared in any stage's review_kinds"
            )  # programming error
        if not len(self.sample_ids) == len(self.scores) == len(self.reasons):
            raise ValueError("sample_ids, scores and reasons differ in length")


def _flagged(table: pa.Table, flag: str) -> dict[str, list]:
    mask = np.asarray(table.column(flag).to_numpy(zero_copy_only=False), bool)
    return {
        name: [v for v, m in zip(table.column(name).to_pylist(), mask, strict=True) if m]
        for name in table.column_names
    }


def label_findings(label_issues: pa.Table) -> Findings:
    """From ``issues/label.parquet``: flagged samples, their label score and reason."""
    rows = _flagged(label_issues, "is_label_issue")
    return Findings("label_issue", rows["sample_id"], rows["label_score"], rows["reason"])


def duplicate_findings(duplicates: pa.Table) -> Findings:
    """From ``issues/duplicates.parquet``: the members not kept of exact and near duplicate
    groups (the kept member is what the others duplicate)."""
    near = np.asarray(duplicates.column("is_near_duplicate_issue").to_numpy(zero_copy_only=False))
    exact = np.asarray(duplicates.column("is_exact_duplicate_issue").to_numpy(zero_copy_only=False))
    cols = {n: duplicates.column(n).to_pylist() for n in duplicates.column_names}
    ids, scores, reasons = [], [], []
    for i in np.flatnonzero(near | exact):
        if exact[i]:
            reason = f"exact copy of {cols['exact_group_id'][i]}"
            score = cols["exact_duplicate_score"][i]
        else:
            similarity = cols["similarity_to_kept"][i]
            reason = f"near duplicate of {cols['group_id'][i]} (similarity {similarity:.3f})"
            score = cols["near_duplicate_score"][i]
        if cols["label_conflict"][i]:
            reason += "; the labels in its duplicate group differ"
            score = 0.0
        ids.append(cols["sample_id"][i])
        scores.append(score)
        reasons.append(reason)
    return Findings("duplicate_group", ids, scores, reasons)


_SPLIT_WORDS = {
    "train": "training",
    "validation": "validation",
    "test": "test",
    "unlabeled": "unlabelled pool",
}


def leakage_findings(leakage: pa.Table) -> Findings:
    """From ``issues/leakage.parquet``: samples duplicated across splits."""
    rows = _flagged(leakage, "is_leakage_issue")
    reasons = []
    for split, pairs, others in zip(
        rows["split"], rows["leak_pairs"], rows["leaks_with"], strict=True
    ):
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        reasons.append(
            f"{_SPLIT_WORDS.get(split, split)} sample duplicates {shown} "
            f"across splits ({', '.join(pairs)} leak)"
        )
    return Findings("leakage", rows["sample_id"], rows["leakage_score"], reasons)


def outlier_findings(outliers: pa.Table) -> Findings:
    """From ``issues/outliers.parquet``: samples unlike their nearest neighbours."""
    typical = float(np.median(1.0 - outliers.column("knn_distance").to_numpy()))
    rows = _flagged(outliers, "is_outlier_issue")
    reasons = [
        f"unusual sample: mean similarity to its nearest neighbours {1 - d:.2f} "
        f"(typical {typical:.2f})"
        for d in rows["knn_distance"]
    ]
    return Findings("outlier", rows["sample_id"], rows["outlier_score"], reasons)


def active_learning_findings(candidates: pa.Table) -> Findings:
    """From ``candidates/active_learning.parquet``: the batch, scored by rank (the first
    candidate 0, the last close to 1), with the selection's reasons."""
    n = candidates.num_rows
    ranks = candidates.column("rank").to_pylist()
    reasons = [f"active learning: {r}" for r in candidates.column("reasons").to_pylist()]
    scores = [(r - 1) / n for r in ranks]
    return Findings("active_learning", candidates.column("sample_id").to_pylist(), scores, reasons)


def build_queue(
    manifest: pa.Table,
    suggestions: Mapping[str, tuple[str, float]],
    findings: Iterable[Findings],
    cfg: ReviewConfig,
    decided: Iterable[str] = (),
) -> tuple[pa.Table, dict]:
    """Merge ``findings`` into the prioritised queue.

    Parameters
    ----------
    manifest
        The current manifest (``sample_id``, ``input``, ``label``, ``split``).
    suggestions
        ``sample_id -> (label, confidence)``: the reference model's out-of-sample suggestion.
    findings
        One :class:`Findings` per check or candidate set.
    cfg
        The ``review`` section (weights, budget).
    decided
        Samples already decided in review; they are left out.

    Returns
    -------
    The queue table (:data:`QUEUE_SCHEMA`, highest priority first) and a summary.
    """
    from curate.pipeline.registry import review_kinds

    known = list(review_kinds())
    weights = {**review_kinds(), **cfg.weights}
    ids = manifest.column("sample_id").to_pylist()
    position = {sid: i for i, sid in enumerate(ids)}
    decided = set(decided)
    contributions: dict[str, dict[str, float]] = {}
    reasons: dict[str, dict[str, str]] = {}
    flagged = {kind: 0 for kind in known}
    for f in findings:
        for sid, score, reason in zip(f.sample_ids, f.scores, f.reasons, strict=True):
            if sid not in position or sid in decided:
                continue
            flagged[f.kind] += 1
            s = 0.0 if score is None or np.isnan(score) else min(max(float(score), 0.0), 1.0)
            value = weights.get(f.kind, 0.0) * (1.0 - s)
            slot = contributions.setdefault(sid, {})
            if value >= slot.get(f.kind, -1.0):  # a sample listed twice by one check: keep worst
                slot[f.kind] = value
                reasons.setdefault(sid, {})[f.kind] = reason

    # Highest priority first, then sample_id: a stable, deterministic order.
    items = sorted(contributions, key=lambda sid: (-sum(contributions[sid].values()), sid))
    quotas = dict(cfg.quotas)
    taken = {kind: 0 for kind in known}
    chosen = []
    for sid in items:
        if len(chosen) >= cfg.max_items:
            break
        kinds = sorted(contributions[sid], key=lambda k: (-contributions[sid][k], known.index(k)))
        main = kinds[0]
        if main in quotas and taken[main] >= quotas[main]:
            continue
        taken[main] += 1
        chosen.append((sid, kinds))

    inputs = manifest.column("input").to_pylist()
    labels = manifest.column("label").to_pylist()
    splits = manifest.column("split").to_pylist()
    columns: dict[str, list] = {name: [] for name in QUEUE_SCHEMA.names}
    for rank, (sid, kinds) in enumerate(chosen, start=1):
        i = position[sid]
        label, confidence = suggestions.get(sid, (None, None))
        columns["rank"].append(rank)
        columns["sample_id"].append(sid)
        columns["kind"].append(kinds[0])
        columns["kinds"].append(kinds)
        columns["priority"].append(round(sum(contributions[sid].values()), 6))
        columns["reasons"].append("; ".join(reasons[sid][k] for k in kinds))
        columns["input"].append(inputs[i])
        columns["split"].append(splits[i])
        columns["given_label"].append(labels[i])
        columns["suggested_label"].append(label)
        columns["suggested_confidence"].append(confidence)
    table = pa.Table.from_pydict(columns, schema=QUEUE_SCHEMA)
    summary = {
        "items": table.num_rows,
        "max_items": cfg.max_items,
        "flagged": flagged,
        "queued": taken,
        "samples_flagged": len(contributions),
        "left_out_by_budget": len(contributions) - table.num_rows,
        "already_decided": len(decided & set(position)),
    }
    return table, summary


def suggestions_from_pred_probs(pred_probs: pa.Table) -> dict[str, tuple[str, float]]:
    """``sample_id -> (argmax class, its probability)`` from ``predictions/pred_probs.parquet``."""
    from curate.embed import to_matrix
    from curate.model.predict import classes_of

    classes = classes_of(pred_probs)
    probs = to_matrix(pred_probs.column("pred_probs"))
    best = probs.argmax(axis=1)
    ids = pred_probs.column("sample_id").to_pylist()
    return {
        sid: (classes[b], float(probs[i, b]))
        for i, (sid, b) in enumerate(zip(ids, best, strict=True))
    }
