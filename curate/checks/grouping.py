"""Duplicate groups and the keep policy shared by the duplicate checks.

Keep policy (documented in README, 'Duplicates'): inside a group the member kept is, in order,

1. a labelled sample over an unlabelled one;
2. the one whose split comes first in ``duplicates.keep_split_order`` (default train,
   validation, test, unlabeled);
3. the one the reference model finds most plausible: the highest predicted probability of its
   given label (when pred_probs are available);
4. the earliest in the manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Groups:
    """Per-sample group membership: ``root`` (smallest member index), ``size``, ``kept``
    (index of the member kept in the sample's group; itself for singletons)."""

    root: np.ndarray
    size: np.ndarray
    kept: np.ndarray

    @property
    def in_group(self) -> np.ndarray:
        return self.size > 1

    @property
    def is_kept(self) -> np.ndarray:
        return self.kept == np.arange(len(self.kept))


def keep_rank(
    labels: Sequence[str | None] | None,
    splits: Sequence[str] | None,
    label_scores: np.ndarray | None,
    split_order: Sequence[str],
    n: int,
) -> np.ndarray:
    """Rank of every sample under the keep policy (0 = kept first)."""
    labelled = (
        np.array([lab is not None for lab in labels]) if labels is not None else np.ones(n, bool)
    )
    order_of = {s: i for i, s in enumerate(split_order)}
    split_rank = (
        np.array([order_of.get(s, len(order_of)) for s in splits])
        if splits is not None
        else np.zeros(n, np.int64)
    )
    score = (
        np.nan_to_num(np.asarray(label_scores, np.float64), nan=-1.0)
        if label_scores is not None
        else np.zeros(n)
    )
    order = np.lexsort((np.arange(n), -score, split_rank, ~labelled))  # last key is primary
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    return rank


def make_groups(root: np.ndarray, rank: np.ndarray) -> Groups:
    """Groups from union-find roots: sizes and the kept member (lowest ``rank``) of each."""
    n = len(root)
    uniq, inverse, counts = np.unique(root, return_inverse=True, return_counts=True)
    order = np.lexsort((rank, inverse))
    first = np.ones(n, bool)
    first[1:] = inverse[order][1:] != inverse[order][:-1]
    kept_of_group = np.empty(len(uniq), np.int64)
    kept_of_group[inverse[order][first]] = order[first]
    return Groups(root=root, size=counts[inverse], kept=kept_of_group[inverse])


def label_conflicts(root: np.ndarray, labels: Sequence[str | None] | None) -> np.ndarray:
    """True for members of groups holding more than one distinct (non-empty) label."""
    n = len(root)
    if labels is None:
        return np.zeros(n, bool)
    seen: dict[int, set[str]] = {}
    for r, lab in zip(root.tolist(), labels, strict=True):
        if lab is not None:
            seen.setdefault(r, set()).add(lab)
    conflicted = {r for r, labs in seen.items() if len(labs) > 1}
    return np.isin(root, np.fromiter(conflicted, np.int64, len(conflicted)))
