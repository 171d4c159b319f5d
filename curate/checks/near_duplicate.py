"""Near duplicates: samples at least ``duplicates.threshold`` cosine-similar.

The vectors compared are the caller's: the embeddings (with the pipeline's kNN graph) or, for
text, lexical character-3-gram vectors (:mod:`curate.embed.lexical`) with a kNN graph built
over them. Pairs come from the graph (edges at or above the threshold) plus equal content hashes.
When the caller passes the ``texts`` and ``duplicates.max_word_edits`` is set, graph pairs are
candidates and only those within the word-edit budget (:mod:`curate.checks.word_edits`) are
kept. Pairs do not chain: connected components of the pairs grow without bound on tightly
clustered vectors (a classifier's softmax links most of a dataset into one component), so a
set is built around a centre (:func:`curate.index.components.star_groups`): in keep-policy
order, a sample not yet in a set takes its pairs not yet in a set, and a sample left alone then
joins through its first-ranked pair. Every member is thus a near-duplicate of the kept member
or of a member that is. Exact copies (equal content hash) are always in one set. In each set one
member is kept by the policy in :mod:`curate.checks.grouping`; the others are issues.

Per sample: ``group_id`` (the kept member's sample_id; null for samples with no duplicate),
``group_size``, ``is_kept``, ``similarity_to_kept`` (cosine to the kept member; null outside
groups), ``is_exact_copy`` (same content hash as the kept member), ``label_conflict`` (the set
holds more than one label), ``is_near_duplicate_issue`` and ``near_duplicate_score``
(1 - similarity to the kept member for the members not kept, else 1; lower = worse), and
``linked_to``: the member it is a near-duplicate of (the kept member, or the member it joined
through; the sample itself for the kept member, null outside sets). The label check counts a
label conflict only over such direct pairs (and exact copies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa

from curate.checks import CheckResult, register
from curate.checks.grouping import keep_rank, label_conflicts, make_groups
from curate.checks.word_edits import tokenise, within_word_edits
from curate.data.config import SPLITS
from curate.index.components import edges_from_graph, star_groups
from curate.index.graph import KnnGraph
from curate.settings import check_range, invalid

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config


@dataclass(frozen=True)
class DuplicatesConfig:
    """Exact duplicates (equal content hash), near duplicates (cosine >= threshold; text:
    character-3-gram candidates verified by word edits, other data: the embeddings' kNN graph)
    and leakage (duplicates across splits or into the pool)."""

    #: What near-duplicates are compared on: ``lexical`` (hashed character 3-grams of the
    #: text), ``embedding`` (the embed stage's vectors, through the kNN graph), or ``auto``:
    #: lexical for text, embedding otherwise.
    similarity: Literal["auto", "lexical", "embedding"] = "auto"
    #: Cosine similarity at or above which two samples are near-duplicates; ``null``: the
    #: default for the similarity and modality, measured on planted copies (see README). For
    #: text compared lexically with ``max_word_edits`` set, pairs at this cosine are candidates
    #: and the word edits decide.
    threshold: float | None = None
    #: Text compared lexically: a candidate pair is a near-duplicate only when its word edits
    #: (a word dropped, added, moved or misspelt costs 1, a word replaced 3) are at most this
    #: fraction of the longer text's words (at least one edit from 3 words on; two texts of at
    #: most 2 words must be equal after normalisation). ``null``: the cosine alone decides.
    max_word_edits: float | None = 0.25
    #: Which member of a duplicate group is kept: labelled first, then by split in this order,
    #: then the best label score (pred_probs of the given label), then the earliest in the
    #: manifest.
    keep_split_order: tuple[str, ...] = ("train", "validation", "test", "unlabeled")
    #: Near-duplicates with different labels become label issues (in the label check).
    conflicts_are_label_issues: bool = True

    def validate(self, cfg: Config) -> None:
        threshold, edits = self.threshold, self.max_word_edits
        check_range(
            "duplicates.threshold",
            threshold,
            threshold is None or 0 < threshold <= 1,
            "in (0, 1] or null",
        )
        check_range(
            "duplicates.max_word_edits",
            edits,
            edits is None or 0 <= edits < 1,
            "in [0, 1) or null",
        )
        unknown = [s for s in self.keep_split_order if s not in SPLITS]
        if unknown:
            invalid(
                "duplicates.keep_split_order",
                "duplicates.keep_split_order names unknown split(s) "
                f"{', '.join(map(repr, unknown))}; splits are: {', '.join(SPLITS)}.",
            )


#: Default near-duplicate thresholds, measured by benchmarks/duplicates.py (text) and on the
#: demo's planted copies (image: pixel projections of small images are all highly similar).
NEAR_DUPLICATE_THRESHOLDS = {
    # Candidates for the word-edit verifier: every planted copy in benchmarks/duplicates.py is
    # at lexical cosine >= 0.7 to its original (99.6% at >= 0.8).
    ("lexical", "text"): 0.7,
    ("embedding", "text"): 0.98,
    ("embedding", "image"): 0.997,
    ("embedding", "tabular"): 0.99,
    ("embedding", "embedding"): 0.98,
}

#: Default lexical threshold for text when the cosine alone decides (``max_word_edits``
#: null): the best F1 on the planted copies of benchmarks/duplicates.py.
LEXICAL_COSINE_ONLY_THRESHOLD = 0.93


def duplicate_similarity(cfg: DuplicatesConfig, modality: str) -> str:
    """``lexical`` or ``embedding``: what the near-duplicate check compares."""
    if cfg.similarity != "auto":
        return cfg.similarity
    return "lexical" if modality == "text" else "embedding"


def verifies_word_edits(cfg: DuplicatesConfig, modality: str) -> bool:
    """Whether near-duplicate candidates are verified by word edits (lexical text)."""
    return (
        modality == "text"
        and duplicate_similarity(cfg, modality) == "lexical"
        and cfg.max_word_edits is not None
    )


def near_duplicate_threshold(cfg: DuplicatesConfig, modality: str) -> float:
    """The configured threshold, or the default for the similarity and modality."""
    if cfg.threshold is not None:
        return cfg.threshold
    similarity = duplicate_similarity(cfg, modality)
    if similarity == "lexical" and not verifies_word_edits(cfg, modality):
        return LEXICAL_COSINE_ONLY_THRESHOLD
    return NEAR_DUPLICATE_THRESHOLDS[(similarity, modality)]


@register("near_duplicate")
def find_near_duplicates(
    sample_ids: Sequence[str],
    embeddings: np.ndarray,
    graph: KnnGraph,
    *,
    content_hashes: Sequence[str] | None = None,
    labels: Sequence[str | None] | None = None,
    splits: Sequence[str] | None = None,
    label_scores: np.ndarray | None = None,
    texts: Sequence[str] | None = None,
    cfg: DuplicatesConfig | None = None,
) -> CheckResult:
    cfg = cfg or DuplicatesConfig()
    threshold = near_duplicate_threshold(cfg, "embedding" if texts is None else "text")
    n = len(sample_ids)
    verify = texts is not None and cfg.max_word_edits is not None
    a, b, candidates = near_duplicate_pairs(
        graph, threshold, texts if verify else None, cfg.max_word_edits
    )
    rank = keep_rank(labels, splits, label_scores, cfg.keep_split_order, n)
    root, anchor = star_groups(n, a, b, rank=rank, keys=content_hashes)
    groups = make_groups(root, rank)
    member = groups.in_group
    similarity = np.full(n, np.nan, np.float32)
    idx = np.flatnonzero(member)
    # Row-wise dot products with the kept member, in batches (embeddings are L2-normalised).
    for start in range(0, len(idx), 65_536):
        rows = idx[start : start + 65_536]
        similarity[rows] = np.einsum(
            "ij,ij->i", embeddings[rows], embeddings[groups.kept[rows]], dtype=np.float32
        )
    similarity[groups.is_kept & member] = 1.0
    issue = member & ~groups.is_kept
    if content_hashes is not None:
        hashes = np.asarray(content_hashes, dtype=object)
        exact = member & (hashes == hashes[groups.kept])
    else:
        exact = member & (similarity >= 1.0 - 1e-6)
    conflict = label_conflicts(root, labels)
    score = np.where(issue, np.clip(1.0 - similarity, 0.0, 1.0), 1.0)
    ids = np.asarray(sample_ids, dtype=object)
    table = pa.table(
        {
            "sample_id": pa.array(list(sample_ids), pa.string()),
            "split": pa.array(list(splits) if splits is not None else [None] * n, pa.string()),
            "group_id": pa.array(np.where(member, ids[groups.kept], None), pa.string()),
            "group_size": pa.array(groups.size, pa.int64()),
            "is_kept": pa.array(groups.is_kept, pa.bool_()),
            "similarity_to_kept": pa.array(
                np.where(member, similarity, np.nan), pa.float32(), from_pandas=True
            ),
            "is_exact_copy": pa.array(exact & ~groups.is_kept, pa.bool_()),
            "label_conflict": pa.array(conflict, pa.bool_()),
            "is_near_duplicate_issue": pa.array(issue, pa.bool_()),
            "near_duplicate_score": pa.array(score, pa.float64()),
            "linked_to": pa.array(np.where(member, ids[anchor], None), pa.string()),
        }
    )
    n_groups = int(len(np.unique(root[member])))
    summary = {
        "threshold": threshold,
        "pairs_above_threshold": candidates,
        **(
            {"max_word_edits": cfg.max_word_edits, "pairs_within_word_edits": int(len(a))}
            if verify
            else {}
        ),
        "groups": n_groups,
        "samples_in_groups": int(member.sum()),
        "duplicates": int(issue.sum()),
        "exact_copies": int((exact & issue).sum()),
        "largest_group": int(groups.size.max()) if n else 0,
        "label_conflict_groups": int(len(np.unique(root[conflict]))),
    }
    return CheckResult(table=table, summary=summary)


def near_duplicate_pairs(
    graph: KnnGraph,
    threshold: float,
    texts: Sequence[str] | None = None,
    max_word_edits: float | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The near-duplicate pairs ``(a, b)`` (each unordered pair once, ``a < b``) among the
    graph's edges at or above ``threshold`` and, with ``texts`` and ``max_word_edits``, within
    the word-edit budget; plus the count of edges at or above the threshold."""
    n = len(graph.ids)
    a, b, _ = edges_from_graph(graph.ids, graph.sims, threshold)
    key = np.unique(np.minimum(a, b) * n + np.maximum(a, b))
    a, b = key // n, key % n
    if texts is not None and max_word_edits is not None and len(key):
        rows = np.unique(np.concatenate([a, b])).tolist()
        words = dict(zip(rows, tokenise([texts[i] for i in rows]), strict=True))
        keep = within_word_edits(words, a, b, max_word_edits)
        a, b = a[keep], b[keep]
    return a, b, int(len(key))
