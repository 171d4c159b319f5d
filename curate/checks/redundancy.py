"""Redundancy: a ranked pruning set for the labelled training samples.

Every labelled training sample gets a place in a *keep ranking*; the keep set is the first
``redundancy.keep_fraction`` of it. The ranking is built from four ideas:

* **Class quotas.** Clusters are formed inside each class (FAISS spherical k-means; by default
  one cluster per class, ``redundancy.clusters`` spreads that many over the classes in
  proportion to their size), and clusters are interleaved in proportion to their size, so any
  prefix of the ranking keeps about the same fraction of every class and cluster. A classifier
  is trained per class, so a pruning set that shifts the class balance costs accuracy.
* **Margin difficulty** (in the spirit of Sorscher et al. 2022, "Beyond neural scaling laws",
  with the label-aware margin in place of the distance to an unsupervised centroid): the cosine
  distance to the sample's own cluster centroid minus the cosine distance to the nearest
  centroid of another class (just the former when there is one class). High = near the class
  boundary (hard), low = prototypical (easy).
* **Soft preference.** Inside each cluster samples are drawn without replacement with weight
  ``exp(s * u)`` (Gumbel top-k, seeded), ``u`` in [0, 1] the sample's difficulty rank in its
  cluster (0 = easiest), ``s`` = ``redundancy.preference_strength`` for ``keep: hard`` and
  ``-s`` for ``keep: easy``; 0 is stratified random, a large value a strict hard- or easy-first
  order. A strict order keeps only one end of each class and loses coverage when much is pruned.
  ``keep: auto`` follows that paper's finding — keep easy samples when data is scarce, hard
  ones when it is plentiful — switching at ``redundancy.large_dataset_rows`` (1,000) training
  samples. The switch was chosen on the tuning split of benchmarks/redundancy.py (banking77
  at 1,000, 2,500 and 10,003 rows: keeping hard samples beat keeping easy ones at each), so
  the easy regime is left to smaller sets, which that benchmark does not measure.
* **Pruned first.** *Possible label errors*: samples whose labelled training kNN-graph
  neighbours carry their label at most ``redundancy.label_agreement`` of the time go last in
  their cluster; a hard-first preference would otherwise keep them first. *Semantic duplicates*
  (SemDeDup, Abbas et al. 2023): training samples of the same cluster (hence label) that are at
  least ``redundancy.threshold`` cosine-similar (graph edges) form sets; every member but one
  (the one the preference favours) goes after all other samples.

Per training sample: ``cluster``, ``difficulty``, ``is_semantic_duplicate``, ``duplicate_of``,
``keep_rank`` (1 = kept first), ``in_keep_set``, ``is_redundancy_issue`` (not in the keep set)
and ``redundancy_score`` (1 for the first-ranked, 0 for the last; lower = pruned sooner).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa

from curate.checks import CheckResult, register
from curate.index import kmeans
from curate.index.components import union_find
from curate.index.graph import KnnGraph
from curate.settings import check_range

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config

#: Bound on the (rows x centroids) similarity block computed at once.
BLOCK = 1 << 24


@dataclass(frozen=True)
class RedundancyConfig:
    """Redundancy: a ranked pruning set of the labelled training samples: class-stratified
    clusters, semantic duplicates (SemDeDup) pruned first, then a difficulty preference. See
    README, 'Duplicates, leakage, outliers and redundancy'."""

    #: k-means clusters inside each class; ``null``: one per class. A number is spread over
    #: the classes in proportion to their size, at least one each.
    clusters: int | None = None
    #: Within a cluster, samples at least this cosine-similar are semantic duplicates;
    #: ``null``: the default for data.modality (pixel projections of small images are all
    #: highly similar, so images get a higher one).
    threshold: float | None = None
    #: Size of the keep set (``in_keep_set``) as a fraction of the training samples.
    keep_fraction: float = 0.7
    #: Keep ``hard`` samples first (near the class boundary), ``easy`` ones (prototypical),
    #: or ``auto``: easy below ``large_dataset_rows`` training samples, hard from there on.
    keep: Literal["auto", "easy", "hard"] = "auto"
    #: Training samples from which ``keep: auto`` keeps hard samples first: chosen on
    #: benchmarks/redundancy.py's tuning split (hard beat easy from 1,000 rows up).
    large_dataset_rows: int = 1000
    #: How strongly the keep order follows difficulty inside a cluster: 0 is stratified
    #: random, large values a strict easy- or hard-first order.
    preference_strength: float = 3.0
    #: Samples whose training neighbours carry their label at most this often are possible
    #: label errors and go last in their cluster (pruned first); ``null`` turns this off.
    label_agreement: float | None = 0.1

    def validate(self, cfg: Config) -> None:
        t, agreement = self.threshold, self.label_agreement
        check_range("redundancy.threshold", t, t is None or 0 < t <= 1, "in (0, 1] or null")
        check_range(
            "redundancy.preference_strength",
            self.preference_strength,
            self.preference_strength >= 0,
            ">= 0",
        )
        check_range(
            "redundancy.label_agreement",
            agreement,
            agreement is None or 0 <= agreement <= 1,
            "in [0, 1] or null",
        )
        check_range(
            "redundancy.keep_fraction",
            self.keep_fraction,
            0 < self.keep_fraction <= 1,
            "in (0, 1]",
        )
        check_range(
            "redundancy.clusters",
            self.clusters,
            self.clusters is None or self.clusters >= 1,
            ">= 1 or null",
        )


#: Semantic-duplicate thresholds by modality when ``redundancy.threshold`` is null
#: (benchmarks/redundancy.py for text; pixel projections of small images are all similar).
REDUNDANCY_THRESHOLDS = {"text": 0.98, "image": 0.99, "tabular": 0.98, "embedding": 0.98}


def redundancy_threshold(cfg: RedundancyConfig, modality: str) -> float:
    """The configured semantic-duplicate threshold, or the default for ``modality``."""
    return REDUNDANCY_THRESHOLDS[modality] if cfg.threshold is None else cfg.threshold


def keep_policy(n_train: int, cfg: RedundancyConfig) -> str:
    if cfg.keep != "auto":
        return cfg.keep
    return "hard" if n_train >= cfg.large_dataset_rows else "easy"


def class_clusters(
    X: np.ndarray, y: np.ndarray, n_classes: int, clusters: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K-means inside each class: ``(assignment (m,), centroids (c, d), centroid class (c,))``.

    ``clusters`` (total, ``None``: one per class) is spread over the classes in proportion to
    their size, at least one each; one cluster's centroid is the normalised class mean.
    """
    m = len(y)
    assign = np.empty(m, np.int64)
    cents, owner, offset = [], [], 0
    by_class = np.argsort(y, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(y, minlength=n_classes))])
    for c in range(n_classes):
        r = by_class[bounds[c] : bounds[c + 1]]
        k = 1 if clusters is None else max(1, min(len(r), int(round(clusters * len(r) / m))))
        if k == 1:
            mean = X[r].mean(0, keepdims=True)
            cent, a = mean / max(float(np.linalg.norm(mean)), 1e-12), np.zeros(len(r), np.int64)
        else:
            cent, a = kmeans(X[r], k, seed=seed)
        assign[r] = a + offset
        offset += len(cent)
        cents.append(np.asarray(cent, np.float32))
        owner.append(np.full(len(cent), c, np.int64))
    return assign, np.concatenate(cents), np.concatenate(owner)


def margin_difficulty(
    X: np.ndarray, y: np.ndarray, cluster: np.ndarray, centroids: np.ndarray, owner: np.ndarray
) -> np.ndarray:
    """Cosine distance to the own centroid minus that to the nearest other class's centroid."""
    own = np.einsum("ij,ij->i", X, centroids[cluster]).astype(np.float64)
    other = np.ones(len(y))  # one class: the difficulty is the distance to the own centroid
    if owner.max(initial=0) > 0:
        step = max(1, BLOCK // len(centroids))
        for s in range(0, len(y), step):
            sims = X[s : s + step] @ centroids.T
            sims[owner[None, :] == y[s : s + step, None]] = -np.inf
            other[s : s + step] = sims.max(1)
    return other - own


def within_order(pos_key: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Each sample's place in its cluster under ``pos_key`` (lexsort keys, last = primary
    after the cluster), as a fraction of the cluster's size in (0, 1)."""
    m = len(cluster)
    within = np.lexsort((np.arange(m), *pos_key, cluster))
    sizes = np.bincount(cluster, minlength=n_clusters)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.empty(m, np.float64)
    position[within] = np.arange(m) - starts[cluster[within]]
    return (position + 0.5) / np.maximum(sizes[cluster], 1)


@register("redundancy")
def find_redundant(
    sample_ids: Sequence[str],
    embeddings: np.ndarray,
    graph: KnnGraph,
    *,
    splits: Sequence[str],
    labels: Sequence[str | None],
    cfg: RedundancyConfig | None = None,
    seed: int = 0,
    modality: str = "text",
) -> CheckResult:
    cfg = cfg or RedundancyConfig()
    threshold = redundancy_threshold(cfg, modality)
    n = len(sample_ids)
    train = np.array(
        [s == "train" and lab is not None for s, lab in zip(splits, labels, strict=True)], bool
    )
    rows = np.flatnonzero(train)
    m = len(rows)
    policy = keep_policy(m, cfg)
    strength = cfg.preference_strength
    agreement = cfg.label_agreement
    X = np.ascontiguousarray(embeddings[rows], dtype=np.float32)
    classes, y = np.unique(np.asarray([labels[i] for i in rows], dtype=object), return_inverse=True)
    y = y.astype(np.int64)
    if m:
        cluster, centroids, owner = class_clusters(X, y, len(classes), cfg.clusters, seed)
        difficulty = margin_difficulty(X, y, cluster, centroids, owner)
    else:
        cluster, centroids, owner = rows, np.empty((0, 0)), rows
        difficulty = np.empty(0, np.float64)
    n_clusters = len(centroids)

    # kNN-graph neighbours that are labelled training samples (-1: none).
    local = np.full(n, -1, np.int64)
    local[rows] = np.arange(m)
    nb = np.where(graph.ids[rows] >= 0, local[graph.ids[rows]], -1)
    valid = nb >= 0
    same = valid & (y[np.where(valid, nb, 0)] == y[:, None])
    n_valid = valid.sum(1)
    if agreement is None:
        suspect = np.zeros(m, bool)
    else:
        suspect = (n_valid > 0) & (same.sum(1) <= agreement * n_valid)

    # Semantic duplicates: graph edges between training samples of one cluster (and label).
    src, col = np.nonzero(valid & (graph.sims[rows] >= threshold))
    a, b = src, nb[src, col]
    ok = cluster[a] == cluster[b]
    root = union_find(m, a[ok], b[ok])
    # Keep the member the policy prefers: least difficult for "easy", most for "hard".
    pref = difficulty if policy == "easy" else -difficulty
    order = np.lexsort((np.arange(m), pref, root))
    first = np.ones(m, bool)
    first[1:] = root[order][1:] != root[order][:-1]
    keeper = np.empty(m, np.int64)
    keeper_of_root = dict(zip(root[order][first].tolist(), order[first].tolist(), strict=True))
    keeper[:] = [keeper_of_root[r] for r in root.tolist()]
    semdup = keeper != np.arange(m)

    # Soft preference inside each cluster: Gumbel top-k with weight exp(sign * strength * u).
    u = within_order((difficulty,), cluster, n_clusters) if m else difficulty
    sign = 1.0 if policy == "hard" else -1.0
    key = -sign * strength * u - np.random.default_rng(seed).gumbel(size=m)
    # Place in the cluster (duplicates, then possible label errors last), as a fraction of the
    # cluster's size: sorting on it interleaves clusters in proportion.
    fraction = within_order((key, suspect, semdup), cluster, n_clusters) if m else difficulty
    ranking = np.lexsort((np.arange(m), fraction, semdup))
    keep_rank = np.empty(m, np.int64)
    keep_rank[ranking] = np.arange(1, m + 1)
    n_keep = int(round(cfg.keep_fraction * m))
    in_keep = keep_rank <= n_keep
    score = 1.0 - (keep_rank - 1) / max(m - 1, 1)

    ids = np.asarray(sample_ids, dtype=object)[rows]
    table = pa.table(
        {
            "sample_id": pa.array(ids.tolist(), pa.string()),
            "cluster": pa.array(cluster, pa.int64()),
            "difficulty": pa.array(difficulty, pa.float64()),
            "is_semantic_duplicate": pa.array(semdup, pa.bool_()),
            "duplicate_of": pa.array(np.where(semdup, ids[keeper], None), pa.string()),
            "keep_rank": pa.array(keep_rank, pa.int64()),
            "in_keep_set": pa.array(in_keep, pa.bool_()),
            "is_redundancy_issue": pa.array(~in_keep, pa.bool_()),
            "redundancy_score": pa.array(score, pa.float64()),
        }
    ).sort_by("keep_rank")
    summary = {
        "training_samples": m,
        "classes": len(classes),
        "clusters": int(n_clusters),
        "semantic_duplicates": int(semdup.sum()),
        "possible_label_errors": int(suspect.sum()),
        "threshold": threshold,
        "keep": policy,
        "preference_strength": strength,
        "keep_fraction": cfg.keep_fraction,
        "kept": int(in_keep.sum()),
        "pruned": int((~in_keep).sum()),
        "not_considered": int(n - m),
    }
    return CheckResult(table=table, summary=summary)
