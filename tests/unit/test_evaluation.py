"""Before/after evaluation: metrics with bootstrap intervals, and the stage without a held-out
split."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.linear_model import LogisticRegression

from curate import layout
from curate.model.evaluation import evaluate
from tests.helpers import write_workspace


def test_metrics_and_intervals() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    flip = rng.random(600) < 0.1
    y_noisy = np.where(flip, np.where(y == "pos", "neg", "pos"), y)
    out = evaluate(X[:400], y_noisy[:400], X[400:], y[400:], LogisticRegression(), bootstrap=300)
    assert out["accuracy_ci_low"] <= out["accuracy"] <= out["accuracy_ci_high"]
    assert out["macro_f1_ci_low"] <= out["macro_f1"] <= out["macro_f1_ci_high"]
    assert out["accuracy"] > 0.9 and set(out["per_class_f1"]) == {"neg", "pos"}
    assert 0 < out["within_noise_below"] < 0.1 and len(out["predictions"]) == 200


def test_stage_without_a_held_out_split_writes_a_skip_note(tmp_path) -> None:
    from curate.stages import apply, embed, ingest
    from curate.stages import evaluate as evaluate_stage

    X = np.random.default_rng(1).normal(size=(40, 3))
    pq.write_table(
        pa.table(
            {"id": [f"r{i}" for i in range(40)], "embedding": X.tolist(), "label": ["a", "b"] * 20}
        ),  # fmt: skip
        tmp_path / "rows.parquet",
    )
    write_workspace(tmp_path, {"sources": [{"path": "rows.parquet"}], "modality": "embedding",
                               "input_column": "embedding", "id_column": "id"})  # fmt: skip
    for stage in (ingest, apply, embed):
        stage.run(tmp_path)
    result = evaluate_stage.run(tmp_path)
    assert "no evaluation" in result["skipped"] and "evaluate.split" in result["skipped"]
    assert json.loads((tmp_path / layout.EVALUATION).read_text()) == result
    assert (tmp_path / layout.EVALUATION_PREDICTIONS).read_text().startswith("sample_id,")
