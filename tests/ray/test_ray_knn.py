"""The knn stage on a local two-node Ray cluster writes the local backend's graph artifact
(exact search: identical, ties included), so the duplicate groups, leakage, outliers and label
issues read from it are identical too; the approximate (ivf) graph keeps recall@10 >= 0.95."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.compute.ray_knn import exact_shards, ivf_shards
from curate.errors import ConfigError
from curate.stages import apply, duplicates, embed, ingest, knn, label, outliers, predict
from tests.helpers import write_workspace

pytestmark = [pytest.mark.ray]

#: Base rows; with 30 copies, 210 rows in query batches of 50: four full shards and a last one of
#: 10 rows (faiss scores fewer than 20 queries on another code path, so the shards must cut
#: where the local batches do).
ROWS = 180
BATCH = 50
RAY = {"backend": "ray", "shard_rows": BATCH, "cpus_per_actor": 1.0}
#: Artifacts read from the graph (directly or through predict's fold grouping).
FROM_GRAPH = (layout.DUPLICATES, layout.LEAKAGE, layout.OUTLIERS, layout.LABEL_ISSUES)


def _rows(seed: int = 0) -> pa.Table:
    """Three classes of 16-d vectors, 180 base rows plus 30 planted copies: 10 exact copies,
    10 near copies (cosine ~0.999) and 10 near copies across train/test (leakage); 8 labels
    flipped (label issues) and a few far-off rows (outliers)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 16)) * 2.0
    y = rng.integers(0, 3, ROWS)
    X = centres[y] + rng.normal(size=(ROWS, 16))
    X[:4] = rng.normal(size=(4, 16)) * 8.0  # far from every class centre
    labels = [f"c{v}" for v in y]
    for i in rng.choice(np.arange(4, ROWS), 8, replace=False):
        labels[i] = f"c{(y[i] + 1) % 3}"
    splits = ["test" if i % 5 == 0 else "train" for i in range(ROWS)]
    src = rng.choice(np.arange(4, ROWS), 30, replace=False)
    copies = X[src].copy()
    copies[10:] += 0.01 * rng.normal(size=(20, 16))
    copy_splits = ["train"] * 20 + ["test" if splits[s] == "train" else "train" for s in src[20:]]
    return pa.table(
        {
            "id": [f"r{i:03d}" for i in range(ROWS + 30)],
            "vec": np.vstack([X, copies]).tolist(),
            "label": labels + [labels[s] for s in src],
            "split": splits + copy_splits,
        }
    )


def _workspace(root: Path, **index) -> Path:
    root.mkdir(parents=True)
    pq.write_table(_rows(), root / "rows.parquet")
    data = {"sources": [{"path": "rows.parquet"}], "modality": "embedding", "input_column": "vec",
            "id_column": "id", "label_column": "label", "split_column": "split"}  # fmt: skip
    write_workspace(root, data, index={"batch_size": BATCH, **index}, predict={"folds": 3})
    for stage in (ingest, apply, embed):
        stage.run(root)
    return root


def _with_ray(reference: Path, root: Path) -> Path:
    """A copy of ``reference`` (ingested and embedded) with ``compute.backend: ray``."""
    shutil.copytree(reference, root)
    (root / "configs" / "compute.yaml").write_text(json.dumps({"compute": RAY}))
    return root


def _downstream(root: Path) -> None:
    for stage in (predict, duplicates, outliers, label):
        stage.run(root)


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> tuple[Path, Path, dict]:
    """``(embedded workspace, its copy run through knn and the checks locally, knn stats)``."""
    base = _workspace(tmp_path_factory.mktemp("knn") / "base")
    ref = tmp_path_factory.mktemp("knn") / "local"
    shutil.copytree(base, ref)
    stats = knn.run(ref)
    _downstream(ref)
    return base, ref, stats


def test_exact_graph_and_every_check_read_from_it_are_identical(ray_cluster, local, tmp_path):
    base, ref, ref_stats = local
    root = _with_ray(base, tmp_path / "ray")
    stats = knn.run(root)
    assert stats["method"] == ref_stats["method"] == "exact"
    assert stats["backend"] == "ray" and stats["shards"] == 5
    assert set(stats) == set(ref_stats) | {"backend", "shards"}
    assert json.loads((root / layout.GRAPH_SUMMARY).read_text()) == stats

    graph, ref_graph = pq.read_table(root / layout.GRAPH), pq.read_table(ref / layout.GRAPH)
    assert graph.schema.remove_metadata() == ref_graph.schema.remove_metadata()
    assert graph.column("sample_id").to_pylist() == ref_graph.column("sample_id").to_pylist()
    assert graph.equals(ref_graph)  # same neighbours in the same order, same similarities
    copies = graph.slice(ROWS, 10).column("similarities").to_pylist()
    assert all(s[0] == pytest.approx(1.0, abs=1e-6) for s in copies)  # exact copies: ties at 1

    _downstream(root)
    for path in FROM_GRAPH:
        got, want = pq.read_table(root / path), pq.read_table(ref / path)
        assert got.equals(want), path
    dup = pq.read_table(root / layout.DUPLICATES).column("group_id").drop_null()
    assert len(set(dup.to_pylist())) >= 20  # the planted copies are found, not just equal
    leaks = pq.read_table(root / layout.LEAKAGE).column("is_leakage_issue").to_pylist()
    assert sum(leaks) >= 10
    summary = json.loads((root / layout.DUPLICATES_SUMMARY).read_text())
    assert summary == json.loads((ref / layout.DUPLICATES_SUMMARY).read_text())


def test_approximate_graph_keeps_its_recall(ray_cluster, tmp_path) -> None:
    base = _workspace(tmp_path / "base", method="ivf")
    ref = tmp_path / "local"
    shutil.copytree(base, ref)
    ref_stats = knn.run(ref)
    stats = knn.run(_with_ray(base, tmp_path / "ray"))
    assert stats["method"] == ref_stats["method"] == "ivf"
    assert (stats["backend"], stats["shards"]) == ("ray", 4)
    assert set(stats) == set(ref_stats) | {"backend", "shards"}
    for key in ("ivf_nlist", "ivf_nprobe", "refine_iters", "recall_queries"):
        assert stats[key] == ref_stats[key], key
    assert stats["recall_at_k"] >= 0.95
    graph = pq.read_table(tmp_path / "ray" / layout.GRAPH)
    assert graph.column("sample_id").equals(pq.read_table(ref / layout.GRAPH).column("sample_id"))
    # Every row has k neighbours, never itself.
    for sid, nbrs in zip(graph["sample_id"].to_pylist(), graph["neighbor_ids"].to_pylist(),
                         strict=True):  # fmt: skip
        assert len(nbrs) == 10 and sid not in nbrs and None not in nbrs


def test_hnsw_is_refused_with_what_to_do(ray_cluster, tmp_path) -> None:
    root = _with_ray(_workspace(tmp_path / "base", method="hnsw"), tmp_path / "ray")
    with pytest.raises(ConfigError, match=r"index\.approximate: ivf.*compute\.backend: local"):
        knn.run(root)


def test_shards_cut_where_the_local_search_batches_do() -> None:
    assert exact_shards(210, 50, 50) == [(0, 50), (50, 100), (100, 150), (150, 200), (200, 210)]
    assert exact_shards(210, 60, 50) == [(0, 100), (100, 200), (200, 210)]  # whole batches
    assert exact_shards(210, 10, 50)[0] == (0, 50)  # at least one batch
    # IVF: large shards for list-major scoring, yet two per cluster CPU on small data.
    assert ivf_shards(200, 50, 2.0) == [(0, 50), (50, 100), (100, 150), (150, 200)]
    assert ivf_shards(1_000_000, 4096, 2.0)[0] == (0, 32_768)


@pytest.mark.e2e
def test_dvc_repro_knn_runs_on_the_cluster(ray_cluster, tmp_path, monkeypatch) -> None:
    """A real ``dvc repro``: the knn stage's own process joins the cluster by RAY_ADDRESS and
    writes the graph the local backend writes from the same embeddings."""
    from curate.pipeline import registry
    from curate.scaffold.tools import dvc_command, run_tool
    from tests.ray.conftest import set_config, text_workspace

    _, cluster = ray_cluster
    ref = text_workspace(tmp_path / "local")
    root = text_workspace(tmp_path / "ray", "ray", shard_rows=25)
    for ws in (ref, root):
        set_config(ws, "index", "index", batch_size=25)  # 102 rows: five shards
    registry.get("embed").run(ref)
    ref_stats = knn.run(ref)
    (root / layout.EMBEDDINGS).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ref / layout.EMBEDDINGS, root / layout.EMBEDDINGS)
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    out = run_tool(dvc_command("repro", "--single-item", "knn"), root, "dvc repro knn").stdout
    assert "Running stage 'knn'" in out
    stats = json.loads((root / layout.GRAPH_SUMMARY).read_text())
    assert (stats["backend"], stats["shards"], stats["method"]) == ("ray", 5, "exact")
    assert set(stats) == set(ref_stats) | {"backend", "shards"}
    assert pq.read_table(root / layout.GRAPH).equals(pq.read_table(ref / layout.GRAPH))


def _task_pids(name: str) -> set[int]:
    """Worker processes of this machine running the task ``name`` (Ray titles them)."""
    pids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith(f"ray::{name}"):
                pids.add(int(entry.name))
    return pids


def test_a_killed_worker_is_retried_and_no_row_is_lost_or_doubled(ray_cluster) -> None:
    from curate.compute.config import ComputeConfig
    from curate.compute.ray_knn import build_graph_on_ray
    from curate.config import IndexConfig
    from curate.index import build_graph
    from tests.helpers import clustered

    X = clustered(20_000, d=128, centres=200)
    cfg = IndexConfig(method="exact", batch_size=500)
    compute = ComputeConfig(backend="ray", shard_rows=500)
    want = build_graph(X, cfg)
    result: dict = {}

    def run() -> None:
        try:
            result["graph"] = build_graph_on_ray(X, cfg, compute)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    stage = threading.Thread(target=run)
    stage.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and stage.is_alive() and time.monotonic() < deadline:
        if pids := _task_pids("exact_shard"):
            killed = min(pids)
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.005)
    stage.join(timeout=120)
    assert killed is not None, "no worker was seen running a shard"
    assert "error" not in result, result.get("error")
    got = result["graph"]
    assert got.stats["shards"] == 40
    np.testing.assert_array_equal(got.ids, want.ids)
    np.testing.assert_array_equal(got.sims, want.sims)
