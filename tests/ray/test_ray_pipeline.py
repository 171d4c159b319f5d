"""The whole pipeline through `dvc repro` with `compute.backend: ray` on a local two-node
cluster gives the local backend's artifacts: embeddings within 1e-5, the exact graph, the
duplicate groups, leakage, label issues and the review queue identical."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.scaffold.tools import dvc_command, run_tool
from tests.ray.conftest import text_workspace

pytestmark = [pytest.mark.ray, pytest.mark.e2e]

IDENTICAL = (
    layout.SOURCE_MANIFEST, layout.MANIFEST, layout.GRAPH, layout.DUPLICATES, layout.LEAKAGE,
    layout.LABEL_ISSUES, layout.OUTLIERS, layout.REDUNDANCY, layout.REVIEW_QUEUE,
)  # fmt: skip


def same_table(a, b, name: str) -> None:
    """Equal column by column: exactly, except floats derived from the reference model's
    probabilities, which the two backends compute in other processes (within 1e-6)."""
    import pyarrow as pa

    assert a.schema.equals(b.schema) and a.num_rows == b.num_rows, name
    for column in a.column_names:
        x, y = a.column(column), b.column(column)
        if pa.types.is_floating(x.type):
            xs = np.array(x.to_pylist(), dtype=float)
            ys = np.array(y.to_pylist(), dtype=float)
            assert np.allclose(xs, ys, atol=1e-6, equal_nan=True), (name, column)
        else:
            assert x.equals(y), (name, column)


def test_dvc_repro_on_ray_writes_the_local_artifacts(ray_cluster, tmp_path, monkeypatch) -> None:
    ray, cluster = ray_cluster
    monkeypatch.setenv("CURATE_REMOTES_DIR", str(tmp_path / "remotes"))
    roots = {}
    for backend in ("local", "ray"):
        root = text_workspace(tmp_path / backend, backend)
        with monkeypatch.context() as env:
            if backend == "ray":
                env.setenv("RAY_ADDRESS", cluster.address)
            out = run_tool(dvc_command("repro"), root, "dvc repro").stdout
        assert "Running stage 'report'" in out
        roots[backend] = root
    local, remote = roots["local"], roots["ray"]
    assert pq.read_table(remote / layout.GRAPH).num_rows > 100
    for rel in IDENTICAL:
        same_table(pq.read_table(local / rel), pq.read_table(remote / rel), rel)
    for rel, column, tolerance in (
        (layout.EMBEDDINGS, "embedding", 1e-5),
        (layout.PRED_PROBS, "pred_probs", 1e-6),
    ):
        a, b = (pq.read_table(r / rel) for r in (local, remote))
        assert a.column("sample_id").equals(b.column("sample_id")), rel
        va = np.array(a.column(column).to_pylist())
        vb = np.array(b.column(column).to_pylist())
        assert va.shape == vb.shape and np.abs(va - vb).max() <= tolerance, rel
