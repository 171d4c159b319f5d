"""Exact duplicates: samples with equal ``content_hash`` (byte-identical inputs).

Per sample: ``exact_group_id`` (the kept copy's sample_id; null when the content is unique),
``exact_group_size``, ``is_exact_duplicate_issue`` (a copy that is not the kept one),
``exact_duplicate_score`` (0 for such a copy, else 1) and ``exact_label_conflict``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from curate.checks import CheckResult, register
from curate.checks.grouping import keep_rank, label_conflicts, make_groups
from curate.config import DuplicatesConfig
from curate.index.components import edges_from_keys, union_find


@register("exact_duplicate")
def find_exact_duplicates(
    sample_ids: Sequence[str],
    content_hashes: Sequence[str],
    *,
    labels: Sequence[str | None] | None = None,
    splits: Sequence[str] | None = None,
    label_scores: np.ndarray | None = None,
    cfg: DuplicatesConfig | None = None,
) -> CheckResult:
    cfg = cfg or DuplicatesConfig()
    n = len(sample_ids)
    a, b = edges_from_keys(content_hashes)
    root = union_find(n, a, b)
    groups = make_groups(root, keep_rank(labels, splits, label_scores, cfg.keep_split_order, n))
    ids = np.asarray(sample_ids, dtype=object)
    issue = groups.in_group & ~groups.is_kept
    conflict = label_conflicts(root, labels)
    table = pa.table(
        {
            "sample_id": pa.array(list(sample_ids), pa.string()),
            "exact_group_id": pa.array(
                np.where(groups.in_group, ids[groups.kept], None), pa.string()
            ),
            "exact_group_size": pa.array(groups.size, pa.int64()),
            "is_exact_duplicate_issue": pa.array(issue, pa.bool_()),
            "exact_duplicate_score": pa.array(np.where(issue, 0.0, 1.0), pa.float64()),
            "exact_label_conflict": pa.array(conflict, pa.bool_()),
        }
    )
    summary = {
        "groups": int(len(np.unique(root[groups.in_group]))),
        "samples_in_groups": int(groups.in_group.sum()),
        "copies": int(issue.sum()),
        "label_conflict_groups": int(len(np.unique(root[conflict]))),
    }
    return CheckResult(table=table, summary=summary)
