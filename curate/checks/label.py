"""Label issues: cleanlab on out-of-sample pred_probs, plus duplicates that disagree.

Per sample (labelled rows only): ``is_label_issue``, ``label_score`` (cleanlab label quality,
lower = more likely wrong), ``given_label``, ``suggested_label`` and its confidence, and a
plain-words ``reason``. The summary gives the share flagged overall, per class and per split
(bootstrap 95% intervals), a bracket on the true label-noise rate (``noise_bracket``, see
:func:`noise_bracket`), the noise matrix, and the class pairs most often confused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from curate.checks import CheckResult, register


@dataclass(frozen=True)
class LabelConfig:
    """Label-issue check: cleanlab on the out-of-sample pred_probs of the predict stage."""

    #: cleanlab ``find_label_issues`` filter.
    filter_by: Literal[
        "prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"
    ] = "prune_by_noise_rate"
    #: cleanlab label quality score method for ``label_score``.
    score_method: Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"] = (
        "self_confidence"
    )
    #: Bootstrap resamples for the noise-rate confidence intervals.
    bootstrap: int = 200
    #: Significance level for flagging an annotator as unreliable.
    annotator_alpha: float = 0.01


@register("label")
def find_label_issues(
    sample_ids: list[str],
    splits: list[str],
    labels: list[str | None],
    content_hashes: list[str],
    pred_probs: np.ndarray,
    classes: tuple[str, ...],
    cfg: LabelConfig,
    seed: int = 0,
    duplicate_groups: list[str | None] | None = None,
    duplicate_links: list[str | None] | None = None,
) -> CheckResult:
    """Run the label check; inputs are aligned lists/arrays over all samples.

    Copies that disagree on the label are issues too: exact copies (equal content hash)
    always, and members of ``duplicate_groups`` (the near-duplicate check's ``group_id``,
    None outside groups) when given. With ``duplicate_links`` (its ``linked_to``: the member
    each one is a near-duplicate of), only direct pairs count as evidence: a member is flagged
    when a sample linked to it, or an exact copy of it, carries another label; a member that
    only shares a group with one is not.
    """
    import cleanlab.filter
    import cleanlab.rank

    rows = np.array([i for i, lab in enumerate(labels) if lab is not None], dtype=np.int64)
    if not len(rows):  # an unlabelled pool: no label to check
        return CheckResult(table=_empty_table(), summary=_empty_summary())
    index = {c: k for k, c in enumerate(classes)}
    y = np.array([index[labels[i]] for i in rows], dtype=np.int64)
    # Exact 0/1 probabilities (e.g. from a distance-weighted kNN) break entropy-based scores.
    P = np.clip(np.asarray(pred_probs, np.float64)[rows], 1e-6, 1.0)
    P = P / P.sum(axis=1, keepdims=True)
    flagged = cleanlab.filter.find_label_issues(y, P, filter_by=cfg.filter_by)
    scores = cleanlab.rank.get_label_quality_scores(y, P, method=cfg.score_method)
    suggested = P.argmax(axis=1)
    confidence = P.max(axis=1)
    reasons = [
        f"model predicts '{classes[s]}' with {c:.2f}; given '{classes[g]}'" if f else ""
        for f, s, c, g in zip(flagged, suggested, confidence, y, strict=True)
    ]
    groups = duplicate_groups or [None] * len(content_hashes)
    keys = [
        ("g", g) if g is not None else ("h", h) for g, h in zip(groups, content_hashes, strict=True)
    ]
    _add_duplicate_conflicts(
        rows,
        y,
        P,
        keys,
        content_hashes,
        sample_ids,
        classes,
        flagged,
        suggested,
        confidence,
        reasons,
        _partners(sample_ids, content_hashes, duplicate_links),
    )

    table = pa.table(
        {
            "sample_id": pa.array([sample_ids[i] for i in rows], pa.string()),
            "split": pa.array([splits[i] for i in rows], pa.string()),
            "is_label_issue": pa.array(flagged, pa.bool_()),
            "label_score": pa.array(scores, pa.float64()),
            "given_label": pa.array([classes[k] for k in y], pa.string()),
            "suggested_label": pa.array([classes[k] for k in suggested], pa.string()),
            "suggested_label_confidence": pa.array(confidence, pa.float64()),
            "reason": pa.array(reasons, pa.string()),
        }
    )
    summary = _summary(y, P, flagged, [splits[i] for i in rows], classes, cfg, seed)
    return CheckResult(table=table, summary=summary)


#: Columns of the per-sample table (one row per labelled sample).
SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("split", pa.string()),
        ("is_label_issue", pa.bool_()),
        ("label_score", pa.float64()),
        ("given_label", pa.string()),
        ("suggested_label", pa.string()),
        ("suggested_label_confidence", pa.float64()),
        ("reason", pa.string()),
    ]
)


def _empty_table() -> pa.Table:
    return SCHEMA.empty_table()


def _empty_summary() -> dict:
    """The summary without labelled samples: nothing flagged, no noise estimate."""
    return {
        "labelled": 0,
        "issues": 0,
        "overall": {"n": 0, "noise_rate": None, "ci95": None},
        "joint_noise_rate": None,
        "noise_bracket": {
            "method": dict(BRACKET_METHODS),
            "overall": {"n": 0, "lower": None, "upper": None},
            "per_class": {},
            "per_split": {},
        },
        "per_class": {},
        "per_split": {},
        "noise_matrix": {},
        "confused_pairs": [],
    }


def _partners(
    ids: list[str], hashes: list[str], links: list[str | None] | None
) -> dict[int, set[int]] | None:
    """The samples each sample is directly a duplicate of: the one it is linked to, those
    linked to it, and its exact copies (equal content hash). None without ``links``."""
    if links is None:
        return None
    position = {sid: i for i, sid in enumerate(ids)}
    out: dict[int, set[int]] = defaultdict(set)
    for i, link in enumerate(links):
        j = position.get(link) if link is not None else None
        if j is not None and j != i:
            out[i].add(j)
            out[j].add(i)
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(hashes):
        by_hash[h].append(i)
    for copies in by_hash.values():
        if 1 < len(copies):
            for i in copies:
                out[i].update(c for c in copies if c != i)
    return out


def _add_duplicate_conflicts(
    rows, y, P, keys, hashes, ids, classes, flagged, suggested, confidence, reasons, partners=None
) -> None:
    """Copies (equal ``keys``) with different labels: the members whose label the model (summed
    over the group) does not prefer are issues, with the group's preferred label as suggestion.
    Evidence against a member's label is a member of its group with another label that is an
    exact copy of it, or a near duplicate of it (with ``partners``, sample -> the samples it is
    directly a duplicate of: one of those) whose label the model finds plausible for the member
    too: its probability reaches that class's confident-learning threshold (the mean
    probability of the class over the samples labelled with it). Without the second condition,
    vectors on which near duplicates are common (e.g. a classifier's softmax, where samples the
    model is equally unsure about are close whatever their content) would flag every
    ambiguous sample whose neighbour carries the other label."""
    labelled_classes = np.unique(y)
    threshold = np.full(P.shape[1], np.inf)
    # (less a rounding margin: a probability equal to the mean reaches it)
    threshold[labelled_classes] = [P[y == k, k].mean() - 1e-9 for k in labelled_classes]
    groups: dict[object, list[int]] = defaultdict(list)
    for pos, i in enumerate(rows):
        groups[keys[i]].append(pos)
    for members in groups.values():
        given = {int(y[m]) for m in members}
        if len(given) < 2:
            continue
        summed = P[members].sum(axis=0)
        preferred = max(given, key=lambda k: summed[k])
        for m in members:
            if y[m] == preferred:
                continue
            direct = partners.get(rows[m], set()) if partners is not None else None
            others = [
                o
                for o in members
                if y[o] != y[m]
                and (
                    hashes[rows[o]] == hashes[rows[m]]
                    or ((direct is None or rows[o] in direct) and P[m, y[o]] >= threshold[y[o]])
                )
            ]
            if not others:
                continue
            exact = all(hashes[rows[o]] == hashes[rows[m]] for o in others)
            listed = ", ".join(f"{ids[rows[o]]} ('{classes[y[o]]}')" for o in others[:5])
            flagged[m] = True
            suggested[m] = preferred
            confidence[m] = float(summed[preferred] / len(members))
            kind = "exact duplicate" if exact else "near duplicate"
            note = f"{kind} of {listed} with a different label"
            reasons[m] = f"{reasons[m]}; {note}" if reasons[m] else note


def _rate(flags: np.ndarray, rng: np.random.Generator, n_boot: int) -> dict:
    """Fraction flagged with a bootstrap 95% interval (resampling i.i.d. flags is binomial)."""
    n = len(flags)
    p = float(flags.mean()) if n else 0.0
    draws = rng.binomial(n, p, size=n_boot) / n if n else np.zeros(1)
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {"n": n, "noise_rate": round(p, 4), "ci95": [round(float(lo), 4), round(float(hi), 4)]}


#: How each bound of ``noise_bracket`` is computed (written into the summary).
BRACKET_METHODS = {
    "lower": "cleanlab confident joint, not calibrated: share of samples whose out-of-fold "
    "pred_probs confidently put them in another class than the given one (probability at least "
    "that class's mean self-confidence), less its 95% sampling margin (Wilson)",
    "upper": "out-of-fold disagreement of the reference model with the given label, plus, where "
    "it agrees, its probability of the runner-up class (noise it may have learnt), plus the 95% "
    "sampling margin (Wilson)",
}
_Z = 1.96  # both bounds move out by a one-sided 97.5% margin: together a 95% bracket


def _wilson(p: float, n: int, side: int) -> float:
    """Wilson score bound (side -1: lower, +1: upper) of a share ``p`` of ``n``."""
    z2 = _Z * _Z
    centre = p + z2 / (2 * n)
    margin = _Z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return float(np.clip((centre + side * margin) / (1 + z2 / n), 0.0, 1.0))


def noise_bracket(y: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample terms of the bracket on the label-noise rate: the rate lies, on measured
    benchmarks, between the mean of ``low`` and the mean of ``high`` (each widened by its
    sampling margin in the summary).

    With t the true label, y the given one and m the model's out-of-fold argmax, the noise rate
    is exactly ``P(m != y) - P(m != y, y = t) + P(m = y, y != t)``: disagreement, less the
    model's own mistakes on correct labels, plus the noise the model repeats. Neither
    correction is observable, so:

    * ``high``: 1 where the model disagrees with the given label; where it agrees, its
      probability of the runner-up class, an estimate of the chance that the label is a
      mistake the model learnt too (crowd noise on ambiguous samples). The model's mistakes on
      correct labels are not subtracted, which keeps this an upper estimate.
    * ``low``: 1 for the samples cleanlab's confident joint puts off its diagonal (the model is
      confident of another class), not calibrated: calibration spreads that share over the
      samples the model is confident of no class, and then a model that errs on ~10% of
      correct labels lifts it above the true rate (measured on banking77 with planted noise).
    """
    import cleanlab.count

    n = len(y)
    _, off = cleanlab.count.compute_confident_joint(
        y, P, calibrate=False, return_indices_of_off_diagonals=True
    )
    low = np.zeros(n)
    low[off] = 1.0
    agree = P.argmax(axis=1) == y
    runner_up = np.partition(P, -2, axis=1)[:, -2] if P.shape[1] > 1 else np.zeros(n)
    high = np.where(agree, runner_up, 1.0)
    return low, high


def _bracket(low: np.ndarray, high: np.ndarray) -> dict:
    n = len(low)
    if not n:
        return {"n": 0, "lower": None, "upper": None}
    lower = _wilson(float(low.mean()), n, -1)
    upper = max(lower, _wilson(float(high.mean()), n, +1))
    return {"n": n, "lower": round(lower, 4), "upper": round(upper, 4)}


def bracket_text(bracket: dict | None) -> str | None:
    """``between X% and Y%`` for a bracket entry, None without one."""
    if not bracket or bracket.get("lower") is None or bracket.get("upper") is None:
        return None
    return f"between {bracket['lower']:.1%} and {bracket['upper']:.1%}"


def _summary(y, P, flagged, splits, classes, cfg: LabelConfig, seed: int) -> dict:
    import cleanlab.count
    import cleanlab.dataset

    rng = np.random.default_rng(seed)
    joint = cleanlab.count.estimate_joint(y, P)
    per_class = {c: _rate(flagged[y == k], rng, cfg.bootstrap) for k, c in enumerate(classes)}
    split_arr = np.array(splits)
    per_split = {s: _rate(flagged[split_arr == s], rng, cfg.bootstrap) for s in sorted(set(splits))}
    low, high = noise_bracket(y, P)
    bracket = {
        "method": dict(BRACKET_METHODS),
        "overall": _bracket(low, high),
        "per_class": {c: _bracket(low[y == k], high[y == k]) for k, c in enumerate(classes)},
        "per_split": {
            s: _bracket(low[split_arr == s], high[split_arr == s]) for s in sorted(set(splits))
        },
    }
    overlap = cleanlab.dataset.find_overlapping_classes(
        labels=y, pred_probs=P, class_names=list(classes)
    ).head(5)
    summary = {
        "labelled": int(len(y)),
        "issues": int(flagged.sum()),
        "overall": _rate(flagged, rng, cfg.bootstrap),
        "joint_noise_rate": round(float(1 - np.trace(joint)), 4),
        # The true label-noise rate lies between these (on every measured benchmark); the
        # share flagged ("overall") and the calibrated joint can sit far below or above it.
        "noise_bracket": bracket,
        "per_class": per_class,
        "per_split": per_split,
        # P(given label = row, true label = column), estimated by confident learning.
        "noise_matrix": {
            g: {t: round(float(joint[i, j]), 4) for j, t in enumerate(classes)}
            for i, g in enumerate(classes)
        },
        "confused_pairs": [
            {
                "classes": [str(r["Class Name A"]), str(r["Class Name B"])],
                "joint_probability": round(float(r["Joint Probability"]), 4),
                "examples": int(r["Num Overlapping Examples"]),
            }
            for _, r in overlap.iterrows()
        ],
    }
    if "test" in per_split:
        test, test_bracket = per_split["test"], bracket["per_split"]["test"]
        summary["test_noise_rate"] = test["noise_rate"]
        summary["test_noise_bracket"] = test_bracket
        summary["test_note"] = (
            f"The test split's label noise is {bracket_text(test_bracket)} "
            f"({test['noise_rate']:.1%} flagged): metric changes on it smaller than the noise "
            "are not meaningful."
        )
    return summary
