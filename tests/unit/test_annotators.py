"""Multi-annotator path: three annotators, one planted as unreliable, through the stages.

The same annotations are given either as columns of the data (wide) or as a separate long
table joined by id; both must give the same result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.data.annotation import pivot
from curate.errors import CurateError
from curate.stages import apply, duplicates, embed, ingest, knn, label, predict
from tests.helpers import write_workspace

CLASSES = ("ant", "bee", "cat")
DATA = {"sources": [{"path": "data.parquet"}], "modality": "embedding", "input_column": "vec"}


@pytest.fixture(scope="module", params=["wide", "long"])
def workspace(request, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp(f"annotators-{request.param}")
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
    ids = [f"s{i}" for i in range(n)]
    data = {**DATA, "id_column": "id", "label_column": None}
    if request.param == "wide":
        pq.write_table(pa.table({"id": ids, "vec": X.tolist(), **columns}), root / "data.parquet")
        data["annotator_columns"] = list(columns)
    else:
        pq.write_table(pa.table({"id": ids, "vec": X.tolist()}), root / "data.parquet")
        rows = [
            (sid, who, lab)
            for who, labs in columns.items()
            for sid, lab in zip(ids, labs, strict=True)
            if lab
        ]
        sids, workers, answers = zip(*rows, strict=True)
        long = pa.table({"item": sids, "worker": workers, "answer": answers})
        pq.write_table(long, root / "annotations.parquet")
        data["annotations"] = {
            "path": "annotations.parquet",
            "id_column": "item",
            "annotator_column": "worker",
            "label_column": "answer",
        }
    write_workspace(root, data)
    for stage in (ingest, apply, embed, knn, predict, duplicates, label):
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
    votes = pivot(pq.read_table(workspace / layout.ANNOTATIONS), manifest["sample_id"])
    assert set(votes) == {"alice", "bob", "carol"}
    agree = [
        k
        for k in range(len(manifest["sample_id"]))
        if votes["alice"][k] and votes["alice"][k] == votes["bob"][k]
    ]
    assert len(agree) > 200
    assert all(manifest["label"][k] == votes["alice"][k] for k in agree)  # 2 of 3 -> majority
    # Voted labels are labels; only samples nobody annotated stay in the unlabelled pool.
    nobody = {k for k in range(len(manifest["sample_id"]))
              if not any(v[k] for v in votes.values())}  # fmt: skip
    pool = {k for k, split in enumerate(manifest["split"]) if split == "unlabeled"}
    assert pool == nobody and len(pool) < 20
    consensus = pq.read_table(workspace / layout.CONSENSUS)
    assert consensus.num_rows > 400
    scores = np.array(consensus.column("consensus_quality").to_pylist())
    assert ((scores >= 0) & (scores <= 1)).all()


def test_without_annotators_the_outputs_exist_but_are_empty(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"vec": np.eye(4).repeat(3, axis=0).tolist(), "label": list("abab" * 3)}),
        tmp_path / "data.parquet",
    )
    write_workspace(tmp_path, DATA)
    for stage in (ingest, apply, embed, knn, predict, duplicates, label):
        stage.run(tmp_path)
    assert pq.read_table(tmp_path / layout.ANNOTATIONS).num_rows == 0
    assert pq.read_table(tmp_path / layout.ANNOTATORS).num_rows == 0
    assert pq.read_table(tmp_path / layout.CONSENSUS).num_rows == 0


LONG = {"item": ["s0"], "worker": ["w"], "answer": ["a"]}


@pytest.mark.parametrize(
    ("annotations", "data_extra", "match"),
    [
        (
            {"item": ["s0", "s0"], "worker": ["w", "w"], "answer": ["a", "b"]},
            {},
            r"1 \(sample, annotator\) pair\(s\) appear more than once, e.g. s0/w",
        ),
        (
            {"item": ["s0", "zz"], "worker": ["w", "w"], "answer": ["a", "b"]},
            {},
            r"annotations for 1 sample id\(s\) not in the data, e.g. 'zz'",
        ),
        (
            {"item": ["s0"], "who": ["w"], "answer": ["a"]},
            {},
            r"annotations column 'worker' not found .* Set data.annotations.annotator_column",
        ),
        (LONG, {"id_column": None}, r"data.annotations needs data.id_column"),
        (LONG, {"annotator_columns": ["label"]}, r"set either data.annotator_columns"),
    ],
)
def test_long_annotations_errors(tmp_path: Path, annotations, data_extra, match) -> None:
    ids = ["s0", "s1", "s2", "s3"]
    pq.write_table(
        pa.table({"id": ids, "vec": np.eye(4).tolist(), "label": list("abab")}),
        tmp_path / "data.parquet",
    )
    pq.write_table(pa.table(annotations), tmp_path / "ann.parquet")
    long = {"path": "ann.parquet", "id_column": "item", "annotator_column": "worker",
            "label_column": "answer"}  # fmt: skip
    write_workspace(tmp_path, {**DATA, "id_column": "id", "annotations": long, **data_extra})
    with pytest.raises(CurateError, match=match):
        ingest.run(tmp_path)
