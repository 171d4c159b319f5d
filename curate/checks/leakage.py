"""Leakage: exact or near duplicates that sit on both sides of a split boundary.

Boundaries checked: train-test, train-validation, validation-test (a model evaluated on a
copy of its training data looks better than it is), and labelled-pool (an unlabelled sample
that duplicates a labelled one needs no annotation). Groups come from the near-duplicate
check (which includes exact copies).

Per sample: ``is_leakage_issue`` (its group crosses a boundary), ``leak_pairs`` (which
boundaries, e.g. ``["train-test"]``), ``leaks_with`` (members on the other side, at most 5),
``leakage_score`` (1 - the highest cosine similarity to a member on the other side; 1 when
there is none). The summary gives per boundary the groups, the samples on each side and the
fraction of the evaluation side (or pool) affected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from curate.checks import CheckResult, register

#: Split pairs whose crossing duplicates are leaks; the second side is the one evaluated.
BOUNDARIES = (("train", "test"), ("train", "validation"), ("validation", "test"))
POOL = ("labelled", "pool")
MAX_LISTED = 5


def _side(split: str, label: str | None) -> str:
    return "pool" if label is None or split == "unlabeled" else split


@register("leakage")
def find_leakage(
    sample_ids: Sequence[str],
    splits: Sequence[str],
    labels: Sequence[str | None],
    groups: Sequence[str | None],
    embeddings: np.ndarray,
) -> CheckResult:
    n = len(sample_ids)
    sides = [_side(s, lab) for s, lab in zip(splits, labels, strict=True)]
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        if g is not None:
            members.setdefault(g, []).append(i)
    pairs: list[list[str]] = [[] for _ in range(n)]
    partners: list[set[int]] = [set() for _ in range(n)]
    per_boundary = {f"{a}-{b}": {"groups": 0, a: set(), b: set()} for a, b in (*BOUNDARIES, POOL)}
    for group in members.values():
        present = {sides[i] for i in group}
        crossings = [(a, b) for a, b in BOUNDARIES if a in present and b in present]
        if "pool" in present and present - {"pool"}:
            crossings.append(POOL)
        for a, b in crossings:
            name = f"{a}-{b}"
            per_boundary[name]["groups"] += 1
            left = [i for i in group if (sides[i] != "pool" if a == "labelled" else sides[i] == a)]
            right = [i for i in group if sides[i] == b]
            per_boundary[name][a].update(left)
            per_boundary[name][b].update(right)
            for i in left:
                pairs[i].append(name)
                partners[i].update(right)
            for i in right:
                pairs[i].append(name)
                partners[i].update(left)
    issue = np.array([bool(p) for p in pairs], bool)
    score = np.ones(n)
    for i in np.flatnonzero(issue):
        others = np.fromiter(partners[i], np.int64)
        score[i] = float(np.clip(1.0 - (embeddings[others] @ embeddings[i]).max(), 0.0, 1.0))
    ids = list(sample_ids)
    table = pa.table(
        {
            "sample_id": pa.array(ids, pa.string()),
            "split": pa.array(list(splits), pa.string()),
            "is_leakage_issue": pa.array(issue, pa.bool_()),
            "leakage_score": pa.array(score, pa.float64()),
            "leak_pairs": pa.array(pairs, pa.list_(pa.string())),
            "leaks_with": pa.array(
                [[ids[j] for j in sorted(p)[:MAX_LISTED]] for p in partners], pa.list_(pa.string())
            ),
        }
    )
    totals = {side: sides.count(side) for side in set(sides)}
    summary: dict = {"samples": int(issue.sum()), "boundaries": {}}
    for (a, b), name in zip((*BOUNDARIES, POOL), per_boundary, strict=True):
        entry = per_boundary[name]
        affected = len(entry[b])
        summary["boundaries"][name] = {
            "groups": entry["groups"],
            f"{a}_samples": len(entry[a]),
            f"{b}_samples": affected,
            f"fraction_of_{b}": round(affected / totals[b], 4) if totals.get(b) else 0.0,
        }
    return CheckResult(table=table, summary=summary)
