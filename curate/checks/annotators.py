"""Multi-annotator data: consensus labels, consensus quality and annotator quality (CROWDLAB).

Given one label column per annotator (blank where that annotator did not label a sample) and
the out-of-sample ``pred_probs``, cleanlab's multiannotator module estimates a consensus label
and its quality per sample, and a quality score per annotator. An annotator is flagged as
unreliable when their agreement with the consensus is significantly below the pooled agreement
of the other annotators (one-sided two-proportion z-test at ``alpha``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curate.errors import DataError

EMPTY_ANNOTATORS = pa.schema(
    [
        ("annotator", pa.string()),
        ("labels", pa.int64()),
        ("annotator_quality", pa.float64()),
        ("agreement_with_consensus", pa.float64()),
        ("worst_class", pa.string()),
        ("z_vs_others", pa.float64()),
        ("p_value", pa.float64()),
        ("is_unreliable", pa.bool_()),
    ]
).empty_table()
EMPTY_CONSENSUS = pa.schema(
    [
        ("sample_id", pa.string()),
        ("consensus_label", pa.string()),
        ("consensus_quality", pa.float64()),
        ("annotator_agreement", pa.float64()),
    ]
).empty_table()


@dataclass(frozen=True)
class AnnotatorResult:
    per_sample: pa.Table  # sample_id, consensus_label, consensus_quality, annotator_agreement
    per_annotator: pa.Table
    summary: dict


def assess_annotators(
    sample_ids: list[str],
    annotations: dict[str, list[str | None]],
    pred_probs: np.ndarray,
    classes: tuple[str, ...],
    alpha: float = 0.01,
) -> AnnotatorResult:
    """``annotations`` maps annotator name -> labels aligned with ``sample_ids``."""
    import pandas as pd
    from cleanlab.multiannotator import get_label_quality_multiannotator
    from scipy.stats import norm

    index = {c: k for k, c in enumerate(classes)}
    unknown = sorted({v for col in annotations.values() for v in col if v and v not in index})
    if unknown:
        raise DataError(
            f"annotator labels {', '.join(map(repr, unknown[:5]))} are not among the dataset's "
            f"classes ({', '.join(map(repr, classes))}). Fix them or add them to the labels."
        )
    wide = pd.DataFrame(
        {a: [index[v] if v else np.nan for v in col] for a, col in annotations.items()}
    )
    rows = np.flatnonzero(wide.notna().any(axis=1).to_numpy())
    if len(rows) == 0:
        raise DataError("the annotator columns are all empty; nothing to assess.")
    result = get_label_quality_multiannotator(
        wide.iloc[rows].reset_index(drop=True), pred_probs[rows], verbose=False
    )
    quality = result["label_quality"]
    stats = result["annotator_stats"].reindex(list(annotations))

    n = stats["num_examples_labeled"].to_numpy(float)
    agree = stats["agreement_with_consensus"].to_numpy(float) * n
    z = np.zeros(len(n))
    p_values = np.ones(len(n))
    for j in range(len(n)):
        n_o, a_o = n.sum() - n[j], agree.sum() - agree[j]
        if n[j] == 0 or n_o == 0:
            continue
        pooled = (agree[j] + a_o) / (n[j] + n_o)
        se = np.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n[j] + 1 / n_o))
        z[j] = (agree[j] / n[j] - a_o / n_o) / se
        p_values[j] = norm.cdf(z[j])  # one-sided: significantly *lower* agreement
    unreliable = p_values < alpha

    per_annotator = pa.Table.from_pydict(
        {
            "annotator": pa.array(list(annotations), pa.string()),
            "labels": pa.array(n.astype(int)),
            "annotator_quality": pa.array(stats["annotator_quality"].to_numpy(float)),
            "agreement_with_consensus": pa.array(stats["agreement_with_consensus"].to_numpy(float)),
            "worst_class": pa.array([classes[int(k)] for k in stats["worst_class"]], pa.string()),
            "z_vs_others": pa.array(z),
            "p_value": pa.array(p_values),
            "is_unreliable": pa.array(unreliable),
        },
        schema=EMPTY_ANNOTATORS.schema,
    )
    per_sample = pa.Table.from_pydict(
        {
            "sample_id": pa.array([sample_ids[i] for i in rows], pa.string()),
            "consensus_label": pa.array(
                [classes[int(k)] for k in quality["consensus_label"]], pa.string()
            ),
            "consensus_quality": pa.array(quality["consensus_quality_score"].to_numpy(float)),
            "annotator_agreement": pa.array(quality["annotator_agreement"].to_numpy(float)),
        },
        schema=EMPTY_CONSENSUS.schema,
    )
    summary = {
        "annotators": len(annotations),
        "samples": len(rows),
        "unreliable": [a for a, u in zip(annotations, unreliable, strict=True) if u],
        "alpha": alpha,
    }
    return AnnotatorResult(per_sample=per_sample, per_annotator=per_annotator, summary=summary)
