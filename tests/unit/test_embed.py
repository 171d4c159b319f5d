"""Embedders and the content-hash embedding cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curate import layout
from curate.config import ImageEmbedConfig, TextEmbedConfig, load_config
from curate.data.dataset import build_manifest
from curate.embed import embed_manifest, make_embedder, to_matrix
from curate.embed.image import ImageEmbedder
from curate.embed.tabular import TabularEmbedder
from curate.errors import EmbeddingError
from curate.stages import apply as apply_stage
from curate.stages import embed as embed_stage
from curate.stages import ingest as ingest_stage
from tests.helpers import write_workspace


class CountingEmbedder:
    """Deterministic stand-in that records how many rows it was asked to embed."""

    name = "counting"
    cacheable = True
    identity = "counting/v1"

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.prepared = 0

    def prepare(self) -> None:
        self.prepared += 1

    def fit(self, manifest: pa.Table) -> None:
        pass

    def embed(self, rows: pa.Table) -> np.ndarray:
        self.calls.append(rows.num_rows)
        texts = rows.column("input").to_pylist()
        return np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], np.float32)


def text_manifest(root: Path, texts: list[str]) -> pa.Table:
    pq.write_table(
        pa.table({"text": texts, "label": [f"c{i % 3}" for i in range(len(texts))]}),
        root / "d.parquet",
    )
    write_workspace(root, {"sources": [{"path": "d.parquet"}]})
    return build_manifest(load_config(root))


def test_appending_100_rows_to_10000_embeds_only_the_new_100(tmp_path: Path) -> None:
    """Acceptance: re-embedding after appending 100 rows to 10,000 embeds only those 100."""
    texts = [f"sample number {i}" for i in range(10_000)]
    cache = tmp_path / "cache"
    first = CountingEmbedder()
    table1, stats1 = embed_manifest(text_manifest(tmp_path, texts), first, cache, chunk_rows=512)
    assert sum(first.calls) == 10_000 and stats1.embedded == 10_000 and stats1.cached == 0

    second = CountingEmbedder()
    grown = texts + [f"new sample {i}" for i in range(100)]
    table2, stats2 = embed_manifest(text_manifest(tmp_path, grown), second, cache, chunk_rows=512)
    assert sum(second.calls) == 100
    assert (stats2.embedded, stats2.cached, stats2.rows) == (100, 10_000, 10_100)
    assert second.prepared == 1
    # Nothing new: the model is not even loaded.
    third = CountingEmbedder()
    _, stats3 = embed_manifest(text_manifest(tmp_path, grown), third, cache)
    assert (stats3.embedded, third.prepared, third.calls) == (0, 0, [])
    # Old rows keep their ids and exactly the same vectors.
    assert table2.column("sample_id").to_pylist()[:10_000] == table1.column("sample_id").to_pylist()
    np.testing.assert_array_equal(
        to_matrix(table2.column("embedding"))[:10_000], to_matrix(table1.column("embedding"))
    )


def test_duplicates_are_embedded_once_and_output_is_aligned_and_normalised(tmp_path: Path) -> None:
    texts = ["a", "bb", "a", "ccc", "bb"]
    emb = CountingEmbedder()
    manifest = text_manifest(tmp_path, texts)
    table, stats = embed_manifest(manifest, emb, None)
    assert sum(emb.calls) == 3 and stats.unique_contents == 3
    assert table.column("sample_id").to_pylist() == manifest.column("sample_id").to_pylist()
    m = to_matrix(table.column("embedding"))
    assert m.dtype == np.float32 and m.shape == (5, 3)
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(m[0], m[2])


def test_interrupted_run_keeps_flushed_vectors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("curate.embed.FLUSH_ROWS", 10)
    manifest = text_manifest(tmp_path, [f"t{i}" for i in range(50)])

    class Failing(CountingEmbedder):
        def embed(self, rows):
            if sum(self.calls) >= 30:
                raise KeyboardInterrupt
            return super().embed(rows)

    with pytest.raises(KeyboardInterrupt):
        embed_manifest(manifest, Failing(), tmp_path / "cache", chunk_rows=10)
    again = CountingEmbedder()
    _, stats = embed_manifest(manifest, again, tmp_path / "cache", chunk_rows=10)
    assert stats.cached == 30 and sum(again.calls) == 20


def test_embedder_with_wrong_output_shape_is_a_clear_error(tmp_path: Path) -> None:
    class Broken(CountingEmbedder):
        def embed(self, rows):
            return np.zeros((rows.num_rows + 1, 2), np.float32)

    with pytest.raises(EmbeddingError, match=r"returned shape \(3, 2\) for 2 rows"):
        embed_manifest(text_manifest(tmp_path, ["x", "y"]), Broken(), None)


def _digit_images(root: Path, n: int) -> list[str]:
    from sklearn.datasets import load_digits

    images = load_digits().images[:n]
    paths = []
    for i, img in enumerate(images):
        rel = f"img/{i}.png"
        (root / "img").mkdir(exist_ok=True)
        Image.fromarray((img * 15).astype(np.uint8), mode="L").save(root / rel)
        paths.append(rel)
    return paths


def _image_rows(paths: list[str]) -> pa.Table:
    return pa.table({"input": paths})


def test_image_pixels_embedder_is_deterministic_and_separates_digits(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    paths = _digit_images(tmp_path, 200)
    emb = ImageEmbedder(ImageEmbedConfig(size=8, dim=32), root=tmp_path, seed=0)
    a = emb.embed(_image_rows(paths))
    b = ImageEmbedder(ImageEmbedConfig(size=8, dim=32), root=tmp_path, seed=0).embed(
        _image_rows(paths)
    )
    assert a.shape == (200, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    # Nearest neighbour by cosine mostly shares the digit class: the geometry is meaningful.
    y = load_digits().target[:200]
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    sims = a @ a.T
    np.fill_diagonal(sims, -1)
    assert (y[sims.argmax(axis=1)] == y).mean() > 0.8


def test_image_module_plugin(tmp_path: Path) -> None:
    paths = _digit_images(tmp_path, 4)
    cfg = ImageEmbedConfig(size=8, module="tests.fixtures.tiny_module:make")
    emb = ImageEmbedder(cfg, root=tmp_path)
    assert emb.embed(_image_rows(paths)).shape == (4, 5)
    assert "tiny_module:make@1" in emb.identity


def test_image_module_that_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    paths = _digit_images(tmp_path, 1)
    emb = ImageEmbedder(ImageEmbedConfig(module="no_such_pkg.mod:make"), root=tmp_path)
    with pytest.raises(
        EmbeddingError, match="cannot load embed.image.module 'no_such_pkg.mod:make'"
    ):
        emb.embed(_image_rows(paths))


def test_tabular_embedder_scales_and_one_hot_encodes() -> None:
    table = pa.table({"age": [20.0, 40.0, None], "city": ["Oslo", "Rome", "Oslo"]})
    emb = TabularEmbedder(("age", "city"))
    emb.fit(table)
    out = emb.embed(table)
    np.testing.assert_allclose(out, [[-1, 1, 0], [1, 0, 1], [0, 1, 0]], atol=1e-6)
    before = emb.identity
    emb2 = TabularEmbedder(("age", "city"))
    emb2.fit(pa.table({"age": [20.0, 60.0], "city": ["Oslo", "Rome"]}))
    assert emb2.identity != before  # new statistics -> cached vectors are not reused


def test_make_embedder_rejects_a_mismatched_embedder(tmp_path: Path) -> None:
    write_workspace(tmp_path, {"sources": [{"path": "x.csv"}]}, embed={"embedder": "image"})
    with pytest.raises(
        EmbeddingError, match="embed.embedder is 'image' but data.modality is 'text'"
    ):
        make_embedder(load_config(tmp_path))


def test_precomputed_embeddings_pass_through_normalised(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"vec": [[3.0, 4.0], [0.0, 2.0]], "label": ["a", "b"]}), tmp_path / "e.parquet"
    )
    write_workspace(
        tmp_path,
        {
            "sources": [{"path": "e.parquet"}],
            "modality": "embedding",
            "input_column": "vec",
        },
    )
    ingest_stage.run(tmp_path)
    apply_stage.run(tmp_path)
    summary = embed_stage.run(tmp_path)
    assert summary["embedder"] == "precomputed" and summary["dim"] == 2
    m = to_matrix(pq.read_table(tmp_path / layout.EMBEDDINGS).column("embedding"))
    np.testing.assert_allclose(m, [[0.6, 0.8], [0.0, 1.0]], rtol=1e-6)


@pytest.mark.slow
def test_text_embedder_bundled_model_offline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from curate.embed.text import TextEmbedder

    emb = TextEmbedder(TextEmbedConfig(), batch_size=8)
    rows = pa.table(
        {
            "input": [
                "How do I reset my card PIN?",
                "I forgot the PIN of my card",
                "The football match ended 2-1",
            ]
        }
    )
    v = emb.embed(rows)
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] + 0.2


@pytest.mark.slow
def test_text_stage_reuses_cache_for_unchanged_rows(tmp_path: Path) -> None:
    texts = [f"customer question number {i} about a card" for i in range(60)]
    pq.write_table(pa.table({"text": texts, "label": ["a", "b"] * 30}), tmp_path / "d.parquet")
    write_workspace(tmp_path, {"sources": [{"path": "d.parquet"}]})
    ingest_stage.run(tmp_path)
    apply_stage.run(tmp_path)
    assert embed_stage.run(tmp_path)["embedded"] == 60
    pq.write_table(
        pa.table({"text": texts + ["a brand new question"], "label": ["a", "b"] * 30 + ["a"]}),
        tmp_path / "d.parquet",
    )
    ingest_stage.run(tmp_path)
    apply_stage.run(tmp_path)
    summary = embed_stage.run(tmp_path)
    assert (summary["embedded"], summary["cached"], summary["dim"]) == (1, 60, 384)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped_byte"])
def test_corrupt_cache_shard_is_rebuilt_with_a_warning(tmp_path: Path, monkeypatch, damage) -> None:
    """A damaged shard never crashes the run: it is dropped with a warning naming it, exactly
    its rows are embedded again into a sound shard, and the vectors are unchanged."""
    monkeypatch.setattr("curate.embed.FLUSH_ROWS", 10)
    manifest = text_manifest(tmp_path, [f"text {i}" for i in range(30)])
    cache = tmp_path / "cache"
    table1, _ = embed_manifest(manifest, CountingEmbedder(), cache, chunk_rows=10)
    shards = sorted(cache.glob("*/shard-*.parquet"))
    assert len(shards) == 3
    bad = shards[1]
    data = bad.read_bytes()
    if damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        bad.write_bytes(b"\0" * len(data))
    else:  # one flipped byte inside the first data page, the file otherwise intact
        i = 40
        bad.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])

    again = CountingEmbedder()
    with pytest.warns(UserWarning, match=r"embedding cache shard .*shard-.* is corrupt"):
        table2, stats = embed_manifest(manifest, again, cache, chunk_rows=10)
    assert (stats.cached, stats.embedded, sum(again.calls)) == (20, 10, 10)
    np.testing.assert_array_equal(
        to_matrix(table2.column("embedding")), to_matrix(table1.column("embedding"))
    )
    # The same rows make the same shard name: the damaged file was replaced by a sound one.
    assert pq.read_table(bad).num_rows == 10 and len(list(cache.glob("*/shard-*.parquet"))) == 3
    third = CountingEmbedder()
    _, stats3 = embed_manifest(manifest, third, cache, chunk_rows=10)
    assert (stats3.cached, stats3.embedded) == (30, 0)
