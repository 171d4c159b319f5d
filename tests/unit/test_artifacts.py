"""Atomic writes follow the umask: artifacts, the report and the embedding cache get the mode a
plain ``open`` would give them, not the 0600 of a temporary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.embed.cache import EmbeddingCache
from tests.helpers import write_workspace


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring the previous one after it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)],
    ids=["022", "002", "077"],
)
def test_artifacts_report_and_cache_shards_follow_the_umask(tmp_path, umask, mask, expected):
    from curate.stages import ingest, report

    umask(mask)
    pq.write_table(pa.table({"text": ["a b", "c d", "e f"], "label": ["x", "y", "x"]}),
                   tmp_path / "d.parquet")  # fmt: skip
    write_workspace(tmp_path, {"sources": [{"path": "d.parquet"}]})
    ingest.run(tmp_path)
    report.run(tmp_path)
    cache = EmbeddingCache(tmp_path / "cache", "test/v1")
    cache.add(["h1", "h2"], np.ones((2, 3), np.float32))
    written = [
        tmp_path / layout.SOURCE_MANIFEST,
        tmp_path / layout.MANIFEST_SUMMARY,
        tmp_path / layout.REPORT,
        *cache.dir.glob("shard-*.parquet"),
        cache.dir / "identity.json",
    ]
    assert len(written) == 5 and all(p.is_file() for p in written)
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in written} == {
        str(p.relative_to(tmp_path)): oct(expected) for p in written
    }
