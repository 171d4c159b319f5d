"""A sharded Parquet dataset (a folder of *.parquet files) is one source: its rows in shard
name order, read here or, on a Ray cluster, in parallel (tests/ray/test_ray_ingest.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.config import load_config
from curate.data.dataset import build_manifest
from curate.errors import DataError
from curate.scaffold.infer import infer_data_spec
from tests.helpers import text_cfg, write_workspace


def shards(folder: Path, n: int = 3, rows: int = 4) -> list[dict]:
    folder.mkdir(parents=True)
    everything = []
    for s in range(n):
        part = [{"id": f"s{s}-{i}", "text": f"shard {s} row {i}", "label": "ab"[i % 2]}
                for i in range(rows)]  # fmt: skip
        # Written out of name order: the dataset's order is the shards' names, not mtime.
        pq.write_table(pa.Table.from_pylist(part), folder / f"part-{n - 1 - s:03d}.parquet")
        everything = part + everything
    return everything


def test_a_folder_of_shards_is_read_in_shard_name_order(tmp_path: Path) -> None:
    rows = shards(tmp_path / "data" / "train")
    write_workspace(tmp_path, text_cfg("data/train", id_column="id"))
    manifest = build_manifest(load_config(tmp_path))
    assert manifest.column("sample_id").to_pylist() == [r["id"] for r in rows]
    assert manifest.column("input").to_pylist() == [r["text"] for r in rows]


def test_curate_init_takes_a_folder_of_shards_as_parquet(tmp_path: Path) -> None:
    shards(tmp_path / "data" / "train")
    spec = infer_data_spec(tmp_path, [str(tmp_path / "data" / "train")])
    assert (spec.modality, spec.input_column, spec.label_column, spec.id_column) == (
        "text", "text", "label", "id"
    )  # fmt: skip


def test_an_empty_or_broken_shard_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data" / "empty").mkdir(parents=True)
    write_workspace(tmp_path, text_cfg("data/empty", sources=[
        {"path": "data/empty", "format": "parquet"}]))  # fmt: skip
    with pytest.raises(DataError, match=r"no \*\.parquet file"):
        build_manifest(load_config(tmp_path))
    shards(tmp_path / "data" / "broken")
    (tmp_path / "data" / "broken" / "part-999.parquet").write_bytes(b"not parquet")
    write_workspace(tmp_path, text_cfg("data/broken"))
    with pytest.raises(DataError, match="cannot read the Parquet shards in .*broken"):
        build_manifest(load_config(tmp_path))
