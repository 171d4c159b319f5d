"""Long texts are embedded whole: split into chunks of word pieces, their vectors averaged."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curate.config import TextEmbedConfig, load_config
from curate.embed import embed_manifest
from curate.embed.text import TextEmbedder, chunk_starts
from curate.errors import ConfigError, EmbeddingError
from curate.scaffold.templates import section_templates
from curate.stages import apply as apply_stage
from curate.stages import embed as embed_stage
from curate.stages import ingest as ingest_stage
from curate.stages.embed import LongTextsCappedWarning
from tests.helpers import write_workspace

#: Words that the bundled model's tokenizer reads as one word piece each.
WORDS = "the cat sat on a mat and dog ran to park with big red ball then home again".split()


def words(n: int, offset: int = 0) -> str:
    return " ".join(itertools.islice(itertools.cycle(WORDS), offset, offset + n))


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    emb = TextEmbedder(TextEmbedConfig(backend="torch"), batch_size=16)
    emb.prepare()
    return emb


def ids_of(emb: TextEmbedder, text: str) -> list[int]:
    return list(emb._load().tokenizer(text, add_special_tokens=False)["input_ids"])


def test_chunk_starts_step_by_chunk_minus_overlap_and_end_at_the_text_end() -> None:
    assert chunk_starts(254, 254, 32, 64) == ([0], False)
    assert chunk_starts(600, 254, 32, 64) == ([0, 222, 346], False)
    assert chunk_starts(476, 254, 32, 64) == ([0, 222], False)  # no duplicate end chunk
    assert chunk_starts(100, 32, 8, 4) == ([0, 24, 48, 68], False)
    # The cap keeps the first chunks; the text after the last one is not read.
    assert chunk_starts(1000, 100, 0, 3) == ([0, 100, 200], True)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cfg", "starts"),
    [
        # Default: whole-window chunks (254 word pieces + 2 special tokens), overlap 32.
        (TextEmbedConfig(backend="torch"), [0, 222, 346]),
        (
            TextEmbedConfig(backend="torch", chunk_tokens=100, chunk_overlap=10),
            [0, 90, 180, 270, 360, 450, 500],
        ),
    ],
)
def test_long_text_is_the_normalised_mean_of_its_chunks(cfg, starts, embedder) -> None:
    """Computed independently: the chunks' word pieces decoded to text (checked to tokenise
    back to the same pieces) and embedded with plain ``SentenceTransformer.encode``."""
    emb = TextEmbedder(cfg, batch_size=16)
    model = embedder._load()
    text = words(600)
    ids = ids_of(embedder, text)
    assert len(ids) == 600
    size = cfg.chunk_tokens or 254
    chunk_texts = [model.tokenizer.decode(ids[s : s + size]) for s in starts]
    for s, t in zip(starts, chunk_texts, strict=True):
        assert ids_of(embedder, t) == ids[s : s + size]
    chunks = model.encode(chunk_texts, normalize_embeddings=True, convert_to_numpy=True)
    expected = chunks.mean(axis=0)
    expected /= np.linalg.norm(expected)

    got = emb.embed(pa.table({"input": ["a short one", text]}))
    np.testing.assert_allclose(got[1], expected, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
def test_texts_that_fit_are_bit_identical_to_plain_encode(embedder) -> None:
    model = embedder._load()
    short = ["How do I reset my card PIN?", "The football match ended 2-1", words(254)]
    plain = model.encode(short, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_array_equal(embedder.embed(pa.table({"input": short})), plain)
    # In a call that also holds long texts, too: encode sees exactly today's call.
    mixed = [short[0], words(700), short[1], words(300, 3), short[2]]
    plain = model.encode(mixed, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    got = embedder.embed(pa.table({"input": mixed}))
    np.testing.assert_array_equal(got[[0, 2, 4]], plain[[0, 2, 4]])
    assert not np.allclose(got[1], plain[1], atol=1e-3)  # the long ones are read whole


@pytest.mark.slow
def test_a_text_that_differs_only_after_the_window_gets_a_different_vector(embedder) -> None:
    """Truncating at 256 word pieces gave these two posts the same vector."""
    head = words(300)
    a = head + " . " + "the stock market fell sharply as investors sold bank shares " * 10
    b = head + " . " + "the goalkeeper saved a penalty in the last minute of the final " * 10
    assert len(ids_of(embedder, a)) > 254 and len(ids_of(embedder, b)) > 254
    va, vb = embedder.embed(pa.table({"input": [a, b]}))
    assert float(va @ vb) < 0.99


def test_identity_changes_with_every_chunk_setting() -> None:
    base = TextEmbedder(TextEmbedConfig(backend="torch")).identity
    assert TextEmbedder(TextEmbedConfig(backend="torch")).identity == base
    for cfg in (
        TextEmbedConfig(backend="torch", chunk_tokens=128),
        TextEmbedConfig(backend="torch", chunk_overlap=0),
        TextEmbedConfig(backend="torch", max_chunks=8),
        TextEmbedConfig(backend="torch", max_seq_length=128),
    ):
        assert TextEmbedder(cfg).identity != base, cfg


def long_texts_workspace(root: Path) -> None:
    """Window 62 word pieces (max_seq_length 64), chunks of 32 overlapping by 8, at most 4.

    A: 100 pieces -> 4 chunks; B: 300 -> capped at 4; C: 63 -> 3 chunks; the rest fit.
    B appears twice: counts are per distinct content.
    """
    texts = [words(100), words(300, 1), words(63, 2), words(62, 3), "short", words(300, 1)]
    pq.write_table(pa.table({"text": texts, "label": ["a", "b"] * 3}), root / "d.parquet")
    write_workspace(
        root,
        {"sources": [{"path": "d.parquet"}]},
        embed={
            "batch_size": 4,
            "text": {
                "max_seq_length": 64,
                "chunk_tokens": 32,
                "chunk_overlap": 8,
                "max_chunks": 4,
            },
        },
    )


@pytest.mark.slow
def test_summary_counts_chunked_texts_also_when_vectors_come_from_the_cache(
    tmp_path: Path,
) -> None:
    long_texts_workspace(tmp_path)
    ingest_stage.run(tmp_path)
    apply_stage.run(tmp_path)
    with pytest.warns(LongTextsCappedWarning, match="1 text"):
        first = embed_stage.run(tmp_path)
    assert (first["embedded"], first["cached"]) == (5, 0)
    counts = {k: first[k] for k in ("texts_chunked", "chunks", "texts_capped")}
    assert counts == {"texts_chunked": 3, "chunks": 4 + 4 + 3, "texts_capped": 1}
    with pytest.warns(LongTextsCappedWarning):
        again = embed_stage.run(tmp_path)
    assert (again["embedded"], again["cached"]) == (0, 5)
    assert {k: again[k] for k in counts} == counts


def test_other_embedders_report_zero_chunks(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"vec": [[3.0, 4.0], [0.0, 2.0]], "label": ["a", "b"]}), tmp_path / "e.parquet"
    )
    write_workspace(
        tmp_path,
        {"sources": [{"path": "e.parquet"}], "modality": "embedding", "input_column": "vec"},
    )
    ingest_stage.run(tmp_path)
    apply_stage.run(tmp_path)
    summary = embed_stage.run(tmp_path)
    assert (summary["texts_chunked"], summary["chunks"], summary["texts_capped"]) == (0, 0, 0)


@pytest.mark.slow
def test_counts_from_embed_manifest_and_a_fresh_embedder_agree(tmp_path: Path) -> None:
    texts = [words(100), words(300, 1), "short"]
    manifest = pa.table(
        {"sample_id": ["x", "y", "z"], "content_hash": ["h1", "h2", "h3"], "input": texts}
    )
    cfg = TextEmbedConfig(
        backend="torch", max_seq_length=64, chunk_tokens=32, chunk_overlap=8, max_chunks=4
    )
    fresh = TextEmbedder(cfg, batch_size=4)
    table, _ = embed_manifest(manifest, fresh, tmp_path / "cache")
    reloaded = TextEmbedder(cfg, batch_size=4)
    table2, stats = embed_manifest(manifest, reloaded, tmp_path / "cache")
    assert stats.cached == 3
    assert fresh.chunk_counts(manifest) == reloaded.chunk_counts(manifest)
    assert reloaded.chunk_counts(manifest).chunks == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ({"chunk_overlap": 300}, "embed.text.chunk_overlap must be >= 0 and smaller than"),
        ({"chunk_tokens": 64, "chunk_overlap": 64}, "embed.text.chunk_overlap must be"),
        ({"chunk_overlap": -1}, "embed.text.chunk_overlap must be >= 0"),
        ({"chunk_tokens": 0}, "embed.text.chunk_tokens must be between 1 and"),
        ({"chunk_tokens": 300}, r"embed.text.chunk_tokens must be between 1 and .*\(256\)"),
        ({"max_chunks": 0}, "embed.text.max_chunks must be >= 1, found 0"),
        ({"chunk_tokens": "all"}, "chunk_tokens"),
    ],
)
def test_bad_chunk_settings_are_config_errors_naming_the_file(tmp_path, text, message) -> None:
    write_workspace(tmp_path, {"sources": [{"path": "x.csv"}]}, embed={"text": text})
    with pytest.raises(ConfigError, match=message) as err:
        load_config(tmp_path)
    assert "configs/embed.yaml" in str(err.value)


@pytest.mark.slow
def test_chunk_larger_than_the_model_window_is_refused() -> None:
    # max_seq_length 256 leaves 254 word pieces next to [CLS] and [SEP].
    emb = TextEmbedder(TextEmbedConfig(backend="torch", chunk_tokens=255), batch_size=4)
    with pytest.raises(EmbeddingError, match="more than the model's window of 254"):
        emb.prepare()


def test_template_and_repository_config_carry_the_defaults() -> None:
    defaults = TextEmbedConfig()
    repo_config = Path(__file__).parents[2] / "configs" / "embed.yaml"
    template = section_templates()["configs/embed.yaml"]
    for source in (template, repo_config.read_text()):
        text = yaml.safe_load(source)["embed"]["text"]
        assert text["chunk_tokens"] is defaults.chunk_tokens is None
        assert (text["chunk_overlap"], text["max_chunks"]) == (
            defaults.chunk_overlap,
            defaults.max_chunks,
        )
