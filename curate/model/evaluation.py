"""Before/after evaluation: train the reference classifier on a version's train split, score
it on the held-out evaluation split, with bootstrap intervals.

The metrics (accuracy and macro-F1 with 95% bootstrap intervals, per-class F1) are DVC metrics
and plots, so ``dvc metrics diff REV_A REV_B`` shows whether curation helped. A difference is
*within noise* when it is smaller than the half-width of the interval; the label-issue stage's
estimate of the evaluation split's own label noise is reported beside it, because scores
measured against noisy labels cannot resolve differences below that noise.

The evaluation split is also scored without its *leaked* rows (rows with an exact or near
duplicate in the training data, from the leakage check): a model scored on copies of what it
was trained on looks better than it is on new data, so the score on the clean rows is the one to
trust, and a gap between the two is a finding in itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bootstrap_ci(
    y_true: np.ndarray, y_pred: np.ndarray, metric, n: int, seed: int
) -> tuple[float, float]:
    """95% percentile bootstrap interval of ``metric(y_true, y_pred)`` over the rows."""
    rng = np.random.default_rng(seed)
    values = np.empty(n)
    m = len(y_true)
    for i in range(n):
        idx = rng.integers(0, m, m)
        values[i] = metric(y_true[idx], y_pred[idx])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def evaluate(
    X_train: np.ndarray,
    y_train: Sequence[str],
    X_eval: np.ndarray,
    y_eval: Sequence[str],
    model,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    leaked: Sequence[bool] | None = None,
) -> dict:
    """Fit ``model`` on the train rows, score the evaluation rows. ``leaked`` (one flag per
    evaluation row) adds the scores without the leaked rows (see :func:`leak_adjusted`)."""
    from sklearn.metrics import accuracy_score, f1_score

    y_train = np.asarray(y_train, object)
    y_eval = np.asarray(y_eval, object)
    model.fit(X_train, y_train)
    pred = np.asarray(model.predict(X_eval), object)
    classes = sorted(set(y_train.tolist()) | set(y_eval.tolist()))

    def macro_f1(t, p):
        return f1_score(t, p, labels=classes, average="macro", zero_division=0)

    acc = float(accuracy_score(y_eval, pred))
    f1 = float(macro_f1(y_eval, pred))
    acc_ci = bootstrap_ci(y_eval, pred, accuracy_score, bootstrap, seed)
    f1_ci = bootstrap_ci(y_eval, pred, macro_f1, bootstrap, seed)
    per_class = f1_score(y_eval, pred, labels=classes, average=None, zero_division=0)
    flags = np.zeros(len(y_eval), bool) if leaked is None else leaked
    return {
        "train_rows": int(len(y_train)),
        "eval_rows": int(len(y_eval)),
        "accuracy": acc,
        "accuracy_ci_low": acc_ci[0],
        "accuracy_ci_high": acc_ci[1],
        "macro_f1": f1,
        "macro_f1_ci_low": f1_ci[0],
        "macro_f1_ci_high": f1_ci[1],
        "within_noise_below": round((acc_ci[1] - acc_ci[0]) / 2, 6),
        **leak_adjusted(y_eval, pred, flags, classes, bootstrap=bootstrap, seed=seed),
        "per_class_f1": {c: float(v) for c, v in zip(classes, per_class, strict=True)},
        "predictions": pred.tolist(),
    }


def leak_adjusted(
    y_eval: Sequence[str],
    pred: Sequence[str],
    leaked: Sequence[bool],
    classes: Sequence[str],
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict:
    """The same predictions scored without the leaked evaluation rows, and on those alone.

    ``leaked_rows`` and ``leak_share`` (of the evaluation rows); ``accuracy_leaked`` (None when
    no row leaks); ``accuracy_without_leaks`` with its 95% bootstrap interval (``bootstrap``
    resamples from ``seed``, as for the raw accuracy) and ``macro_f1_without_leaks`` over the
    same ``classes`` as the raw macro-F1 (None when every row leaks). With no leaked rows the
    numbers equal the raw ones.
    """
    from sklearn.metrics import accuracy_score, f1_score

    y_eval = np.asarray(y_eval, object)
    pred = np.asarray(pred, object)
    leaked = np.asarray(leaked, bool)
    if not len(y_eval) == len(pred) == len(leaked):
        raise ValueError(
            f"leak_adjusted: {len(y_eval)} labels, {len(pred)} predictions and {len(leaked)} "
            "leak flags; expected one of each per evaluation row"
        )
    n_leaked = int(leaked.sum())
    clean = ~leaked
    out: dict = {
        "leaked_rows": n_leaked,
        "leak_share": n_leaked / len(y_eval) if len(y_eval) else 0.0,
        "accuracy_leaked": float(accuracy_score(y_eval[leaked], pred[leaked]))
        if n_leaked
        else None,
        "accuracy_without_leaks": None,
        "accuracy_without_leaks_ci_low": None,
        "accuracy_without_leaks_ci_high": None,
        "macro_f1_without_leaks": None,
    }
    if clean.any():
        t, p = y_eval[clean], pred[clean]
        low, high = bootstrap_ci(t, p, accuracy_score, bootstrap, seed)
        out.update(
            accuracy_without_leaks=float(accuracy_score(t, p)),
            accuracy_without_leaks_ci_low=low,
            accuracy_without_leaks_ci_high=high,
            macro_f1_without_leaks=float(
                f1_score(t, p, labels=list(classes), average="macro", zero_division=0)
            ),
        )
    return out
