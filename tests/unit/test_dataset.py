"""The data contract: every source format, sample ids, splits, metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curate.config import load_config
from curate.data.dataset import MANIFEST_COLUMNS, build_manifest, summarize
from tests.helpers import require_shared_data, write_workspace

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
ROWS = [
    {"text": "the cat sat", "label": "animal", "annotator": "a1"},
    {"text": "stocks fell", "label": "finance", "annotator": "a2"},
    {"text": "the cat sat", "label": "animal", "annotator": "a3"},  # exact duplicate
    {"text": "bonds rallied", "label": "", "annotator": "a1"},  # unlabelled
]


def manifest_for(root: Path, data: dict) -> pa.Table:
    return build_manifest(load_config(write_workspace(root, data)))


def text_cfg(path: str, **extra) -> dict:
    return {
        "sources": [{"path": path, **extra.pop("source", {})}],
        "input_column": "text",
        "label_column": "label",
        "metadata_columns": ["annotator"],
        **extra,
    }


def write_csv(path: Path, rows: list[dict], sep: str = ",", header: bool = True) -> None:
    lines = [sep.join(rows[0])] if header else []
    lines += [sep.join(str(v) for v in r.values()) for r in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("fmt", ["csv", "tsv", "tsv-noheader", "parquet", "jsonl"])
def test_every_table_format_gives_the_same_manifest(tmp_path: Path, fmt: str) -> None:
    source: dict = {}
    if fmt == "csv":
        write_csv(tmp_path / "d.csv", ROWS)
        name = "d.csv"
    elif fmt == "tsv":
        write_csv(tmp_path / "d.tsv", ROWS, sep="\t")
        name = "d.tsv"
    elif fmt == "tsv-noheader":
        write_csv(tmp_path / "d.tsv", ROWS, sep="\t", header=False)
        name = "d.tsv"
        source = {"header": False, "column_names": ["text", "label", "annotator"]}
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
        name = "d.parquet"
    else:
        (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
        name = "d.jsonl"
    m = manifest_for(tmp_path, text_cfg(name, source=source))
    assert tuple(m.column_names) == (*MANIFEST_COLUMNS, "annotator")
    assert m.column("input").to_pylist() == [r["text"] for r in ROWS]
    assert m.column("label").to_pylist() == ["animal", "finance", "animal", None]
    assert m.column("split").to_pylist() == ["train", "train", "train", "unlabeled"]
    assert m.column("annotator").to_pylist() == ["a1", "a2", "a3", "a1"]
    hashes = m.column("content_hash").to_pylist()
    ids = m.column("sample_id").to_pylist()
    assert hashes[0] == hashes[2] and len(set(hashes)) == 3
    assert len(set(ids)) == 4
    assert ids[2] == ids[0] + "~1"


def test_ids_are_stable_and_ignore_labels(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.csv", ROWS)
    first = manifest_for(tmp_path, text_cfg("d.csv")).column("sample_id").to_pylist()
    relabelled = [dict(r, label="finance") if i == 0 else r for i, r in enumerate(ROWS)]
    write_csv(tmp_path / "d.csv", relabelled)
    again = manifest_for(tmp_path, text_cfg("d.csv")).column("sample_id").to_pylist()
    assert first == again


def test_user_ids_are_kept(tmp_path: Path) -> None:
    rows = [dict(r, id=f"row-{i}") for i, r in enumerate(ROWS)]
    write_csv(tmp_path / "d.csv", rows)
    m = manifest_for(tmp_path, text_cfg("d.csv", id_column="id"))
    assert m.column("sample_id").to_pylist() == ["row-0", "row-1", "row-2", "row-3"]


def test_split_column_mapping_and_per_source_split(tmp_path: Path) -> None:
    rows = [dict(r, split=s) for r, s in zip(ROWS, ["train", "val", "test", "train"], strict=True)]
    write_csv(tmp_path / "a.csv", rows)
    write_csv(tmp_path / "b.csv", ROWS[:2])
    cfg = text_cfg("a.csv", split_column="split", split_values={"val": "validation"})
    cfg["sources"].append({"path": "b.csv", "split": "test"})
    m = manifest_for(tmp_path, cfg)
    # Rows without a label always land in the unlabelled pool.
    assert m.column("split").to_pylist() == [
        "train",
        "validation",
        "test",
        "unlabeled",
        "test",
        "test",
    ]
    assert summarize(m)["splits"] == {"test": 3, "train": 1, "unlabeled": 1, "validation": 1}


def test_unlabelled_dataset(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.csv", ROWS)
    m = manifest_for(tmp_path, text_cfg("d.csv", label_column=None))
    assert m.column("label").null_count == 4
    assert set(m.column("split").to_pylist()) == {"unlabeled"}


def _png(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4), value, np.uint8), mode="L").save(path)


def test_image_folder(tmp_path: Path) -> None:
    _png(tmp_path / "imgs" / "cat" / "a.png", 10)
    _png(tmp_path / "imgs" / "cat" / "b.png", 10)  # same pixels: same bytes, same hash
    _png(tmp_path / "imgs" / "dog" / "c.png", 200)
    (tmp_path / "imgs" / "dog" / "notes.txt").write_text("not an image")
    m = manifest_for(
        tmp_path,
        {"sources": [{"path": "imgs"}], "modality": "image", "input_column": "path"},
    )
    assert m.column("input").to_pylist() == ["imgs/cat/a.png", "imgs/cat/b.png", "imgs/dog/c.png"]
    assert m.column("label").to_pylist() == ["cat", "cat", "dog"]
    hashes = m.column("content_hash").to_pylist()
    assert hashes[0] == hashes[1] != hashes[2]


def test_image_table_with_relative_paths(tmp_path: Path) -> None:
    _png(tmp_path / "data" / "pics" / "x.png", 1)
    _png(tmp_path / "data" / "pics" / "y.png", 2)
    write_csv(
        tmp_path / "data" / "t.csv",
        [
            {"file": "pics/x.png", "label": "a"},
            {"file": "pics/y.png", "label": "b"},
        ],
    )
    m = manifest_for(
        tmp_path,
        {"sources": [{"path": "data/t.csv"}], "modality": "image", "input_column": "file"},
    )
    assert m.column("input").to_pylist() == ["data/pics/x.png", "data/pics/y.png"]


def test_tabular_keeps_features_and_hashes_rows(tmp_path: Path) -> None:
    rows = [
        {"age": 30, "city": "Oslo", "label": "y"},
        {"age": 41, "city": "Rome", "label": "n"},
        {"age": 30, "city": "Oslo", "label": "n"},
    ]
    write_csv(tmp_path / "d.csv", rows)
    m = manifest_for(
        tmp_path,
        {
            "sources": [{"path": "d.csv"}],
            "modality": "tabular",
            "feature_columns": ["age", "city"],
            "input_column": None,
        },
    )
    assert m.column("age").to_pylist() == [30, 41, 30]
    hashes = m.column("content_hash").to_pylist()
    assert hashes[0] == hashes[2] != hashes[1]


def test_precomputed_embeddings_are_float32_vectors(tmp_path: Path) -> None:
    vectors = [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [1.0, 0.0, 0.5]]
    pq.write_table(pa.table({"emb": vectors, "label": ["a", "b", "a"]}), tmp_path / "e.parquet")
    m = manifest_for(
        tmp_path,
        {
            "sources": [{"path": "e.parquet"}],
            "modality": "embedding",
            "input_column": "emb",
            "embedding_dim": 3,
        },
    )
    assert m.schema.field("emb").type == pa.list_(pa.float32(), 3)
    hashes = m.column("content_hash").to_pylist()
    assert hashes[0] == hashes[2] != hashes[1]


def test_sms_spam_headerless_tsv_duplicates_get_distinct_ids(tmp_path: Path) -> None:
    """Acceptance: the 403 exact duplicate copies get distinct ids and equal hashes."""
    require_shared_data(SHARED / "sms_spam" / "SMSSpamCollection.tsv")
    m = manifest_for(
        tmp_path,
        {
            "sources": [
                {
                    "path": str(SHARED / "sms_spam" / "SMSSpamCollection.tsv"),
                    "header": False,
                    "column_names": ["label", "text"],
                }
            ],
            "input_column": "text",
            "label_column": "label",
        },
    )
    assert m.num_rows == 5574
    ids = m.column("sample_id").to_pylist()
    hashes = m.column("content_hash").to_pylist()
    assert len(set(ids)) == 5574
    assert len(hashes) - len(set(hashes)) == 403
    assert summarize(m)["classes"] == {"ham": 4827, "spam": 747}
    # The exact-duplicate check flags exactly the 403 copies (every row after the first of
    # each distinct text): recall 1.0 and precision 1.0 against the raw text.
    from curate import checks

    texts = m.column("input").to_pylist()
    result = checks.get("exact_duplicate")(ids, hashes, labels=m.column("label").to_pylist())
    flagged = {
        i for i, f in enumerate(result.table.column("is_exact_duplicate_issue")) if f.as_py()
    }
    seen: set[str] = set()
    truth = set()
    for i, t in enumerate(texts):
        if t in seen:
            truth.add(i)
        seen.add(t)
    assert len(truth) == 403 and flagged == truth


def test_sources_with_clashing_column_types_are_a_clear_error(tmp_path: Path) -> None:
    from curate.errors import DataError

    pq.write_table(
        pa.table({"text": ["a", "b"], "label": ["x", "y"], "src": [1, 2]}), tmp_path / "a.parquet"
    )
    pq.write_table(
        pa.table({"text": ["c", "d"], "label": ["x", "y"], "src": [[1], [2]]}),
        tmp_path / "b.parquet",
    )
    cfg = {"sources": [{"path": "a.parquet"}, {"path": "b.parquet"}], "metadata_columns": ["src"]}
    with pytest.raises(DataError, match=r"disagree on column types \('src': int64, list<"):
        manifest_for(tmp_path, cfg)
    # Compatible numeric types are unified rather than refused.
    pq.write_table(
        pa.table({"text": ["c", "d"], "label": ["x", "y"], "src": [1.5, 2.0]}),
        tmp_path / "b.parquet",
    )
    assert manifest_for(tmp_path, cfg).column("src").to_pylist() == [1, 2, 1.5, 2.0]
