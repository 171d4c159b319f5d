"""Ingest of a sharded Parquet dataset and the reference model's fits on a local two-node Ray
cluster give the local backend's artifacts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.pipeline import registry
from curate.scaffold.infer import infer_data_spec
from curate.scaffold.workspace import init_workspace
from tests.ray.conftest import set_config, text_csv, text_workspace

pytestmark = [pytest.mark.ray, pytest.mark.e2e]


def test_sharded_parquet_ingest_on_ray_equals_local(ray_cluster, tmp_path) -> None:
    rows = [line.split(",") for line in text_csv().splitlines()[1:]]
    columns = ["id", "text", "label", "split"]
    manifests = {}
    for backend in ("local", "ray"):
        root = tmp_path / backend
        (root / "data" / "train").mkdir(parents=True)
        for s in range(4):  # four shards of the same rows
            part = [dict(zip(columns, r, strict=True)) for r in rows[s::4]]
            pq.write_table(pa.Table.from_pylist(part), root / "data" / "train" / f"p{s}.parquet")
        init_workspace(root, infer_data_spec(root, [str(root / "data" / "train")]))
        set_config(root, "compute", "compute", backend=backend)
        registry.get("ingest").run(root)
        manifests[backend] = pq.read_table(root / layout.SOURCE_MANIFEST)
    assert manifests["ray"].num_rows == len(rows)
    assert manifests["ray"].equals(manifests["local"])


def test_reference_model_folds_on_ray_equal_local(ray_cluster, tmp_path) -> None:
    root = text_workspace(tmp_path / "ws")
    for stage in ("embed", "knn", "predict"):
        registry.get(stage).run(root)
    local = pq.read_table(root / layout.PRED_PROBS)
    set_config(root, "compute", "compute", backend="ray")
    summary = registry.get("predict").run(root)
    remote = pq.read_table(root / layout.PRED_PROBS)
    assert remote.column("sample_id").equals(local.column("sample_id"))
    a = np.array(local.column("pred_probs").to_pylist())
    b = np.array(remote.column("pred_probs").to_pylist())
    assert a.shape == b.shape and np.abs(a - b).max() < 1e-6
    assert set(summary["members"]) == {"embedding_logreg", "lexical_logreg"}
