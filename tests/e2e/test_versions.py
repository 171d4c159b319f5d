"""Dataset versions like code: tag v1, apply review decisions, tag v2, read both from a clone."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import curate
from curate import layout
from curate.cli import main
from curate.errors import DataError, WorkspaceError
from curate.review.corrections import CorrectionsLog
from curate.review.tasks import correction_row
from curate.scaffold.demo import build_demo
from curate.scaffold.tools import dvc_command, run_tool

pytestmark = pytest.mark.e2e


def git(root: Path, *args: str) -> str:
    return run_tool(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], root,
                    "git").stdout  # fmt: skip


def decision(annotation_id: int, sample_id: str, given: str | None, result: list) -> dict:
    annotation = {
        "id": annotation_id,
        "completed_by": {"id": 1, "email": "a@x"},
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        "result": result,
    }
    task = {"id": 500 + annotation_id, "data": {"sample_id": sample_id, "given_label": given}}
    return correction_row(annotation, task, 1, "test")  # fmt: skip


def choose(label: str) -> list:
    return [{"from_name": "label", "to_name": "image", "type": "choices",
             "value": {"choices": [label]}}]  # fmt: skip


REMOVE = [{"from_name": "action", "to_name": "image", "type": "choices",
           "value": {"choices": ["remove"]}}]  # fmt: skip


def tag(root: Path, name: str) -> dict:
    result = CliRunner().invoke(main, ["version", "tag", name, "-w", str(root)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_versions_tag_load_from_a_clone_and_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATE_REMOTES_DIR", str(tmp_path / "remotes"))
    root = tmp_path / "demo"
    build_demo(root)
    tagged = tag(root, "v1")
    assert "dvc.lock" in tagged["committed"]
    v1 = pq.read_table(root / layout.MANIFEST)

    # Review decisions: three relabels, two removals, one pool sample labelled.
    issues = [r for r in pq.read_table(root / layout.LABEL_ISSUES).to_pylist()
              if r["is_label_issue"] and r["suggested_label"] != r["given_label"]][:3]  # fmt: skip
    dups = [r["sample_id"] for r in pq.read_table(root / layout.DUPLICATES).to_pylist()
            if r["is_near_duplicate_issue"]][:2]  # fmt: skip
    pool = next(r["sample_id"] for r in v1.to_pylist() if r["label"] is None)
    rows = [decision(i, r["sample_id"], r["given_label"], choose(r["suggested_label"]))
            for i, r in enumerate(issues)]  # fmt: skip
    labels_of = {r["sample_id"]: r["label"] for r in v1.to_pylist()}
    rows += [decision(10 + i, s, labels_of[s], REMOVE) for i, s in enumerate(dups)]
    rows.append(decision(20, pool, None, choose("3")))
    CorrectionsLog(root / layout.CORRECTIONS).append(rows)
    git(root, "add", "review/corrections")
    git(root, "commit", "-qm", "review decisions")

    with pytest.raises(WorkspaceError, match="pipeline is not reproduced: apply"):
        curate.tag_version(root, "v2")
    run_tool(dvc_command("repro"), root, "dvc repro")
    (root / "notes.txt").write_text("scratch")
    with pytest.raises(WorkspaceError, match="uncommitted changes outside .*notes.txt"):
        curate.tag_version(root, "v2")
    (root / "notes.txt").unlink()
    tag(root, "v2")
    with pytest.raises(WorkspaceError, match="already exists"):
        curate.tag_version(root, "v2")

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    got_v1 = curate.load(clone, rev="v1")
    assert got_v1.equals(v1)
    got_v2 = {r["sample_id"]: r for r in curate.load(clone, rev="v2").to_pylist()}
    for r in issues:
        assert got_v2[r["sample_id"]]["label"] == r["suggested_label"]
    assert not set(dups) & got_v2.keys()
    assert (got_v2[pool]["label"], got_v2[pool]["split"]) == ("3", "train")
    train = curate.load(clone, rev="v2", split="train")
    assert set(train.column("split").to_pylist()) == {"train"}

    from curate.versions.torch_dataset import CurateDataset

    dataset = CurateDataset(clone, rev="v2", split="train")
    assert len(dataset) == train.num_rows and dataset[0]["sample_id"]

    result = CliRunner().invoke(main, ["diff", "v1", "v2", "--json", "-w", str(clone)])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)
    assert changes["added"] == []
    assert changes["removed"] == sorted(dups)
    assert {(c["sample_id"], c["from"], c["to"]) for c in changes["relabelled"]} == {
        (r["sample_id"], r["given_label"], r["suggested_label"]) for r in issues
    } | {(pool, None, "3")}
    assert changes["moved"] == [{"sample_id": pool, "from": "unlabeled", "to": "train"}]
    assert set(changes["issues"]) == {
        "label issues", "duplicate groups", "outliers", "label noise"
    }  # fmt: skip
    assert changes["issues"]["label noise"]["before"].startswith("between ")
    assert all(v["before"] is not None for v in changes["issues"].values())
    assert changes["issues"]["duplicate groups"]["before"] == 65
    ev = changes["evaluation"]
    # Six of about 1,300 train rows changed: the test accuracy cannot move beyond its noise.
    assert ev["split"] == "test" and ev["verdict"] == "within noise"
    assert abs(ev["accuracy_change"]) < ev["within_noise_below"]
    table = CliRunner().invoke(main, ["diff", "v1", "v2", "-w", str(clone)])
    assert table.exit_code == 0 and "relabelled" in table.output

    # A planted harmful change: every train row of class '1' relabelled '7'. The model never
    # learns '1', so the test rows of class '1' (about a tenth of them) are lost.
    v2 = pq.read_table(root / layout.MANIFEST).to_pylist()
    ones = [r["sample_id"] for r in v2 if r["split"] == "train" and r["label"] == "1"]
    test = [r["label"] for r in v2 if r["split"] == "test"]
    CorrectionsLog(root / layout.CORRECTIONS).append(
        [decision(100 + i, s, "1", choose("7")) for i, s in enumerate(ones)]
    )
    git(root, "add", "review/corrections")
    git(root, "commit", "-qm", "relabel every train '1' as '7'")
    run_tool(dvc_command("repro"), root, "dvc repro")
    tag(root, "v3")
    for a, b, verdict, sign in (("v2", "v3", "worse", -1), ("v3", "v2", "better", 1)):
        result = CliRunner().invoke(main, ["diff", a, b, "--json", "-w", str(root)])
        assert result.exit_code == 0, result.output
        ev = json.loads(result.stdout)["evaluation"]
        assert ev["verdict"] == verdict, ev
        assert sign * ev["accuracy_change"] > max(ev["within_noise_below"], 0.5 * test.count("1")
                                                  / len(test)), ev  # fmt: skip

    with pytest.raises(DataError, match="revision 'v9' not found"):
        curate.load(clone, rev="v9")
