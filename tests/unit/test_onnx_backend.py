"""ONNX backends of the text model: export, integrity, agreement gate, choice, cache keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.config import TextEmbedConfig
from curate.embed import embed_manifest, onnx_backend
from curate.embed.onnx_backend import Export, Gate, knn_overlap, score_gate, verify
from curate.embed.text import BackendFallbackWarning, TextEmbedder, bundled_model_path
from curate.stages import apply as apply_stage
from curate.stages import embed as embed_stage
from curate.stages import ingest as ingest_stage
from tests.helpers import write_workspace

WORDS = "the cat sat on a mat and dog ran to park with big red ball then home again".split()


def words(n: int, offset: int = 0) -> str:
    return " ".join((WORDS * (n // len(WORDS) + 2))[offset : offset + n])


TEXTS = [
    "How do I reset my card PIN?",
    "The football match ended 2-1 after extra time",
    "Café prices rose by 3% in Zürich — again!",
    "",
    words(700),
    words(300, 3),
    "I forgot the PIN of my card",
]


# --- Pure parts -------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_gate_scores_identical_vectors_as_perfect_and_noisy_ones_lower() -> None:
    rng = np.random.default_rng(0)
    ref = _unit(rng.normal(size=(300, 16)))
    same = score_gate("onnx", ["t"] * 300, ref, ref.copy())
    assert (same.mean_cosine, same.knn_overlap, same.passed) == (1.0, 1.0, True)
    noisy = _unit(ref + 0.5 * rng.normal(size=ref.shape))
    gate = score_gate("onnx-int8", ["t"] * 300, ref, noisy)
    assert gate.mean_cosine < 0.99 and gate.knn_overlap < 0.9 and not gate.passed
    assert "mean cosine" in gate.reason() and "kNN@10 overlap" in gate.reason()


def test_knn_overlap_counts_shared_neighbours() -> None:
    # On a line, each point's 1-NN set changes when the middle point moves.
    a = _unit(np.array([[1, 0], [1, 0.1], [1, 0.3], [1, 0.6]], np.float32))
    assert knn_overlap(a, a, k=2) == (1.0, 2)
    b = a[[0, 1, 2, 3]].copy()
    b[1] = _unit(np.array([[1, 0.5]], np.float32))[0]  # point 1 now sits next to point 2/3
    overlap, k = knn_overlap(a, b, k=1)
    assert k == 1 and overlap < 1.0
    assert knn_overlap(a[:1], a[:1]) == (1.0, 0)  # one text has no neighbours


def test_gate_sample_is_seeded_distinct_and_independent_of_row_order() -> None:
    texts = [f"text {i}" for i in range(3000)] + ["text 1"] * 5
    a = onnx_backend.gate_sample(texts)
    b = onnx_backend.gate_sample(list(reversed(texts)))
    assert a == b and len(a) == onnx_backend.GATE_SAMPLE == len(set(a))
    assert onnx_backend.gate_sample(["b", "a", "b"]) == ["a", "b"]


def test_verify_rejects_missing_truncated_and_unlisted_exports(tmp_path: Path) -> None:
    d = tmp_path / "exp"
    d.mkdir()
    model = d / "model.onnx"
    model.write_bytes(b"\x08" * 1000)
    assert not verify(d)  # no export.json: half-written
    record = {"files": {"model.onnx": {"bytes": 1000, "sha256": onnx_backend._sha256(model)}}}
    (d / "export.json").write_text(json.dumps(record))
    assert verify(d)
    model.write_bytes(b"\x08" * 999)  # truncated
    assert not verify(d)
    model.write_bytes(b"\x09" * 1000)  # same size, other bytes
    assert not verify(d)
    model.unlink()
    assert not verify(d)
    (d / "export.json").write_text("{not json")
    assert not verify(d)


def test_export_root_env_overrides_the_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(onnx_backend.EXPORT_ENV, raising=False)
    assert onnx_backend.export_root(".curate/cache/models", tmp_path) == (
        tmp_path / ".curate/cache/models"
    )
    monkeypatch.setenv(onnx_backend.EXPORT_ENV, str(tmp_path / "shared"))
    assert onnx_backend.export_root(".curate/cache/models", tmp_path) == tmp_path / "shared"


def test_threads_follow_omp_num_threads(monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert onnx_backend.threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert onnx_backend.threads() == len(os.sched_getaffinity(0))


def test_the_gate_is_measured_once_per_export_and_never_again(tmp_path, monkeypatch) -> None:
    """A workspace that grows must keep its backend: a second, larger sample reuses the first
    record instead of measuring again (which could switch auto and re-embed every row)."""
    export = Export(tmp_path / "exp", "onnx-int8", "f" * 64)
    export.dir.mkdir()
    calls = []

    def fake_child(args: list[str], what: str) -> None:
        calls.append(args)
        texts = json.loads(Path(args[args.index("--texts") + 1]).read_text())
        record = Gate("onnx-int8", len(texts), "d", 0.999, 0.99, 0.95, 10, True)
        Path(args[args.index("--out") + 1]).write_text(json.dumps(record.to_dict()))

    monkeypatch.setattr(onnx_backend, "_child", fake_child)
    assert onnx_backend.ensure_gate(export, tmp_path, None) is None and not calls
    first = onnx_backend.ensure_gate(export, tmp_path, [f"t{i}" for i in range(60)])
    assert first.sample == 60 and len(calls) == 1
    again = onnx_backend.ensure_gate(export, tmp_path, [f"t{i}" for i in range(5000)])
    assert again == first and len(calls) == 1
    assert not list((export.dir / "gates").glob(".*texts*"))  # the sample file is removed


def _gate(backend: str, passed: bool) -> Gate:
    return Gate(backend, 600, "d", 0.999 if passed else 0.95, 0.9, 0.95, 10, passed)


def test_auto_takes_the_next_backend_when_int8_fails_the_gate(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(onnx_backend, "model_hash", lambda path: "f" * 64)
    monkeypatch.setattr(
        onnx_backend,
        "ensure_export",
        lambda model, backend, root, digest=None: Export(tmp_path / backend, backend, digest),
    )
    monkeypatch.setattr(
        onnx_backend,
        "ensure_gate",
        lambda export, model, texts: _gate(export.backend, export.backend == "onnx"),
    )
    emb = TextEmbedder(TextEmbedConfig(), root=tmp_path)
    with pytest.warns(BackendFallbackWarning, match="onnx-int8 failed the agreement gate"):
        assert emb.resolve(["a", "b"]) == "onnx"
    assert "/onnx/" in emb.identity and "recipe=" in emb.identity
    assert emb.backend_summary()["gates"]["onnx-int8"]["passed"] is False

    monkeypatch.setattr(
        onnx_backend, "ensure_gate", lambda export, model, texts: _gate(export.backend, False)
    )
    emb = TextEmbedder(TextEmbedConfig(), root=tmp_path)
    with pytest.warns(BackendFallbackWarning, match="using torch"):
        assert emb.resolve(["a"]) == "torch"
    assert emb.identity.startswith("text/sentence-transformers/")


def test_auto_falls_back_to_torch_without_onnxruntime_and_explicit_onnx_refuses(
    monkeypatch, tmp_path
) -> None:
    monkeypatch.setattr(onnx_backend, "runtime_available", lambda: "onnxruntime is not installed")
    emb = TextEmbedder(TextEmbedConfig(), root=tmp_path)
    with pytest.warns(BackendFallbackWarning, match="onnxruntime is not installed; using torch"):
        assert emb.resolve(["a"]) == "torch"
    from curate.errors import EmbeddingError

    with pytest.raises(EmbeddingError, match="embed.text.backend is 'onnx-int8' but onnxrun"):
        TextEmbedder(TextEmbedConfig(backend="onnx-int8"), root=tmp_path).resolve(["a"])


def test_backend_setting_is_validated(tmp_path: Path) -> None:
    from curate.config import load_config
    from curate.errors import ConfigError

    write_workspace(tmp_path, {"sources": [{"path": "x.csv"}]}, embed={"text": {"backend": "gpu"}})
    with pytest.raises(ConfigError, match="backend") as err:
        load_config(tmp_path)
    assert "configs/embed.yaml" in str(err.value)


# --- The real model ---------------------------------------------------------------------------


@pytest.mark.slow
def test_onnx_tokenisation_equals_the_models_tokenizer() -> None:
    from transformers import AutoTokenizer

    emb = TextEmbedder(TextEmbedConfig(backend="onnx"), batch_size=4)
    emb.resolve(TEXTS)
    hf = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    for text in TEXTS:
        assert emb.token_ids([text])[0] == hf(text, add_special_tokens=False)["input_ids"]
    assert (emb._prefix, emb._suffix, emb.window) == ([101], [102], 254)


@pytest.mark.slow
def test_onnx_vectors_match_torch_short_and_chunked() -> None:
    rows = pa.table({"input": TEXTS})
    torch_v = TextEmbedder(TextEmbedConfig(backend="torch"), batch_size=4).embed(rows)
    fp32 = TextEmbedder(TextEmbedConfig(backend="onnx"), batch_size=4)
    int8 = TextEmbedder(TextEmbedConfig(backend="onnx-int8"), batch_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 7-text gate sample may fail; chosen explicitly
        v32, v8 = fp32.embed(rows), int8.embed(rows)
    np.testing.assert_allclose(np.sum(v32 * torch_v, axis=1), 1.0, atol=1e-4)
    assert np.sum(v8 * torch_v, axis=1).min() > 0.97
    np.testing.assert_allclose(np.linalg.norm(v8, axis=1), 1.0, rtol=1e-5)
    assert (
        len({fp32.identity, int8.identity, TextEmbedder(TextEmbedConfig(backend="torch")).identity})
        == 3
    )


@pytest.mark.slow
def test_torch_and_int8_vectors_never_share_cache_entries(tmp_path: Path) -> None:
    texts = [f"question {i} about my card and {WORDS[i % len(WORDS)]}" for i in range(40)]
    manifest = pa.table(
        {
            "sample_id": [f"s{i}" for i in range(40)],
            "content_hash": [f"h{i}" for i in range(40)],
            "input": texts,
        }
    )
    cache = tmp_path / "cache"
    torch_emb = TextEmbedder(TextEmbedConfig(backend="torch"), batch_size=16)
    first, s1 = embed_manifest(manifest, torch_emb, cache)
    int8 = TextEmbedder(TextEmbedConfig(backend="onnx-int8"), batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        second, s2 = embed_manifest(manifest, int8, cache)
    assert (s1.embedded, s2.cached, s2.embedded) == (40, 0, 40)
    assert s1.identity != s2.identity and "onnx-int8" in s2.identity
    folders = sorted(p for p in cache.iterdir() if p.is_dir())
    assert len(folders) == 2
    identities = {json.loads((f / "identity.json").read_text())["identity"] for f in folders}
    assert identities == {s1.identity, s2.identity}
    a = first.column("embedding").combine_chunks().flatten().to_numpy()
    b = second.column("embedding").combine_chunks().flatten().to_numpy()
    assert not np.array_equal(a, b)  # int8 vectors are close to, never equal to, torch's
    again, s3 = embed_manifest(manifest, TextEmbedder(TextEmbedConfig(backend="torch")), cache)
    assert (s3.cached, s3.embedded) == (40, 0)
    assert again.column("embedding").equals(first.column("embedding"))


def _text_workspace(root: Path, n: int = 30) -> None:
    texts = [f"customer question {i}: where is my {WORDS[i % len(WORDS)]} card" for i in range(n)]
    pq.write_table(pa.table({"text": texts, "label": ["a", "b"] * (n // 2)}), root / "d.parquet")
    write_workspace(root, {"sources": [{"path": "d.parquet"}]})


@pytest.mark.slow
def test_a_deleted_or_damaged_export_is_rebuilt_and_gives_the_same_vectors(
    tmp_path: Path, monkeypatch
) -> None:
    """The workspace's own export folder (no shared cache): built on first use, checked on
    every use; a model file deleted after the run, or cut short as by a crash mid-write, is
    never loaded but built again."""
    monkeypatch.delenv(onnx_backend.EXPORT_ENV, raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    _text_workspace(ws)
    ingest_stage.run(ws)
    apply_stage.run(ws)
    first = embed_stage.run(ws)
    backend = first["backend"]
    assert backend["setting"] == "auto" and backend["backend"] in ("onnx-int8", "onnx")
    export = Path(backend["export"])
    assert export.is_relative_to(ws / ".curate/cache/models") and verify(export)
    assert backend["export_seconds"] > 0
    gate = backend["gates"][backend["backend"]]
    assert gate["sample"] == 30 and 0 < gate["mean_cosine"] <= 1.0
    vectors = pq.read_table(ws / "embeddings/embeddings.parquet").column("embedding")

    def rerun() -> dict:
        for cached in (ws / ".curate/cache/embeddings").iterdir():
            for shard in cached.glob("shard-*.parquet"):
                shard.unlink()  # make the run embed again with the rebuilt model
        return embed_stage.run(ws)

    (export / "model.onnx").unlink()
    again = rerun()
    assert again["backend"]["export_seconds"] > 0 and verify(export)
    assert again["embedded"] == 30
    assert pq.read_table(ws / "embeddings/embeddings.parquet").column("embedding").equals(vectors)

    data = (export / "model.onnx").read_bytes()
    (export / "model.onnx").write_bytes(data[: len(data) // 2])  # a write cut short
    third = rerun()
    assert third["backend"]["export_seconds"] > 0 and verify(export)
    assert pq.read_table(ws / "embeddings/embeddings.parquet").column("embedding").equals(vectors)
    assert not list(export.parent.glob(".*.tmp-*"))  # no half-built folder left behind


@pytest.mark.slow
def test_the_onnx_embed_stage_never_imports_torch(tmp_path: Path) -> None:
    """Peak memory: the ONNX path runs without torch and sentence-transformers in-process
    (the export and the gate run in child processes)."""
    _text_workspace(tmp_path)
    ingest_stage.run(tmp_path)
    apply_stage.run(tmp_path)
    embed_stage.run(tmp_path)  # builds the export and gate record if this run has none yet
    for cached in (tmp_path / ".curate/cache/embeddings").iterdir():
        for shard in cached.glob("shard-*.parquet"):
            shard.unlink()
    code = (
        "import sys, json; from curate.stages import embed; s = embed.run(sys.argv[1]); "
        "print(json.dumps([s['embedded'], s['backend']['backend'], "
        "sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    embedded, backend, imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert embedded == 30 and backend.startswith("onnx")
    assert imported == []
