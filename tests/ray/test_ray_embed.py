"""The embed stage on a local two-node Ray cluster writes the local backend's artifact: same
path, schema, ``sample_id`` order and vectors (within 1e-5), honours the content-hash cache,
survives a killed worker, and leaves the previous artifact intact when it fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.data.manifest import read_manifest
from curate.embed import to_matrix
from curate.errors import EmbeddingError
from curate.pipeline import registry
from curate.scaffold.tools import dvc_command, run_tool
from tests.ray.conftest import set_config, text_workspace

pytestmark = [pytest.mark.ray, pytest.mark.e2e]

#: Small shards, so the ~100 rows are spread over both actors in several pieces.
RAY = {"num_actors": 2, "cpus_per_actor": 1.0, "shard_rows": 8}


def embed(root: Path) -> dict:
    return registry.get("embed").run(root)


def artifact(root: Path):
    table = pq.read_table(root / layout.EMBEDDINGS)
    return table, table.column("sample_id").to_pylist(), to_matrix(table.column("embedding"))


def assert_same_artifact(root: Path, reference: Path) -> None:
    table, ids, vectors = artifact(root)
    ref_table, ref_ids, ref_vectors = artifact(reference)
    assert table.schema == ref_table.schema
    assert ids == ref_ids == read_manifest(root / layout.MANIFEST).column("sample_id").to_pylist()
    assert len(set(ids)) == len(ids)  # every sample exactly once
    np.testing.assert_allclose(vectors, ref_vectors, atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> tuple[Path, dict]:
    """The workspace embedded by the local backend: the reference."""
    root = text_workspace(tmp_path_factory.mktemp("local") / "ws")
    return root, embed(root)


def test_ray_backend_writes_the_local_artifact_and_a_rerun_embeds_nothing(
    ray_cluster, local, tmp_path
) -> None:
    ref, ref_summary = local
    root = text_workspace(tmp_path / "ws", "ray", **RAY)
    summary = embed(root)
    assert summary["compute"]["backend"] == "ray" and summary["compute"]["nodes"] == 2
    assert summary["embedded"] == ref_summary["embedded"] == ref_summary["unique_contents"]
    assert summary["embedded"] == summary["rows"] - 2  # the two copies are embedded once
    for key in ("identity", "rows", "unique_contents", "dim", "texts_chunked", "chunks"):
        assert summary[key] == ref_summary[key], key
    assert summary["texts_chunked"] == 2
    assert_same_artifact(root, ref)

    again = embed(root)  # every content is in the cache now: nothing goes to the cluster
    assert again["embedded"] == 0 and again["cached"] == summary["unique_contents"]
    assert again["texts_chunked"] == 2  # counted over cached texts too
    assert json.loads((root / layout.EMBEDDINGS_SUMMARY).read_text())["embedded"] == 0
    assert_same_artifact(root, ref)


def _embedding_actor_pids() -> set[int]:
    """Worker processes of this machine's embedding actors that are embedding a shard right
    now: Ray titles a worker ``ray::<actor>.<method>`` while it runs a method, and the pool's
    actors are named after the callable class."""
    pids = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            title = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        title = title.replace("\0", " ").strip()
        if title.startswith("ray::") and "EmbedBatches" in title and title.endswith(".submit"):
            pids.add(int(entry.name))
    return pids


def test_a_killed_worker_is_retried_and_nothing_is_lost_or_doubled(
    ray_cluster, local, tmp_path
) -> None:
    """One actor's worker process is killed (SIGKILL) while it embeds a shard: Ray restarts
    it and retries the shard; the artifact has every sample once and the local vectors."""
    ref, _ = local
    root = text_workspace(tmp_path / "ws", "ray", **{**RAY, "shard_rows": 4})
    result: dict = {}

    def run() -> None:
        try:
            result["summary"] = embed(root)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    stage = threading.Thread(target=run)
    stage.start()
    killed = None
    while killed is None and stage.is_alive():
        busy = _embedding_actor_pids()
        if busy:
            killed = min(busy)
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    stage.join(timeout=240)
    assert not stage.is_alive(), "the stage did not finish after a worker was killed"
    assert killed is not None, "no embedding actor was seen at work while the stage ran"
    assert "error" not in result, result.get("error")
    summary = result["summary"]
    assert summary["embedded"] == summary["unique_contents"] == summary["rows"] - 2
    assert_same_artifact(root, ref)


def test_a_failed_ray_run_leaves_the_previous_artifact_intact(ray_cluster, local, tmp_path):
    ref, _ = local
    root = text_workspace(tmp_path / "ws", "ray", **RAY)
    out = root / layout.EMBEDDINGS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes((ref / layout.EMBEDDINGS).read_bytes())
    before = out.read_bytes()
    (root / "no-model").mkdir()  # the actors cannot load a model from an empty folder
    set_config(root, "embed", "embed", **{"text.model": str(root / "no-model")})
    with pytest.raises(EmbeddingError, match="no config.json") as failed:
        embed(root)
    assert type(failed.value.__cause__).__module__.startswith("ray.")  # raised on a worker
    assert out.read_bytes() == before
    assert not list(out.parent.glob(f".{out.name}.*"))  # no temporary file left behind


def test_dvc_repro_embed_runs_on_the_cluster(ray_cluster, local, tmp_path, monkeypatch) -> None:
    """A real ``dvc repro embed``: the stage's own process joins the cluster by RAY_ADDRESS."""
    ray, cluster = ray_cluster
    ref, _ = local
    root = text_workspace(tmp_path / "ws", "ray", **RAY)
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    out = run_tool(dvc_command("repro", "embed"), root, "dvc repro embed").stdout
    assert "Running stage 'embed'" in out
    summary = json.loads((root / layout.EMBEDDINGS_SUMMARY).read_text())
    assert summary["compute"]["backend"] == "ray" and summary["compute"]["nodes"] == 2
    assert_same_artifact(root, ref)


def test_actors_use_as_many_threads_as_their_cpus(tmp_path) -> None:
    """In a fresh process with torch already imported, an actor's thread limit reaches torch,
    onnxruntime (``OMP_NUM_THREADS``) and the tokenizers; at least one thread."""
    code = (
        "import torch\n"
        "from curate.compute.ray_embed import limit_threads\n"
        "from curate.embed.onnx_backend import threads\n"
        "import os\n"
        "for cpus in (2.5, 0.5):\n"
        "    n = limit_threads(cpus)\n"
        "    print(n, torch.get_num_threads(), threads(), os.environ['TOKENIZERS_PARALLELISM'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:2] == ["2 2 2 false", "1 1 1 false"]


def test_actors_take_the_drivers_onnx_export_and_never_build_one(local, monkeypatch) -> None:
    """The driver resolves the text backend (export and gate) once; an actor takes that
    result over, so it never exports or gates itself: an export the worker cannot read is a
    clear error naming the folder, not a second export."""
    from curate.compute.ray_embed import EmbedBatches
    from curate.config import load_config
    from curate.embed import make_embedder, onnx_backend

    ref, _ = local
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(name, os.environ.get(name, "2"))  # restored after the test
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")

    def no_export(*args, **kwargs):
        raise AssertionError("an actor started an ONNX export")

    monkeypatch.setattr(onnx_backend, "ensure_export", no_export)
    monkeypatch.setattr(onnx_backend, "ensure_gate", no_export)
    cfg = load_config(ref)
    missing = onnx_backend.Export(ref / "no-export", "onnx", "0" * 64)
    driver = make_embedder(cfg)
    driver.backend, driver.export = "onnx", missing
    torch_threads = sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None
    try:
        with pytest.raises(EmbeddingError, match="no-export built by the stage is not readable"):
            EmbedBatches(cfg, driver.identity, {"backend": "onnx", "export": missing}, cpus=1)
    finally:
        if torch_threads is not None:  # this process's own setting, changed by the actor code
            sys.modules["torch"].set_num_threads(torch_threads)
