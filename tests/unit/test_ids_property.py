"""Property: derived sample ids are unique, deterministic, and stable when rows are appended."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.config import load_config
from curate.data.dataset import build_manifest
from tests.helpers import write_workspace

texts = st.lists(st.sampled_from(["a", "b", "c", "d d", "é", " x "]), min_size=2, max_size=30)


def ids_for(rows: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        labels = ["p" if i % 2 else "q" for i in range(len(rows))]
        pq.write_table(pa.table({"text": rows, "label": labels}), root / "d.parquet")
        write_workspace(root, {"sources": [{"path": "d.parquet"}]})
        return build_manifest(load_config(root)).column("sample_id").to_pylist()


@settings(max_examples=40, deadline=None)
@given(base=texts, extra=st.lists(st.sampled_from(["a", "b", "zz"]), max_size=10))
def test_derived_ids_unique_and_stable_under_append(base: list[str], extra: list[str]) -> None:
    before = ids_for(base)
    after = ids_for(base + extra)
    assert len(set(after)) == len(after)
    assert after[: len(base)] == before
    assert ids_for(base) == before
