"""Bad input must fail cleanly: exit 2, one ``error:`` line naming the input, what was expected
or found, and what to do; never a traceback, and never a damaged artifact.

Every test builds a tiny workspace in ``tmp_path`` and drives the real CLI through click's
``CliRunner``. With click >= 8.2 ``result.stderr`` holds only what went to stderr (where the
``error:`` line goes) and ``result.output`` holds stdout and stderr interleaved.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import traceback
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from curate.artifacts import atomic_path
from curate.cli import main
from tests.helpers import text_cfg, write_workspace

SPLITS_LISTED = "train, validation, test, unlabeled"

# -- helpers -----------------------------------------------------------------------------------


def image_cfg(**overrides: Any) -> dict[str, Any]:
    return {
        "sources": [{"path": "images.csv"}],
        "modality": "image",
        "input_column": "path",
        "label_column": "label",
        **overrides,
    }


def embedding_cfg(**overrides: Any) -> dict[str, Any]:
    return {
        "sources": [{"path": "emb.parquet"}],
        "modality": "embedding",
        "input_column": "embedding",
        "label_column": "label",
        **overrides,
    }


def write_embeddings(path: Path, vectors: list[list[float]]) -> Path:
    labels = ["a" if i % 2 == 0 else "b" for i in range(len(vectors))]
    table = pa.table(
        {
            "embedding": pa.array(vectors, pa.list_(pa.float32())),
            "label": pa.array(labels, pa.string()),
        }
    )
    pq.write_table(table, path)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


GOOD_ROWS = [["the cat sat", "cat"], ["a dog barked", "dog"], ["the cat slept", "cat"]]


def write_good_text(root: Path) -> Path:
    """A valid text workspace; returns the data file."""
    write_workspace(root, text_cfg())
    return write_csv(root / "data.csv", ["text", "label"], GOOD_ROWS)


def png_bytes(color: int = 128, size: int = 4) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


def invoke(root: Path, verb: str = "ingest") -> Result:
    return CliRunner().invoke(main, [verb, "-w", str(root)])


def cli_error(root: Path, verb: str = "ingest") -> str:
    """Run ``curate VERB -w ROOT``, check it failed cleanly, and return the error message."""
    result = invoke(root, verb)
    assert "Traceback" not in result.output, result.output
    # CliRunner swallows an exception other than CurateError (exit code 1, no traceback shown).
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"`curate {verb}` crashed instead of raising a CurateError:\n{tb}")
    assert result.exit_code == 2, f"expected exit 2, got {result.exit_code}:\n{result.output}"
    assert result.stdout == "", result.stdout
    assert result.stderr.startswith("error: "), result.stderr
    return result.stderr


def ingest_error(root: Path) -> str:
    return cli_error(root, "ingest")


def src(root: Path, name: str) -> str:
    """How curate spells a workspace file in messages (absolute, resolved)."""
    return str(root.resolve() / name)


def leftover_tmp(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


# -- 1. missing data file ----------------------------------------------------------------------


def test_missing_data_file(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg("nowhere/data.csv"))
    err = ingest_error(tmp_path)
    assert src(tmp_path, "nowhere/data.csv") in err
    assert "does not exist" in err
    assert "data.sources[].path" in err


# -- 2. unreadable / corrupt file --------------------------------------------------------------


def _garbage_parquet(path: Path) -> None:
    path.write_bytes(b"this is not parquet\x00\x01\x02" * 20)


def _truncated_parquet(path: Path) -> None:
    buf = io.BytesIO()
    pq.write_table(pa.table({"text": ["a", "b", "c"], "label": ["x", "y", "x"]}), buf)
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])


def _empty_parquet(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(
    "corrupt",
    [_garbage_parquet, _truncated_parquet, _empty_parquet],
    ids=["garbage", "truncated", "empty"],
)
def test_corrupt_parquet(tmp_path: Path, corrupt) -> None:
    write_workspace(tmp_path, text_cfg("data.parquet"))
    corrupt(tmp_path / "data.parquet")
    err = ingest_error(tmp_path)
    assert src(tmp_path, "data.parquet") in err
    assert "cannot read" in err and "as parquet" in err
    assert "Check that the file is a complete, valid parquet file" in err


def test_malformed_csv(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg())
    (tmp_path / "data.csv").write_text("text,label\na,x\nb,y,extra\n")
    err = ingest_error(tmp_path)
    assert src(tmp_path, "data.csv") in err
    assert "cannot read" in err and "as csv" in err
    assert "Expected 2 columns, got 3" in err
    assert "valid csv file" in err


def test_csv_not_utf8(tmp_path: Path) -> None:
    """A Latin-1 export must be rejected, not ingested as Python bytes reprs ("b'caf\\xe9'")."""
    write_workspace(tmp_path, text_cfg())
    content = "text,label\ncafé au lait,drink\nplain tea,drink\nbread,food\n"
    (tmp_path / "data.csv").write_bytes(content.encode("latin-1"))
    err = ingest_error(tmp_path)
    assert src(tmp_path, "data.csv") in err
    assert "utf-8" in err.lower()


# -- 3. missing column -------------------------------------------------------------------------


def test_missing_label_column(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(label_column="category"))
    write_csv(tmp_path / "data.csv", ["text", "label"], GOOD_ROWS)
    err = ingest_error(tmp_path)
    assert "label column 'category' not found" in err
    assert src(tmp_path, "data.csv") in err
    assert "columns are: text, label" in err
    assert "data.label_column" in err


def test_missing_input_column(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(input_column="body"))
    write_csv(tmp_path / "data.csv", ["text", "label"], GOOD_ROWS)
    err = ingest_error(tmp_path)
    assert "input column 'body' not found" in err
    assert "columns are: text, label" in err
    assert "data.input_column" in err


# -- 4. empty dataset --------------------------------------------------------------------------


def test_empty_dataset_header_only(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg())
    write_csv(tmp_path / "data.csv", ["text", "label"], [])
    err = ingest_error(tmp_path)
    assert "dataset is empty" in err
    assert src(tmp_path, "data.csv") in err
    assert "no rows" in err
    assert "Point data.sources at files with data" in err


def test_empty_dataset_embedding_modality(tmp_path: Path) -> None:
    write_workspace(tmp_path, embedding_cfg())
    write_embeddings(tmp_path / "emb.parquet", [])
    err = ingest_error(tmp_path)
    assert "dataset is empty" in err
    assert src(tmp_path, "emb.parquet") in err
    assert "Point data.sources at files with data" in err


# -- 5. fewer than two classes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "found"),
    [(["cat", "cat", ""], "found only 'cat'"), (["", "", ""], "found no labelled rows")],
    ids=["one-class", "no-labels"],
)
def test_fewer_than_two_classes(tmp_path: Path, labels: list[str], found: str) -> None:
    write_workspace(tmp_path, text_cfg())
    rows = [[f"text {i}", label] for i, label in enumerate(labels)]
    write_csv(tmp_path / "data.csv", ["text", "label"], rows)
    err = ingest_error(tmp_path)
    assert "label column 'label'" in err
    assert src(tmp_path, "data.csv") in err
    assert "at least 2 classes" in err
    assert found in err
    assert "set it to null if the whole dataset is an unlabelled pool" in err


# -- 6. labels outside the declared classes ----------------------------------------------------


def test_labels_outside_declared_classes(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(classes=["cat", "dog"]))
    rows = [*GOOD_ROWS, ["a bird sang", "bird"], ["a bird flew", "bird"]]
    write_csv(tmp_path / "data.csv", ["text", "label"], rows)
    err = ingest_error(tmp_path)
    assert "label column 'label'" in err
    assert src(tmp_path, "data.csv") in err
    assert "outside the declared class list: 'bird' (2 rows)" in err
    assert "Add them to data.classes" in err


# -- 7. duplicate user ids ---------------------------------------------------------------------


def test_duplicate_ids(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(id_column="id"))
    rows = [["s1", "the cat sat", "cat"], ["s2", "a dog barked", "dog"], ["s2", "other", "cat"]]
    write_csv(tmp_path / "data.csv", ["id", "text", "label"], rows)
    err = ingest_error(tmp_path)
    assert "id column 'id'" in err
    assert src(tmp_path, "data.csv") in err
    assert "1 duplicated id(s), e.g. 's2'" in err
    assert "Ids must be unique" in err
    assert "set data.id_column to null" in err


# -- 8. missing image file ---------------------------------------------------------------------


def test_missing_image_file(tmp_path: Path) -> None:
    write_workspace(tmp_path, image_cfg())
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(png_bytes())
    rows = [["img/a.png", "cat"], ["img/missing.png", "dog"]]
    write_csv(tmp_path / "images.csv", ["path", "label"], rows)
    err = ingest_error(tmp_path)
    assert src(tmp_path, "images.csv") in err
    assert src(tmp_path, "img/missing.png") in err
    assert "1 image file(s) not found" in err
    assert f"resolved against {tmp_path.resolve()}" in err
    assert "set data.image_root" in err


# -- 9. NaN / inf in precomputed embeddings ----------------------------------------------------


def test_non_finite_embeddings(tmp_path: Path) -> None:
    write_workspace(tmp_path, embedding_cfg())
    vectors = [[1.0, 0.0, 0.0], [float("nan"), 1.0, 0.0], [0.0, float("inf"), 1.0], [0, 0, 1.0]]
    write_embeddings(tmp_path / "emb.parquet", vectors)
    err = ingest_error(tmp_path)
    assert src(tmp_path, "emb.parquet") in err
    assert "embedding column 'embedding'" in err
    assert "NaN or infinite values on 2 row(s) (first rows: 2, 3)" in err
    assert "Recompute those embeddings or drop the rows" in err


# -- 10. embedding dimension mismatch ----------------------------------------------------------


def test_ragged_embeddings(tmp_path: Path) -> None:
    write_workspace(tmp_path, embedding_cfg())
    vectors = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0], [0.0, 0.0, 1.0]]
    write_embeddings(tmp_path / "emb.parquet", vectors)
    err = ingest_error(tmp_path)
    assert src(tmp_path, "emb.parquet") in err
    assert "embedding column 'embedding'" in err
    assert "dimension 2 (1 rows), expected 3 (the most common length)" in err
    assert "first rows: 3" in err
    assert "fix the rows or data.embedding_dim" in err


def test_embedding_dim_differs_from_config(tmp_path: Path) -> None:
    write_workspace(tmp_path, embedding_cfg(embedding_dim=4))
    vectors = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    write_embeddings(tmp_path / "emb.parquet", vectors)
    err = ingest_error(tmp_path)
    assert src(tmp_path, "emb.parquet") in err
    assert "embedding column 'embedding'" in err
    assert "dimension 3 (3 rows), expected 4 (data.embedding_dim)" in err
    assert "fix the rows or data.embedding_dim in configs/data.yaml" in err


def test_embedding_dim_differs_between_sources(tmp_path: Path) -> None:
    """Each source is consistent on its own, but the dataset mixes 3-d and 4-d vectors."""
    sources = [{"path": "a.parquet"}, {"path": "b.parquet"}]
    write_workspace(tmp_path, embedding_cfg(sources=sources))
    write_embeddings(tmp_path / "a.parquet", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    write_embeddings(tmp_path / "b.parquet", [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    err = ingest_error(tmp_path)
    assert src(tmp_path, "a.parquet") in err or src(tmp_path, "b.parquet") in err
    assert "embedding column 'embedding'" in err
    assert "dimension" in err
    assert "data.embedding_dim" in err
    assert not (tmp_path / "manifest" / "source.parquet").exists()


# -- 11. config problems -----------------------------------------------------------------------


def test_config_unknown_data_key(tmp_path: Path) -> None:
    cfg = text_cfg()
    cfg["lable_column"] = cfg.pop("label_column")
    write_workspace(tmp_path, cfg)
    write_csv(tmp_path / "data.csv", ["text", "label"], GOOD_ROWS)
    err = ingest_error(tmp_path)
    assert src(tmp_path, "configs/data.yaml") in err
    assert "unknown key(s) 'lable_column'" in err
    assert "Allowed keys are: " in err and "label_column" in err


def test_config_unknown_source_key(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(sources=[{"pth": "data.csv"}]))
    err = ingest_error(tmp_path)
    assert src(tmp_path, "configs/data.yaml") in err
    assert "data.sources[0]: unknown key(s) 'pth'" in err
    assert "Allowed keys are: path, format" in err


def test_config_unknown_section(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(), {"extra.yaml": {"bogus": {"x": 1}}})
    write_csv(tmp_path / "data.csv", ["text", "label"], GOOD_ROWS)
    err = ingest_error(tmp_path)
    assert f"'bogus' in {src(tmp_path, 'configs/extra.yaml')}" in err
    assert "unknown config section(s)" in err
    assert (
        "Known sections are: active_learning, analysis, augmentation, compute, data, duplicates, "
        "embed, evaluate, index, label, outlier, predict, redundancy, review, seed" in err
    )


def test_config_wrong_type(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(), {"embed.yaml": {"embed": {"batch_size": "x"}}})
    write_csv(tmp_path / "data.csv", ["text", "label"], GOOD_ROWS)
    err = ingest_error(tmp_path)
    assert src(tmp_path, "configs/embed.yaml") in err
    assert "embed.batch_size must be an integer, found 'x'" in err


def test_config_bad_literal(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(modality="audio"))
    err = ingest_error(tmp_path)
    assert src(tmp_path, "configs/data.yaml") in err
    assert "data.modality must be one of: text, image, tabular, embedding; found 'audio'" in err


@pytest.mark.parametrize(
    ("file", "section", "body", "expected"),
    [
        (
            "duplicates.yaml",
            "duplicates",
            {"threshold": 1.5},
            "duplicates.threshold must be in (0, 1] or null, found 1.5",
        ),
        (
            "duplicates.yaml",
            "duplicates",
            {"max_word_edits": 1.5},
            "duplicates.max_word_edits must be in [0, 1) or null, found 1.5",
        ),
        ("index.yaml", "index", {"k": 0}, "index.k must be >= 1, found 0"),
        ("outlier.yaml", "outlier", {"rate": -0.1}, "outlier.rate must be in [0, 1], found -0.1"),
        (
            "redundancy.yaml",
            "redundancy",
            {"keep_fraction": 0},
            "redundancy.keep_fraction must be in (0, 1], found 0",
        ),
        (
            "duplicates.yaml",
            "duplicates",
            {"keep_split_order": ["train", "dev"]},
            "names unknown split(s) 'dev'",
        ),
        (
            "index.yaml",
            "index",
            {"method": "lsh"},
            "index.method must be one of: auto, exact, ivf, hnsw; found 'lsh'",
        ),
    ],
)
def test_config_similarity_settings_out_of_range(
    tmp_path: Path, file: str, section: str, body: dict, expected: str
) -> None:
    write_workspace(tmp_path, text_cfg(), {file: {section: body}})
    write_csv(tmp_path / "data.csv", ["text", "label"], GOOD_ROWS)
    err = ingest_error(tmp_path)
    assert src(tmp_path, f"configs/{file}") in err
    assert expected in err and "Fix it in that file" in err


def test_stale_graph_is_a_clear_error(tmp_path: Path) -> None:
    """The data changed after the knn stage ran: later stages say so instead of crashing."""
    write_workspace(tmp_path, embedding_cfg())
    rows = {"embedding": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.1]], "label": list("abab")}
    pq.write_table(pa.table(rows), tmp_path / "emb.parquet")
    for verb in ("ingest", "apply", "embed", "knn"):
        assert invoke(tmp_path, verb).exit_code == 0
    rows["embedding"].append([0.5, 0.5])
    rows["label"].append("a")
    pq.write_table(pa.table(rows), tmp_path / "emb.parquet")
    assert invoke(tmp_path, "ingest").exit_code == 0
    assert invoke(tmp_path, "apply").exit_code == 0
    err = cli_error(tmp_path, "outliers")
    assert "graph/knn.parquet does not match the current manifest" in err
    assert "Run `dvc repro`" in err


def test_config_section_defined_twice(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(), {"more.yaml": {"data": text_cfg()}})
    err = ingest_error(tmp_path)
    assert "section 'data' is defined twice" in err
    assert src(tmp_path, "configs/data.yaml") in err and src(tmp_path, "configs/more.yaml") in err
    assert "Keep each section in one file" in err


def test_config_invalid_yaml(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg())
    (tmp_path / "configs" / "data.yaml").write_text("data:\n  sources: [unclosed\n")
    err = ingest_error(tmp_path)
    assert src(tmp_path, "configs/data.yaml") in err
    assert "is not valid YAML" in err
    assert "Fix the syntax" in err


# -- 12. corrupt image: caught by the embed stage ----------------------------------------------


def _garbage_image(path: Path) -> None:
    path.write_bytes(b"definitely not a png" * 5)


def _truncated_image(path: Path) -> None:
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 64).save(buf, "PNG")
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])


def _bogus_size_image(path: Path) -> None:
    """A PNG whose header claims 30000 x 30000 pixels (PIL refuses it as a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "corrupt",
    [_garbage_image, _truncated_image, _bogus_size_image],
    ids=["garbage", "truncated", "bogus-size"],
)
def test_corrupt_image_fails_embed(tmp_path: Path, corrupt) -> None:
    write_workspace(tmp_path, image_cfg(), embed={"image": {"size": 8}})
    img = tmp_path / "img"
    img.mkdir()
    (img / "a.png").write_bytes(png_bytes(10))
    (img / "c.png").write_bytes(png_bytes(200))
    corrupt(img / "b.png")
    rows = [["img/a.png", "cat"], ["img/b.png", "dog"], ["img/c.png", "dog"]]
    write_csv(tmp_path / "images.csv", ["path", "label"], rows)

    result = invoke(tmp_path, "ingest")  # ingest only hashes bytes; decoding happens in embed
    assert result.exit_code == 0, result.output
    assert invoke(tmp_path, "apply").exit_code == 0

    err = cli_error(tmp_path, "embed")
    assert f"cannot decode image {src(tmp_path, 'img/b.png')}" in err
    assert "Replace or remove the file and re-run" in err
    assert not (tmp_path / "embeddings" / "embeddings.parquet").exists()


# -- 13. unknown split values ------------------------------------------------------------------


def test_unknown_split_values(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(split_column="split"))
    rows = [["a", "cat", "train"], ["b", "dog", "dev"], ["c", "cat", "dev"], ["d", "dog", "test"]]
    write_csv(tmp_path / "data.csv", ["text", "label", "split"], rows)
    err = ingest_error(tmp_path)
    assert src(tmp_path, "data.csv") in err
    assert "split column 'split' has value(s) 'dev' (2 rows)" in err
    assert f"expected {SPLITS_LISTED}" in err
    assert "Map them with data.split_values" in err


def test_split_values_mapping_fixes_unknown_splits(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(split_column="split", split_values={"dev": "validation"}))
    rows = [["a", "cat", "train"], ["b", "dog", "dev"], ["c", "cat", "dev"], ["d", "dog", "test"]]
    write_csv(tmp_path / "data.csv", ["text", "label", "split"], rows)
    result = invoke(tmp_path)
    assert result.exit_code == 0, result.output
    manifest = pq.read_table(tmp_path / "manifest" / "source.parquet")
    assert manifest.column("split").to_pylist() == ["train", "validation", "validation", "test"]


# -- artifacts stay intact ---------------------------------------------------------------------


def _single_class(data: Path) -> None:
    write_csv(data, ["text", "label"], [["x", "cat"], ["y", "cat"]])


def _header_only(data: Path) -> None:
    write_csv(data, ["text", "label"], [])


def _deleted(data: Path) -> None:
    data.unlink()


def _missing_column(data: Path) -> None:
    write_csv(data, ["body", "label"], GOOD_ROWS)


@pytest.mark.parametrize(
    "break_data",
    [_single_class, _header_only, _deleted, _missing_column],
    ids=["single-class", "header-only", "deleted", "missing-column"],
)
def test_failed_ingest_keeps_previous_manifest(tmp_path: Path, break_data) -> None:
    data = write_good_text(tmp_path)
    first = invoke(tmp_path)
    assert first.exit_code == 0, first.output
    out = tmp_path / "manifest"
    manifest_before = (out / "source.parquet").read_bytes()
    summary_before = (out / "summary.json").read_bytes()

    break_data(data)
    ingest_error(tmp_path)

    assert (out / "source.parquet").read_bytes() == manifest_before
    assert (out / "summary.json").read_bytes() == summary_before
    assert leftover_tmp(out) == []


def test_ingest_write_failure_keeps_previous_manifest(tmp_path: Path, monkeypatch) -> None:
    """A crash half-way through writing the Parquet file leaves the old manifest in place."""
    from curate.stages import ingest

    write_good_text(tmp_path)
    ingest.run(tmp_path)
    out = tmp_path / "manifest"
    before = (out / "source.parquet").read_bytes()

    write_csv(tmp_path / "data.csv", ["text", "label"], [*GOOD_ROWS, ["new row", "dog"]])

    def crash(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(OSError, match="No space left"):
        ingest.run(tmp_path)

    assert (out / "source.parquet").read_bytes() == before
    assert leftover_tmp(out) == []


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_atomic_path_exception_leaves_destination(tmp_path: Path, exc_type) -> None:
    dest = tmp_path / "sub" / "artifact.json"
    dest.parent.mkdir()
    dest.write_text("old")
    with pytest.raises(exc_type):
        with atomic_path(dest) as tmp:
            assert tmp.parent == dest.parent and tmp != dest
            tmp.write_text("new, half-written")
            raise exc_type("boom")
    assert dest.read_text() == "old"
    assert os.listdir(dest.parent) == ["artifact.json"]


def test_atomic_path_exception_without_previous_file(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "artifact.parquet"
    with pytest.raises(ValueError):
        with atomic_path(dest) as tmp:
            tmp.write_bytes(b"partial")
            raise ValueError("boom")
    assert not dest.exists()
    assert os.listdir(dest.parent) == []


def test_atomic_path_success_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "artifact.txt"
    dest.write_text("old")
    with atomic_path(dest) as tmp:
        tmp.write_text("new")
        assert dest.read_text() == "old"  # not visible until the block succeeds
    assert dest.read_text() == "new"
    assert os.listdir(tmp_path) == ["artifact.txt"]
