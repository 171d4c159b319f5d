"""Multi-annotator path: three annotators, one planted as unreliable, through the stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.stages import embed, ingest, label, predict
from tests.helpers import write_workspace

CLASSES = ("ant", "bee", "cat")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("annotators")
    rng = np.random.default_rng(0)
    n = 450
    truth = rng.integers(0, 3, n)
    X = np.eye(3)[truth] * 3 + rng.normal(scale=0.9, size=(n, 3))
    columns = {}
    # Two careful annotators (90%+ right) and one planted unreliable one (45% right).
    for name, accuracy in (("alice", 0.93), ("bob", 0.9), ("carol", 0.45)):
        votes = np.where(rng.random(n) < accuracy, truth, rng.integers(0, 3, n))
        labelled = rng.random(n) < 0.8  # each annotator labels ~80% of the samples
        columns[name] = [
            CLASSES[v] if keep else None for v, keep in zip(votes, labelled, strict=True)
        ]
    table = pa.table({"id": [f"s{i}" for i in range(n)], "vec": X.tolist(), **columns})
    pq.write_table(table, root / "data.parquet")
    write_workspace(
        root,
        {
            "sources": [{"path": "data.parquet"}],
            "modality": "embedding",
            "input_column": "vec",
            "id_column": "id",
            "label_column": None,
            "annotator_columns": ["alice", "bob", "carol"],
        },
    )
    for stage in (ingest, embed, predict, label):
        stage.run(root)
    return root


def test_the_unreliable_annotator_is_flagged(workspace: Path) -> None:
    stats = pq.read_table(workspace / layout.ANNOTATORS).to_pydict()
    flags = dict(zip(stats["annotator"], stats["is_unreliable"], strict=True))
    assert flags == {"alice": False, "bob": False, "carol": True}
    quality = dict(zip(stats["annotator"], stats["annotator_quality"], strict=True))
    assert quality["carol"] < min(quality["alice"], quality["bob"])


def test_majority_vote_label_and_consensus_per_sample(workspace: Path) -> None:
    manifest = pq.read_table(workspace / layout.MANIFEST).to_pydict()
    i = next(
        k
        for k in range(len(manifest["alice"]))
        if manifest["alice"][k] and manifest["alice"][k] == manifest["bob"][k]
    )
    assert manifest["label"][i] == manifest["alice"][i]  # two of three agree -> majority
    consensus = pq.read_table(workspace / layout.CONSENSUS)
    assert consensus.num_rows > 400
    scores = np.array(consensus.column("consensus_quality").to_pylist())
    assert ((scores >= 0) & (scores <= 1)).all()


def test_without_annotators_the_outputs_exist_but_are_empty(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"vec": np.eye(4).repeat(3, axis=0).tolist(), "label": list("abab" * 3)}),
        tmp_path / "d.parquet",
    )
    write_workspace(
        tmp_path,
        {
            "sources": [{"path": "d.parquet"}],
            "modality": "embedding",
            "input_column": "vec",
        },
    )
    for stage in (ingest, embed, predict, label):
        stage.run(tmp_path)
    assert pq.read_table(tmp_path / layout.ANNOTATORS).num_rows == 0
    assert pq.read_table(tmp_path / layout.CONSENSUS).num_rows == 0
