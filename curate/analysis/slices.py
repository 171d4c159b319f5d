"""Metadata slices: the reference model's error rate per value of a metadata column.

For each column named in ``analysis.slice_columns`` (source, annotator, device, a time bucket
...) and each of its values: the labelled samples with that value, their out-of-sample error
rate with a 95% Wilson interval, and the rate of all the others. A slice is **flagged** when it
is significantly worse than the rest: one-sided two-proportion z-test, p-value multiplied by
the number of values of that column (Bonferroni) below ``analysis.slice_alpha``, and at least
``analysis.min_slice_size`` samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("column", pa.string()),
        ("value", pa.string()),
        ("size", pa.int64()),
        ("errors", pa.int64()),
        ("error_rate", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("rest_error_rate", pa.float64()),
        ("label_issues", pa.int64()),
        ("p_value", pa.float64()),
        ("is_worse", pa.bool_()),
    ]
)


def wilson(errors: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a binomial rate."""
    if n == 0:
        return 0.0, 1.0
    p = errors / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _one_sided_p(e1: int, n1: int, e2: int, n2: int) -> float:
    """P(rate1 > rate2 by chance): one-sided pooled two-proportion z-test."""
    from scipy.stats import norm

    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (e1 + e2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return float(norm.sf((e1 / n1 - e2 / n2) / se))


def metadata_slices(
    columns: Mapping[str, Sequence],
    errors: np.ndarray,
    *,
    label_issues: np.ndarray | None = None,
    alpha: float = 0.05,
    min_size: int = 10,
) -> tuple[pa.Table, dict]:
    """Error rate per metadata value (module docstring). ``columns`` maps a column name to its
    per-sample values (aligned with ``errors``)."""
    errors = np.asarray(errors, bool)
    issues = np.zeros(len(errors), bool) if label_issues is None else np.asarray(label_issues)
    total_e, total_n = int(errors.sum()), len(errors)
    rows = []
    for name, raw in columns.items():
        values = np.array(["(missing)" if v is None else str(v) for v in raw], object)
        uniques = sorted(set(values.tolist()))
        for value in uniques:
            members = values == value
            n, e = int(members.sum()), int(errors[members].sum())
            rest_n, rest_e = total_n - n, total_e - e
            p = min(1.0, _one_sided_p(e, n, rest_e, rest_n) * len(uniques))
            low, high = wilson(e, n)
            rows.append(
                {
                    "column": name,
                    "value": value,
                    "size": n,
                    "errors": e,
                    "error_rate": e / n if n else 0.0,
                    "ci_low": low,
                    "ci_high": high,
                    "rest_error_rate": rest_e / rest_n if rest_n else 0.0,
                    "label_issues": int(issues[members].sum()),
                    "p_value": p,
                    "is_worse": bool(p < alpha and n >= min_size),
                }
            )
    rows.sort(key=lambda r: (r["column"], r["p_value"], r["value"]))
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    summary = {
        "columns": list(columns),
        "error_rate": total_e / total_n if total_n else 0.0,
        "flagged": [
            {
                k: r[k]
                for k in ("column", "value", "size", "error_rate", "rest_error_rate", "p_value")
            }  # fmt: skip
            for r in rows
            if r["is_worse"]
        ],
    }
    return table, summary
