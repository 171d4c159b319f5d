"""Active-learning candidates: which unlabelled pool samples to annotate next.

Three signals, each selectable through its weight:

* **uncertainty** of the reference model on the pool sample (``margin``: 1 - (p1 - p2);
  ``entropy``: normalised by log(classes); ``least_confidence``: 1 - p1);
* **similarity** to where the model fails: the cosine similarity to the nearest
  misclassified member of the top failure clusters (FAISS search of the pool);
* **diversity**: the cosine distance to the nearest labelled or already-picked sample, so the
  batch is not many copies of one confusing example (greedy k-center / coreset).

The signals live on very different scales (an underconfident model puts most of the pool's
margin uncertainty within a few hundredths of 1; similarity is 0 for most of the pool), so each
is turned into a percentile before weighting: uncertainty and similarity over the pool,
diversity through the distribution of the candidates' initial distances. The batch is built
greedily: each pick maximises ``w_u * uncertainty + w_s * similarity + w_d * diversity`` (as
percentiles), then the diversity of the rest is updated against the pick. Pool samples that are
near duplicates of labelled data are left out. The output reports the raw signals. With every
weight 0 (a pool with no labels at all has no model to be uncertain, and the default weighs
nothing else) the batch is chosen by diversity alone.

The default (``configs/active_learning.yaml``) is plain margin sampling, weights 1 / 0 / 0:
``benchmarks/active_learning.py`` chose it among the combinations on a tuning split of
banking77's training pool and judged it on held-out data (banking77's test split and clinc150,
other seeds); see its README section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curate.config import ActiveLearningConfig

SCHEMA = pa.schema(
    [
        ("rank", pa.int64()),
        ("sample_id", pa.string()),
        ("score", pa.float64()),
        ("uncertainty", pa.float64()),
        ("similarity", pa.float64()),
        ("diversity", pa.float64()),
        ("predicted_label", pa.string()),
        ("confidence", pa.float64()),
        ("reasons", pa.string()),
    ]
)

#: Above this many pool samples, the greedy pass looks only at the best by uncertainty and
#: similarity alone (at least ``CANDIDATE_FACTOR`` x batch of them), bounding its cost.
MAX_CANDIDATES = 200_000
CANDIDATE_FACTOR = 50


def uncertainty(probs: np.ndarray, measure: str = "margin") -> np.ndarray:
    """Per-row uncertainty in [0, 1] (1 = most uncertain) of an (n, c) probability matrix."""
    probs = np.asarray(probs, np.float64)
    if probs.shape[1] < 2:
        return np.zeros(len(probs))
    if measure == "margin":
        top2 = -np.partition(-probs, 1, axis=1)[:, :2]
        return 1.0 - (top2[:, 0] - top2[:, 1])
    if measure == "entropy":
        p = np.clip(probs, 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1) / np.log(probs.shape[1])
    if measure == "least_confidence":
        c = probs.shape[1]
        return (1.0 - probs.max(axis=1)) * c / (c - 1)
    raise ValueError(f"unknown uncertainty measure {measure!r}")  # programming error


def percentile(values: np.ndarray) -> np.ndarray:
    """Percentile rank in [0, 1]; ties share their average rank."""
    from scipy.stats import rankdata

    values = np.asarray(values, np.float64)
    if len(values) < 2:
        return np.zeros(len(values))
    return (rankdata(values) - 1) / (len(values) - 1)


@dataclass(frozen=True)
class Selection:
    table: pa.Table
    summary: dict


def select_batch(
    pool_ids: Sequence[str],
    pool_probs: np.ndarray,
    pool_emb: np.ndarray,
    labelled_emb: np.ndarray,
    classes: Sequence[str],
    cfg: ActiveLearningConfig,
    *,
    targets: np.ndarray | None = None,
    excluded: np.ndarray | None = None,
) -> Selection:
    """Choose ``cfg.batch_size`` pool samples (see the module docstring).

    Parameters
    ----------
    pool_ids, pool_probs, pool_emb
        The pool samples, the reference model's probabilities for them and their
        L2-normalised embeddings.
    labelled_emb
        Embeddings of the labelled samples (the diversity term measures distance to them).
    targets
        Embeddings of the failure-cluster samples to find more data like (may be empty).
    excluded
        Boolean mask of pool samples never to pick (near duplicates of labelled data).
    """
    from curate.index import nearest_in

    n = len(pool_ids)
    w = {"uncertainty": 0.0, "diversity": 0.0, "similarity": 0.0, **cfg.weights}
    if not any(v > 0 for v in w.values()):
        w["diversity"] = 1.0  # nothing else to rank by: spread the batch (k-center)
    excluded = np.zeros(n, bool) if excluded is None else np.asarray(excluded, bool)
    unc = uncertainty(pool_probs, cfg.uncertainty) if n else np.zeros(0)
    sim = np.zeros(n)
    if targets is not None and len(targets) and n and w["similarity"] > 0:
        ids, sims = nearest_in(pool_emb, targets, cfg.neighbours)
        flat_ids, flat_sims = ids.ravel(), sims.ravel()
        ok = flat_ids >= 0
        np.maximum.at(sim, flat_ids[ok], np.clip(flat_sims[ok], 0.0, 1.0))
    available = np.flatnonzero(~excluded)
    batch = min(cfg.batch_size, len(available))
    base = np.zeros(n)
    base[available] = w["uncertainty"] * percentile(unc[available]) + w["similarity"] * percentile(
        sim[available]
    )
    # The greedy pass looks at the best candidates by the static terms only.
    keep = min(len(available), max(batch * CANDIDATE_FACTOR, MAX_CANDIDATES))
    cand = available[np.argsort(-base[available], kind="stable")[:keep]]
    emb = np.ascontiguousarray(pool_emb[cand], np.float32)
    if len(labelled_emb) and len(cand):
        _, near = nearest_in(labelled_emb, emb, 1)
        dist = np.clip(1.0 - near[:, 0].astype(np.float64), 0.0, 2.0) / 2.0
    else:
        dist = np.ones(len(cand))
    reference = np.sort(dist)  # diversity as a percentile of the initial distances
    # With no labelled data every initial distance is the same and a percentile says nothing:
    # the distances themselves (in [0, 1]) are the diversity then.
    flat = len(reference) == 0 or reference[0] == reference[-1]
    score_at_pick: list[float] = []
    picked: list[int] = []
    div_at_pick: list[float] = []
    active = np.ones(len(cand), bool)
    for _ in range(batch):
        if flat:
            div = dist
        else:
            div = np.searchsorted(reference, dist, side="right") / max(len(reference), 1)
        total = np.where(active, base[cand] + w["diversity"] * div, -np.inf)
        j = int(np.argmax(total))
        score_at_pick.append(float(total[j]))
        picked.append(j)
        div_at_pick.append(float(dist[j]))
        active[j] = False
        if w["diversity"] > 0:
            d_new = np.clip(1.0 - emb @ emb[j], 0.0, 2.0) / 2.0
            dist = np.minimum(dist, d_new)
    rows = cand[picked] if picked else np.zeros(0, np.int64)
    probs = np.asarray(pool_probs)
    best = probs[rows].argmax(axis=1) if len(rows) else np.zeros(0, np.int64)
    reasons = []
    for i, r in enumerate(rows):
        parts = []
        if w["uncertainty"] > 0:
            parts.append(f"uncertain ({cfg.uncertainty} {unc[r]:.2f})")
        if w["similarity"] > 0 and sim[r] > 0:
            parts.append(f"like the failure clusters (similarity {sim[r]:.2f})")
        if w["diversity"] > 0:
            parts.append(f"unlike the labelled data (distance {div_at_pick[i]:.2f})")
        reasons.append("; ".join(parts))
    table = pa.table(
        {
            "rank": np.arange(1, len(rows) + 1, dtype=np.int64),
            "sample_id": [pool_ids[r] for r in rows],
            "score": np.asarray(score_at_pick, np.float64),
            "uncertainty": unc[rows].astype(np.float64),
            "similarity": sim[rows].astype(np.float64),
            "diversity": np.asarray(div_at_pick, np.float64),
            "predicted_label": [classes[b] for b in best],
            "confidence": probs[rows, best].astype(np.float64) if len(rows) else np.zeros(0),
            "reasons": reasons,
        },
        schema=SCHEMA,
    )
    summary = {
        "pool": n,
        "excluded_near_duplicates_of_labelled": int(excluded.sum()),
        "batch_size": int(len(rows)),
        "uncertainty": cfg.uncertainty,
        "weights": w,
        "target_samples": 0 if targets is None else int(len(targets)),
        "mean_uncertainty_batch": float(unc[rows].mean()) if len(rows) else None,
        "mean_uncertainty_pool": float(unc.mean()) if n else None,
    }
    return Selection(table=table, summary=summary)
