"""Bring-your-own pred_probs: accepted layouts, and a clear error for each bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate import layout
from curate.cli import main
from curate.embed import to_matrix
from curate.stages import apply, embed, ingest, knn, predict
from tests.helpers import write_workspace

IDS = ["a", "b", "c", "d", "e", "f", "pool1"]
LABELS = ["x", "y", "x", "y", "x", "y", None]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Precomputed 2-d embeddings (fast), six labelled samples and one pool sample."""
    vectors = [[1.0, 0.1], [0.1, 1.0], [0.9, 0.2], [0.2, 0.9], [1.0, 0.0], [0.0, 1.0], [1.0, 0.2]]
    pq.write_table(
        pa.table({"id": IDS, "vec": vectors, "label": LABELS}), tmp_path / "data.parquet"
    )
    write_workspace(
        tmp_path,
        {
            "sources": [{"path": "data.parquet"}],
            "modality": "embedding",
            "input_column": "vec",
            "id_column": "id",
        },
    )
    ingest.run(tmp_path)
    apply.run(tmp_path)
    embed.run(tmp_path)
    knn.run(tmp_path)
    return tmp_path


def use_file(ws: Path, table: pa.Table, classes: list[str] | None = None) -> None:
    pq.write_table(table, ws / "mine.parquet")
    write_workspace(
        ws,
        {
            "sources": [{"path": "data.parquet"}],
            "modality": "embedding",
            "input_column": "vec",
            "id_column": "id",
        },
        predict={"pred_probs_file": "mine.parquet", "pred_probs_classes": classes},
    )


def wide(rows: int = 6, x: list[float] | None = None) -> pa.Table:
    px = x or [0.9, 0.2, 0.8, 0.3, 0.7, 0.1][:rows]
    return pa.table({"sample_id": IDS[:rows], "x": px, "y": [1 - v for v in px]})


def error(ws: Path) -> str:
    result = CliRunner().invoke(main, ["predict", "-w", str(ws)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr


def test_wide_file_is_used_and_the_pool_is_filled_in(workspace: Path) -> None:
    use_file(workspace, wide())
    summary = predict.run(workspace)
    assert summary["model"] == "file"
    t = pq.read_table(workspace / layout.PRED_PROBS)
    probs = to_matrix(t.column("pred_probs"))
    np.testing.assert_allclose(probs[:6, 0], [0.9, 0.2, 0.8, 0.3, 0.7, 0.1], rtol=1e-6)
    assert t.column("fold").to_pylist() == [-2] * 6 + [-1]
    assert probs[6].argmax() == 0  # the pool row, from the reference model: near the 'x' points


def test_list_column_with_declared_class_order(workspace: Path) -> None:
    # Declared order (y, x) differs from curate's sorted order (x, y): it must be honoured.
    probs = [[0.1, 0.9], [0.8, 0.2], [0.2, 0.8], [0.7, 0.3], [0.3, 0.7], [0.9, 0.1]]
    use_file(workspace, pa.table({"sample_id": IDS[:6], "pred_probs": probs}), ["y", "x"])
    predict.run(workspace)
    got = to_matrix(pq.read_table(workspace / layout.PRED_PROBS).column("pred_probs"))
    np.testing.assert_allclose(got[:6, 0], [0.9, 0.2, 0.8, 0.3, 0.7, 0.1], rtol=1e-6)


def test_wrong_shape(workspace: Path) -> None:
    use_file(
        workspace, pa.table({"sample_id": IDS[:6], "pred_probs": [[0.5, 0.3, 0.2]] * 6}), ["x", "y"]
    )
    err = error(workspace)
    assert "mine.parquet has the wrong shape" in err
    assert "hold 3 probabilities, expected 2" in err


def test_rows_not_summing_to_one(workspace: Path) -> None:
    table = wide().set_column(2, "y", pa.array([0.5] * 6))
    use_file(workspace, table)
    err = error(workspace)
    assert "rows must sum to 1" in err and "first sums to 1.4000" in err
    assert "not logits" in err


def test_unknown_classes(workspace: Path) -> None:
    use_file(workspace, wide().rename_columns(["sample_id", "x", "zebra"]))
    err = error(workspace)
    assert "classes not in the data: 'zebra'" in err
    assert "data classes missing from the file: 'y'" in err


def test_list_column_without_class_order(workspace: Path) -> None:
    use_file(workspace, pa.table({"sample_id": IDS[:6], "pred_probs": [[0.5, 0.5]] * 6}))
    assert "Set predict.pred_probs_classes" in error(workspace)


def test_missing_labelled_samples_and_unknown_ids(workspace: Path) -> None:
    use_file(workspace, wide(rows=4))
    assert "misses 2 labelled sample(s), e.g. 'e', 'f'" in error(workspace)
    table = pa.concat_tables([wide(), pa.table({"sample_id": ["ghost"], "x": [0.5], "y": [0.5]})])
    use_file(workspace, table)
    assert "1 sample_id(s) not in the manifest, e.g. 'ghost'" in error(workspace)


def test_nan_or_negative_and_missing_id_column(workspace: Path) -> None:
    use_file(workspace, wide(x=[0.9, float("nan"), 0.8, 0.3, 1.2, 0.1]))
    assert "NaN, infinite or negative probabilities on 2 row(s) (rows 2, 5)" in error(workspace)
    use_file(workspace, wide().rename_columns(["id", "x", "y"]))
    assert "has no 'sample_id' column" in error(workspace)


def test_stale_predictions_are_a_clear_error_not_a_crash(workspace: Path) -> None:
    """The data changed after `predict` ran: `curate label` must say so, not raise KeyError."""
    use_file(workspace, wide())
    predict.run(workspace)
    pq.write_table(
        pa.table(
            {"id": ["new"] * 1 + IDS[1:], "vec": [[1.0, 0.0]] * 7, "label": ["z"] + LABELS[1:]}
        ),
        workspace / "data.parquet",
    )
    ingest.run(workspace)
    apply.run(workspace)
    result = CliRunner().invoke(main, ["label", "-w", str(workspace)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "pred_probs.parquet does not match the current manifest" in result.stderr
    assert "Run `dvc repro`" in result.stderr


def test_missing_file_names_the_predict_setting(workspace: Path) -> None:
    write_workspace(
        workspace,
        {
            "sources": [{"path": "data.parquet"}],
            "modality": "embedding",
            "input_column": "vec",
            "id_column": "id",
        },
        predict={"pred_probs_file": "nowhere.csv"},
    )
    err = error(workspace)
    assert "nowhere.csv does not exist" in err
    assert "predict.pred_probs_file in configs/predict.yaml" in err
    assert "data.sources" not in err


def test_csv_sample_ids_are_matched_byte_for_byte(tmp_path: Path) -> None:
    """Ids such as 007 or 0.10 in a CSV file are strings, not numbers (007 -> 7 would miss)."""
    from curate.model.external import read_pred_probs

    path = tmp_path / "probs.csv"
    path.write_text("sample_id,x,y\n007,0.9,0.1\n0.10,0.2,0.8\n1e3,0.5,0.5\n")
    classes, probs, present = read_pred_probs(
        path, ["1e3", "007", "0.10"], ["x", "y", "x"], classes_hint=None
    )
    assert classes == ("x", "y")
    np.testing.assert_allclose(probs, [[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]], rtol=1e-6)
    assert present.tolist() == [True, True, True]
