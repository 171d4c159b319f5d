"""Drift between a version and a new batch: out-of-scope queries flagged, same-distribution
batches not (clinc150), class shift, and the CLI gate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.versions.drift import class_shift, compare, region_shift
from tests.helpers import require_shared_data, write_workspace

CLINC = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared/data/clinc150"


@pytest.fixture(scope="module")
def clinc_embeddings():
    path = CLINC / "data_full.parquet"
    require_shared_data(path)
    from curate.config import TextEmbedConfig
    from curate.embed.text import TextEmbedder

    frame = pd.read_parquet(path)
    rng = np.random.default_rng(0)
    scope = frame[~frame.split.str.startswith("oos")].reset_index(drop=True)
    oos = frame[frame.split.str.startswith("oos")].reset_index(drop=True)
    pick = rng.permutation(len(scope))[: 1500 + 20 * 200 + 150]
    texts = scope.text.iloc[pick].tolist() + oos.text.iloc[rng.permutation(len(oos))[:50]].tolist()
    embedder = TextEmbedder(TextEmbedConfig())
    X = embedder.embed(pa.table({"input": texts}))
    return X[:1500], X[1500 : 1500 + 4000], X[5500:5650], X[5650:]


@pytest.mark.slow
def test_clinc150_out_of_scope_batch_is_flagged_and_same_distribution_is_not(
    clinc_embeddings,
) -> None:
    reference, same, scope_part, oos_part = clinc_embeddings
    false_alarms = 0
    p_values = []
    for i in range(20):
        batch = same[i * 200 : (i + 1) * 200]
        report = compare(reference, batch, seed=i)
        false_alarms += report["drift"]
        p_values.append(min(report["embedding"]["p_value"], report["novelty"]["p_value"]))
    print(f"false alarms over 20 same-distribution batches at alpha 0.01: {false_alarms}; "
          f"median p {np.median(p_values):.3f}")  # fmt: skip
    assert false_alarms <= 2
    mixed = np.vstack([scope_part, oos_part])  # 150 in-scope + 50 out-of-scope queries
    report = compare(reference, mixed, seed=0)
    print(
        f"oos batch: classifier accuracy {report['embedding']['accuracy']:.3f} "
        f"(p {report['embedding']['p_value']:.2e}); novelty p {report['novelty']['p_value']:.2e}"
    )
    # Out-of-scope queries are new kinds of data: the novelty test sees them, a linear
    # classifier on 200 vs 200 rows does not.
    assert report["drift"] and report["novelty"]["p_value"] < 0.005
    # The 50 out-of-scope queries spread over many regions here (at most 6 in any one), so no
    # region's change stands out from sampling noise; the region view is checked on planted
    # regions in test_regions_name_the_planted_region_that_grew_and_the_one_that_shrank.


def test_class_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.choice(["a", "b", "c"], 2000, p=[0.5, 0.3, 0.2]).tolist()
    same = rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2]).tolist()
    shifted = rng.choice(["a", "b", "c"], 500, p=[0.2, 0.3, 0.5]).tolist()
    assert class_shift(ref, same)["p_value"] > 0.01
    report = class_shift(ref, shifted)
    assert report["p_value"] < 1e-6
    # Planted: 'a' falls from 50% to 20%, 'c' rises from 20% to 50%, 'b' stays at 30%.
    change = {r["class"]: r["current"] - r["reference"] for r in report["largest"]}
    assert {r["class"] for r in report["largest"][:2]} == {"a", "c"}
    assert change["a"] < -0.2 and change["c"] > 0.2 and abs(change["b"]) < 0.05


def test_regions_name_the_planted_region_that_grew_and_the_one_that_shrank() -> None:
    """Four separate reference regions of 100 rows each (25% apiece); the batch holds 55% of
    region 0, 5% of region 1 and 20% of each of the others."""
    rng = np.random.default_rng(0)
    centres = 5 * np.eye(8)[:4]

    def rows(counts):
        return np.vstack(
            [c + 0.1 * rng.normal(size=(n, 8)) for c, n in zip(centres, counts, strict=True)]
        )

    regions = region_shift(rows([100] * 4), rows([110, 10, 40, 40]), clusters=4, seed=0)
    got = [(r["change"], r["reference_share"], r["current_share"]) for r in regions]
    assert got == [
        ("grew", 0.25, pytest.approx(0.55)),
        ("shrank", 0.25, pytest.approx(0.05)),
        ("shrank", 0.25, pytest.approx(0.20)),
        ("shrank", 0.25, pytest.approx(0.20)),
    ]


def test_cli_gate_on_precomputed_embeddings(tmp_path) -> None:
    from curate.stages import apply, embed, ingest

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8))
    pq.write_table(
        pa.table(
            {
                "id": [f"r{i}" for i in range(400)],
                "embedding": X.tolist(),
                "label": ["a", "b"] * 200,
            }
        ),  # fmt: skip
        tmp_path / "rows.parquet",
    )
    write_workspace(tmp_path, {"sources": [{"path": "rows.parquet"}], "modality": "embedding",
                               "input_column": "embedding", "id_column": "id"})  # fmt: skip
    for stage in (ingest, apply, embed):
        stage.run(tmp_path)
    same = rng.normal(size=(150, 8))
    moved = rng.normal(size=(150, 8)) + np.r_[1.5, np.zeros(7)]
    for name, batch in (("same", same), ("moved", moved)):
        pq.write_table(pa.table({"embedding": batch.tolist()}), tmp_path / f"{name}.parquet")

    def run(name):
        return CliRunner().invoke(main, ["drift", "--reference", str(tmp_path), "--current",
                                         str(tmp_path / f"{name}.parquet"), "--fail-on-drift",
                                         "-w", str(tmp_path)])  # fmt: skip

    ok, bad = run("same"), run("moved")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["drift"] is False
    assert bad.exit_code == 1 and json.loads(bad.stdout)["drift"] is True
    assert "significant drift" in bad.stderr
    missing = CliRunner().invoke(
        main,
        [
            "drift",
            "--reference",
            str(tmp_path),
            "--current",
            str(tmp_path / "nope.parquet"),
            "-w",
            str(tmp_path),
        ],
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output  # fmt: skip
    pq.write_table(pa.table({"embedding": same[:3].tolist()}), tmp_path / "tiny.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    for name, message in (("tiny", "drift needs at least 20"), ("broken", "cannot read")):
        result = CliRunner().invoke(main, ["drift", "--reference", str(tmp_path), "--current",
                                           str(tmp_path / f"{name}.parquet"), "-w",
                                           str(tmp_path)])  # fmt: skip
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output


def _embedding_workspace(tmp_path, dim: int = 8):
    from curate.stages import apply, embed, ingest

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, dim))
    pq.write_table(
        pa.table({"id": [f"r{i}" for i in range(200)], "embedding": X.tolist(),
                  "label": ["a", "b"] * 100}),
        tmp_path / "rows.parquet",
    )  # fmt: skip
    write_workspace(tmp_path, {"sources": [{"path": "rows.parquet"}], "modality": "embedding",
                               "input_column": "embedding", "id_column": "id"})  # fmt: skip
    for stage in (ingest, apply, embed):
        stage.run(tmp_path)
    return rng


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "wrong_dim",
            r"vectors of 5 \(40 rows\) numbers at rows 1, 2, 3, 4, 5, \.\.\.; the "
            r"reference's embeddings have 8",
        ),
        ("nan", r"rows 4, 8 hold NaN or infinite values; expected 8 finite numbers"),
        ("mixed_dim", r"vectors of 9 \(1 rows\) numbers at rows 3;"),
        ("null", r"rows 2 hold no list of numbers; expected a vector of 8 numbers"),
    ],
)
def test_drift_batch_with_bad_vectors_is_a_clear_error(tmp_path, case, message) -> None:
    """A batch whose vectors have the wrong size, NaN or no value: exit 2, the file, the
    column, what was expected and what to do; no traceback."""
    rng = _embedding_workspace(tmp_path)
    batch = rng.normal(size=(40, 8)).tolist()
    if case == "wrong_dim":
        batch = rng.normal(size=(40, 5)).tolist()
    elif case == "nan":
        batch[3][2] = float("nan")
        batch[7][0] = float("inf")
    elif case == "mixed_dim":
        batch[2] = batch[2] + [0.5]
    elif case == "null":
        batch[1] = None
    path = tmp_path / f"{case}.parquet"
    pq.write_table(pa.table({"embedding": batch}), path)
    result = CliRunner().invoke(
        main, ["drift", "--reference", str(tmp_path), "--current", str(path), "-w", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert (
        "Traceback" not in result.output
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    assert f"column 'embedding' (data.input_column) of {path}" in result.stderr
    import re

    assert re.search(message, result.stderr), result.stderr
