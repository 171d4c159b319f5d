"""The dataset handed back is the dataset the user meant: ids, labels and texts are kept byte
for byte, only an empty cell means "unlabelled", label whitespace is stripped (and counted),
CSV follows RFC 4180 at any size, nested values are refused, and images are read only from
folders DVC tracks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from curate import layout
from curate.cli import main
from curate.config import load_config
from curate.data.dataset import build_manifest
from curate.stages import ingest
from tests.helpers import text_cfg, write_workspace


def manifest(root: Path, data: dict[str, Any]) -> pa.Table:
    return build_manifest(load_config(write_workspace(root, data)))


def ingest_error(root: Path) -> str:
    result = CliRunner().invoke(main, ["ingest", "-w", str(root)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr


def column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


# -- CSV/TSV cells are strings, byte for byte ------------------------------------------------------


@pytest.mark.parametrize("sep", [",", "\t"], ids=["csv", "tsv"])
def test_delimited_ids_labels_and_metadata_are_not_type_guessed(tmp_path: Path, sep: str) -> None:
    rows = [
        ["00000", "hello", "01", "train", "007", "1.50"],
        ["0.10", "world", "1", "train", "7", "1.5"],
        ["1e3", "again", "1.0", "test", "0x1F", "TRUE"],
        ["12", "more", "01", "test", "-0", "2024-01-01"],
    ]
    suffix = "csv" if sep == "," else "tsv"
    lines = [sep.join(["id", "text", "label", "split", "annotator", "meta"])]
    lines += [sep.join(r) for r in rows]
    (tmp_path / f"d.{suffix}").write_text("\n".join(lines) + "\n")
    m = manifest(
        tmp_path,
        text_cfg(
            f"d.{suffix}",
            id_column="id",
            split_column="split",
            annotator_columns=["annotator"],
            metadata_columns=["meta"],
        ),
    )
    assert column(m, "sample_id") == ["00000", "0.10", "1e3", "12"]
    # Labels 01, 1 and 1.0 are three classes, as written.
    assert column(m, "label") == ["01", "1", "1.0", "01"]
    assert column(m, "annotator") == ["007", "7", "0x1F", "-0"]
    assert column(m, "meta") == ["1.50", "1.5", "TRUE", "2024-01-01"]
    assert m.schema.field("meta").type == pa.string()


def test_tabular_feature_columns_still_get_types(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "id,f1,f2,colour,label\n007,1.5,3,red,a\n008,NA,4,,b\n009,2.5,5,NA,a\n"
    )
    m = manifest(
        tmp_path,
        {
            "sources": [{"path": "t.csv"}],
            "modality": "tabular",
            "input_column": None,
            "feature_columns": ["f1", "f2", "colour"],
            "id_column": "id",
        },
    )
    assert column(m, "sample_id") == ["007", "008", "009"]
    assert m.schema.field("f1").type == pa.float64()
    assert m.schema.field("f2").type == pa.int64()
    assert column(m, "f1") == [1.5, None, 2.5]
    # A categorical feature keeps Arrow's missing-value tokens, as before.
    assert column(m, "colour") == ["red", None, None]


def test_parquet_and_json_values_become_strings_by_one_rule(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([0, 10, 7, 123456789012], pa.int64()),
            "text": ["a", "b", "c", "d"],
            "label": pa.array([1.0, 0.10, float("nan"), 2.5], pa.float64()),
        }
    )
    pq.write_table(table, tmp_path / "d.parquet")
    m = manifest(tmp_path, text_cfg("d.parquet", id_column="id"))
    assert column(m, "sample_id") == ["0", "10", "7", "123456789012"]
    assert column(m, "label") == ["1", "0.1", None, "2.5"]
    rows = [
        {"id": "00000", "text": "NA", "label": True},
        {"id": "0.10", "text": "null", "label": False},
    ]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    m = manifest(tmp_path, text_cfg("d.jsonl", id_column="id"))
    assert column(m, "sample_id") == ["00000", "0.10"]
    assert column(m, "input") == ["NA", "null"]
    assert column(m, "label") == ["True", "False"]


# -- only an empty cell means "unlabelled" ---------------------------------------------------------


TOKENS = ["NA", "nan", "null", "N/A", "NULL", "NaN", "n/a", "#N/A", "None", "-nan"]


@pytest.mark.parametrize("sep", [",", "\t"], ids=["csv", "tsv"])
def test_null_looking_tokens_are_labels_and_texts(tmp_path: Path, sep: str) -> None:
    suffix = "csv" if sep == "," else "tsv"
    lines = [f"text{sep}label"]
    lines += [f"text {i}{sep}{tok}" for i, tok in enumerate(TOKENS)]
    lines += [f"NA{sep}cat", f"null{sep}dog", f"pool row{sep}"]
    (tmp_path / f"d.{suffix}").write_text("\n".join(lines) + "\n")
    m = manifest(tmp_path, text_cfg(f"d.{suffix}"))
    assert column(m, "label") == [*TOKENS, "cat", "dog", None]
    assert column(m, "input")[-3:] == ["NA", "null", "pool row"]
    assert column(m, "split") == ["train"] * (len(TOKENS) + 2) + ["unlabeled"]


# -- label whitespace is stripped, and counted -----------------------------------------------------


def test_label_whitespace_is_stripped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(
        "text,label,ann1,ann2\n"
        "a, cat,cat ,dog\n"
        "b,cat , cat,dog\n"
        "c,cat,cat,dog\n"
        "d,dog,dog,\n"
        "e,  ,,\n"
    )
    write_workspace(tmp_path, text_cfg(annotator_columns=["ann1", "ann2"]))
    summary = ingest.run(tmp_path)
    m = pq.read_table(tmp_path / layout.SOURCE_MANIFEST)
    assert column(m, "label") == ["cat", "cat", "cat", "dog", None]
    assert column(m, "ann1") == ["cat", "cat", "cat", "dog", None]
    assert summary["classes"] == {"cat": 3, "dog": 1}
    assert summary["labels_stripped"] == 3  # " cat", "cat " and the blank "  "
    assert summary["annotator_labels_stripped"] == 2
    on_disk = json.loads((tmp_path / layout.MANIFEST_SUMMARY).read_text())
    assert on_disk["labels_stripped"] == 3


# -- RFC 4180 at any size --------------------------------------------------------------------------


def test_large_csv_with_multiline_fields_and_huge_rows(tmp_path: Path) -> None:
    """20 MB of quoted multi-line texts, one row over 1 MB and one longer than the read block."""
    path = tmp_path / "big.csv"
    body = "first line, with a comma\nsecond line with quotes\n\nlast line " * 4
    big = "x" * 1_500_000 + "\nend"
    huge = "y" * 9_000_000
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("text,label\n")
        while f.tell() < 20_000_000:
            f.write(f'"{n} {body}",c{n % 3}\n')
            n += 1
            if n == 100:
                f.write(f'"{big}",c0\n')
            if n == 20_000:
                f.write(f'"{huge}",c1\n')
    assert path.stat().st_size > 20_000_000
    start = time.perf_counter()
    m = manifest(tmp_path, text_cfg("big.csv"))
    elapsed = time.perf_counter() - start
    texts = column(m, "input")
    assert m.num_rows == n + 2
    assert texts[0] == f"0 {body}".replace('""', '"')
    assert texts[100] == big
    assert texts[20_001] == huge
    assert elapsed < 30


def test_single_row_over_one_megabyte(tmp_path: Path) -> None:
    long_text = ("word " * 1000 + "\n") * 300  # 1.5 MB in one quoted multi-line field
    (tmp_path / "data.csv").write_text(f'text,label\n"{long_text}",a\nshort,b\n')
    m = manifest(tmp_path, text_cfg())
    assert column(m, "input") == [long_text, "short"]


# -- nested Parquet values are refused -------------------------------------------------------------


NESTED = {
    "list": pa.array([["a", "b"], ["c"]], pa.list_(pa.string())),
    "struct": pa.array([{"x": 1}, {"x": 2}], pa.struct([("x", pa.int64())])),
}


@pytest.mark.parametrize("kind", sorted(NESTED))
@pytest.mark.parametrize("role", ["text", "label", "id", "split", "annotator"])
def test_nested_parquet_values_are_refused(tmp_path: Path, role: str, kind: str) -> None:
    columns: dict[str, Any] = {
        "text": ["first", "second"],
        "label": ["a", "b"],
        "id": ["1", "2"],
        "split": ["train", "test"],
        "annotator": ["a", "b"],
    }
    columns[role] = NESTED[kind]
    pq.write_table(pa.table(columns), tmp_path / "d.parquet")
    key = {"text": "input_column", "annotator": "annotator_columns"}.get(role, f"{role}_column")
    write_workspace(
        tmp_path,
        text_cfg(
            "d.parquet", id_column="id", split_column="split", annotator_columns=["annotator"]
        ),
    )
    err = ingest_error(tmp_path)
    assert f"column '{role}' (data.{key}) holds nested values" in err
    assert "Flatten it into a string column" in err
    assert not (tmp_path / layout.SOURCE_MANIFEST).exists()


def test_nested_metadata_is_carried_as_it_is(tmp_path: Path) -> None:
    """Metadata is carried through untouched: a list stays a list, never a repr string."""
    table = pa.table({"text": ["a", "b"], "label": ["x", "y"], "tags": NESTED["list"]})
    pq.write_table(table, tmp_path / "d.parquet")
    m = manifest(tmp_path, text_cfg("d.parquet", metadata_columns=["tags"]))
    assert m.schema.field("tags").type == pa.list_(pa.string())
    assert column(m, "tags") == [["a", "b"], ["c"]]


# -- images only from folders DVC tracks -----------------------------------------------------------


def png(path: Path, shade: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.new("L", (4, 4), shade).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


def image_cfg(**overrides: Any) -> dict[str, Any]:
    return {
        "sources": [{"path": "data/images.csv"}],
        "modality": "image",
        "input_column": "path",
        "label_column": "label",
        **overrides,
    }


def image_workspace(tmp_path: Path, paths: list[str], **overrides: Any) -> Path:
    ws = tmp_path / "ws"
    png(ws / "data" / "img" / "a.png", 10)
    png(ws / "data" / "img" / "b.png", 200)
    rows = ["path,label", "img/a.png,cat", "img/b.png,dog"] + [f"{p},cat" for p in paths]
    (ws / "data" / "images.csv").write_text("\n".join(rows) + "\n")
    return write_workspace(ws, image_cfg(**overrides))


def test_images_inside_the_workspace_are_read(tmp_path: Path) -> None:
    ws = image_workspace(tmp_path, ["../other/c.png"])
    png(ws / "other" / "c.png", 90)  # inside the workspace, outside the table's folder
    m = build_manifest(load_config(ws))
    assert column(m, "input") == ["data/img/a.png", "data/img/b.png", "other/c.png"]


@pytest.mark.parametrize("how", ["dotdot", "absolute", "etc-passwd", "symlink"])
def test_images_outside_the_workspace_are_refused(tmp_path: Path, how: str) -> None:
    outside = png(tmp_path / "outside.png", 50)
    if how == "dotdot":
        given = "../../outside.png"
    elif how == "absolute":
        given = str(outside)
    elif how == "etc-passwd":
        given = "/etc/passwd"
    else:
        given = "img/link.png"
    ws = image_workspace(tmp_path, [given])
    if how == "symlink":
        os.symlink(outside, ws / "data" / "img" / "link.png")
    err = ingest_error(ws)
    assert "images.csv: 1 image path(s) resolve outside the workspace" in err
    assert f"row 3: '{given}'" in err
    assert "set data.image_root" in err and "ingest stage's deps" in err


def test_image_root_outside_the_workspace_must_be_a_declared_dependency(tmp_path: Path) -> None:
    images = tmp_path / "shared-images"
    png(images / "img" / "c.png", 90)
    png(images / "img" / "d.png", 160)
    ws = image_workspace(tmp_path, [], image_root=str(images))
    (ws / "data" / "images.csv").write_text("path,label\nimg/c.png,cat\nimg/d.png,dog\n")
    (ws / "dvc.yaml").write_text(
        "stages:\n  ingest:\n    cmd: curate ingest\n    deps: [data/images.csv]\n"
    )
    err = ingest_error(ws)
    assert "2 image file(s) outside the workspace are not in any dependency" in err
    assert "row 1: 'img/c.png'" in err
    assert "to stages.ingest.deps in dvc.yaml" in err
    (ws / "dvc.yaml").write_text(
        f"stages:\n  ingest:\n    cmd: curate ingest\n    deps: [data/images.csv, {images}]\n"
    )
    m = build_manifest(load_config(ws))
    assert column(m, "input") == [str((images / "img" / n).resolve()) for n in ("c.png", "d.png")]
    # Declared, it is allowed; a path escaping it is not.
    (ws / "data" / "images.csv").write_text(
        "path,label\nimg/c.png,cat\nimg/d.png,dog\n../outside.png,dog\n"
    )
    png(tmp_path / "outside.png")
    err = ingest_error(ws)
    assert "resolve outside the workspace" in err and "or data.image_root" in err


@pytest.mark.e2e
def test_image_table_in_the_workspace_root_tracks_its_images(tmp_path: Path) -> None:
    """`curate init` on an image table at the workspace root: the image folder (not the
    workspace itself) is an ingest dependency, so a changed image re-runs ingest; a path
    leaving the workspace fails `dvc repro` with the clear error."""
    from curate.scaffold.tools import dvc_command, tool_env

    def sh(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(args, cwd=ws, env=tool_env(), capture_output=True, text=True)
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
        return proc

    ws = tmp_path / "ws"
    for i, shade in enumerate([10, 200, 90, 30]):
        png(ws / "img" / f"{i}.png", shade)
    (ws / "images.csv").write_text(
        "path,label\nimg/0.png,a\nimg/1.png,b\nimg/2.png,a\nimg/3.png,b\n"
    )
    sh("git", "init", "-q")
    result = CliRunner().invoke(main, ["init", str(ws), "--data", str(ws / "images.csv")])
    assert result.exit_code == 0, result.output
    pipeline = yaml.safe_load((ws / "dvc.yaml").read_text())
    assert pipeline["stages"]["ingest"]["deps"] == ["images.csv", "img"]
    sh(*dvc_command("repro", "ingest"))
    assert "up to date" in sh(*dvc_command("status", "ingest")).stdout
    png(ws / "img" / "0.png", 77)
    status = sh(*dvc_command("status", "ingest")).stdout
    assert "modified:" in status and "img" in status
    png(tmp_path / "outside.png", 5)
    with (ws / "images.csv").open("a") as f:
        f.write("../outside.png,a\n")
    failed = sh(*dvc_command("repro", "ingest"), ok=False)
    assert "1 image path(s) resolve outside the workspace" in failed.stdout + failed.stderr


def test_metadata_read_as_strings_from_csv_joins_numbers_from_parquet(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text,label,year\none,x,007\ntwo,y,2020\n")
    pq.write_table(
        pa.table({"text": ["three"], "label": ["x"], "year": pa.array([2021], pa.int64())}),
        tmp_path / "b.parquet",
    )
    data = text_cfg(metadata_columns=["year"])
    data["sources"] = [{"path": "a.csv"}, {"path": "b.parquet"}]
    m = manifest(tmp_path, data)
    assert column(m, "year") == ["007", "2020", "2021"]


def test_headerless_file_with_a_huge_first_row_is_still_read_as_strings(tmp_path: Path) -> None:
    long_text = ("word " * 1000 + "\n") * 300
    (tmp_path / "data.csv").write_text(f'"{long_text}",01\nshort,1\n')
    data = text_cfg()
    data["sources"] = [{"path": "data.csv", "header": False, "column_names": ["text", "label"]}]
    m = manifest(tmp_path, data)
    assert column(m, "input") == [long_text, "short"]
    assert column(m, "label") == ["01", "1"]
    data["sources"] = [{"path": "data.csv", "header": False}]
    data.update(input_column="column_0", label_column="column_1")
    assert column(manifest(tmp_path, data), "label") == ["01", "1"]
