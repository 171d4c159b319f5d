"""Leak-adjusted evaluation: the evaluation split scored without its rows that duplicate train
rows, beside the raw score (planted cases whose numbers are known exactly), and the stage that
reads the leakage table."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.errors import DataError
from curate.model.evaluation import evaluate, leak_adjusted
from tests.helpers import write_workspace

# Ten evaluation rows: the first four leak and are all predicted right; of the six clean rows
# three are right. Raw accuracy 0.7, without leaks 0.5, on the leaked rows 1.0, share 0.4.
TRUE = ["a", "b", "a", "b", "a", "a", "a", "b", "b", "b"]
PRED = ["a", "b", "a", "b", "a", "a", "b", "a", "a", "b"]
LEAKED = [True] * 4 + [False] * 6


class Fixed:
    """A classifier that predicts the planted labels (the scoring is what is tested)."""

    def __init__(self, pred):
        self.pred = pred

    def fit(self, X, y):
        return self

    def predict(self, X):
        return list(self.pred)


def test_planted_leaks_known_exactly() -> None:
    out = leak_adjusted(TRUE, PRED, LEAKED, ["a", "b"], bootstrap=200, seed=0)
    assert out["leaked_rows"] == 4 and out["leak_share"] == pytest.approx(0.4)
    assert out["accuracy_leaked"] == pytest.approx(1.0)
    assert out["accuracy_without_leaks"] == pytest.approx(0.5)
    # Clean rows: class a has TP 2, FP 2, FN 1 (F1 4/7); class b TP 1, FP 1, FN 2 (F1 2/5).
    assert out["macro_f1_without_leaks"] == pytest.approx((4 / 7 + 2 / 5) / 2)
    low, high = out["accuracy_without_leaks_ci_low"], out["accuracy_without_leaks_ci_high"]
    assert 0.0 <= low < 0.5 < high <= 1.0


def test_evaluate_reports_raw_and_leak_adjusted_scores() -> None:
    X = np.zeros((10, 2))
    out = evaluate(X, TRUE, X, TRUE, Fixed(PRED), bootstrap=200, seed=3, leaked=LEAKED)
    assert out["accuracy"] == pytest.approx(0.7)
    assert out["accuracy_without_leaks"] == pytest.approx(0.5)
    assert out["accuracy_leaked"] == pytest.approx(1.0)
    assert (out["leaked_rows"], out["leak_share"]) == (4, pytest.approx(0.4))
    # The interval is the same bootstrap as the raw one (resamples, seed) on the clean rows.
    from sklearn.metrics import accuracy_score

    from curate.model.evaluation import bootstrap_ci

    clean = np.array(LEAKED) == 0
    expected = bootstrap_ci(
        np.array(TRUE, object)[clean], np.array(PRED, object)[clean], accuracy_score, 200, 3
    )
    got = (out["accuracy_without_leaks_ci_low"], out["accuracy_without_leaks_ci_high"])
    assert got == pytest.approx(expected)


def test_no_leaked_rows_equal_the_raw_scores() -> None:
    X = np.zeros((10, 2))
    out = evaluate(X, TRUE, X, TRUE, Fixed(PRED), bootstrap=200, seed=1, leaked=[False] * 10)
    assert (out["leaked_rows"], out["leak_share"], out["accuracy_leaked"]) == (0, 0.0, None)
    assert out["accuracy_without_leaks"] == out["accuracy"]
    assert out["accuracy_without_leaks_ci_low"] == out["accuracy_ci_low"]
    assert out["accuracy_without_leaks_ci_high"] == out["accuracy_ci_high"]
    assert out["macro_f1_without_leaks"] == out["macro_f1"]


def test_every_row_leaked_has_no_clean_score() -> None:
    out = leak_adjusted(TRUE, PRED, [True] * 10, ["a", "b"], bootstrap=50)
    assert out["leak_share"] == 1.0 and out["accuracy_leaked"] == pytest.approx(0.7)
    assert out["accuracy_without_leaks"] is None and out["macro_f1_without_leaks"] is None


# -- the stage ------------------------------------------------------------------------------
def _workspace(tmp_path):
    """An embedding workspace with 60 train and 20 test rows, through ingest/apply/embed."""
    from curate.stages import apply, embed, ingest

    rng = np.random.default_rng(0)
    n = 80
    y = np.array(["a", "b"] * (n // 2))
    X = rng.normal(size=(n, 3)) + np.where(y == "a", 1.0, -1.0)[:, None] * np.array([1, 0, 0])
    pq.write_table(
        pa.table(
            {
                "id": [f"r{i:03d}" for i in range(n)],
                "embedding": X.tolist(),
                "label": y.tolist(),
                "split": ["test" if i % 4 == 0 else "train" for i in range(n)],
            }
        ),  # fmt: skip
        tmp_path / "rows.parquet",
    )
    write_workspace(tmp_path, {"sources": [{"path": "rows.parquet"}], "modality": "embedding",
                               "input_column": "embedding", "id_column": "id",
                               "split_column": "split"},
                    evaluate={"bootstrap": 200})  # fmt: skip
    for stage in (ingest, apply, embed):
        stage.run(tmp_path)
    return pq.read_table(tmp_path / layout.MANIFEST)


def _write_leakage(root, manifest, leaked_ids: set[str]) -> None:
    """A leakage table aligned with the manifest: each planted id leaks with train row r001;
    the rest have no pair, or a validation-test pair, which is no leak from train."""
    ids = manifest.column("sample_id").to_pylist()
    pairs = [["train-test"] if s in leaked_ids else [] for s in ids]
    pairs[ids.index("r004")] = pairs[ids.index("r004")] or ["validation-test"]
    (root / "issues").mkdir(exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "sample_id": ids,
                "split": manifest.column("split").to_pylist(),
                "is_leakage_issue": [bool(p) for p in pairs],
                "leak_pairs": pa.array(pairs, pa.list_(pa.string())),
                "leaks_with": pa.array(
                    [["r001"] if p else [] for p in pairs], pa.list_(pa.string())
                ),
            }
        ),  # fmt: skip
        root / layout.LEAKAGE,
    )


def _predictions(root) -> list[dict]:
    with open(root / layout.EVALUATION_PREDICTIONS, newline="") as f:
        return list(csv.DictReader(f))


def test_stage_scores_the_split_without_its_leaked_rows(tmp_path) -> None:
    from curate.stages import evaluate as evaluate_stage

    manifest = _workspace(tmp_path)
    with pytest.raises(DataError, match=r"issues/leakage\.parquet.*dvc repro duplicates"):
        evaluate_stage.run(tmp_path)

    planted = {"r000", "r008", "r012", "r040", "r044"}  # five of the twenty test rows
    _write_leakage(tmp_path, manifest, planted)
    metrics = evaluate_stage.run(tmp_path)
    assert json.loads((tmp_path / layout.EVALUATION).read_text()) == metrics
    rows = _predictions(tmp_path)
    assert len(rows) == metrics["eval_rows"] == 20
    right = {r["sample_id"]: r["actual"] == r["predicted"] for r in rows}
    clean = [ok for s, ok in right.items() if s not in planted]
    leaked = [ok for s, ok in right.items() if s in planted]
    assert metrics["leaked_rows"] == 5 and metrics["leak_share"] == pytest.approx(0.25)
    assert metrics["accuracy"] == pytest.approx(sum(right.values()) / 20)
    assert metrics["accuracy_without_leaks"] == pytest.approx(sum(clean) / 15)
    assert metrics["accuracy_leaked"] == pytest.approx(sum(leaked) / 5)
    low, high = metrics["accuracy_without_leaks_ci_low"], metrics["accuracy_without_leaks_ci_high"]
    assert low <= metrics["accuracy_without_leaks"] <= high
    assert metrics["macro_f1_without_leaks"] is not None

    _write_leakage(tmp_path, manifest, set())  # only the validation-test pair: no leak
    metrics = evaluate_stage.run(tmp_path)
    assert (metrics["leaked_rows"], metrics["accuracy_leaked"]) == (0, None)
    assert metrics["accuracy_without_leaks"] == metrics["accuracy"]
    assert metrics["accuracy_without_leaks_ci_low"] == metrics["accuracy_ci_low"]
    assert metrics["macro_f1_without_leaks"] == metrics["macro_f1"]


def test_stage_refuses_a_stale_leakage_table(tmp_path) -> None:
    from curate.stages import evaluate as evaluate_stage

    manifest = _workspace(tmp_path)
    _write_leakage(tmp_path, manifest.slice(0, 70), set())
    with pytest.raises(DataError, match="does not match the current manifest"):
        evaluate_stage.run(tmp_path)
