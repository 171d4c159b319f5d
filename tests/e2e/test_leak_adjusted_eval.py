"""Leak-adjusted evaluation end to end: a text workspace whose test split holds planted copies
of train rows. ``dvc repro`` scores the test split with and without them; the numbers match the
ones computed here from the predictions file and the planted ids, and ``curate diff`` shows
both the raw accuracy and the one without leaked rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate import layout
from curate.cli import main
from curate.scaffold.tools import dvc_command, run_tool
from tests.e2e.workspaces import TOPICS, git, make_workspace, tag, text_rows

pytestmark = pytest.mark.e2e

STAGES = ("ingest", "apply", "embed", "knn", "predict", "duplicates", "label", "evaluate")


def rows() -> tuple[list[str], set[str]]:
    """90 train rows, 30 clean test rows (every third labelled with the wrong topic, so the
    model misses them) and 8 test rows that are exact copies of train rows (the planted leaks)."""
    train = [line.rstrip("\n") + ",train\n" for line in text_rows(0, 90)]
    topics = sorted(TOPICS)
    test = []
    for k, line in enumerate(text_rows(1000, 30)):
        sid, text, label = line.rstrip("\n").split(",")
        if k % 3 == 0:
            label = topics[(topics.index(label) + 1) % len(topics)]
        test.append(f"{sid},{text},{label},test\n")
    planted = {}
    for k in range(8):
        _, text, label = text_rows(0, 90)[k * 11].rstrip("\n").split(",")
        planted[f"t9{k:04d}"] = f"t9{k:04d},{text},{label},test\n"
    return train + test + list(planted.values()), set(planted)


def predictions(root: Path) -> dict[str, bool]:
    with open(root / layout.EVALUATION_PREDICTIONS, newline="") as f:
        return {r["sample_id"]: r["actual"] == r["predicted"] for r in csv.DictReader(f)}


def test_planted_leaks_are_scored_apart_and_shown_by_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATE_REMOTES_DIR", str(tmp_path / "remotes"))
    data, planted = rows()
    root = make_workspace(tmp_path / "ws", "id,text,label,split\n", data, stages=STAGES)
    embed = root / "configs" / "embed.yaml"
    embed.write_text(embed.read_text().replace("backend: auto", "backend: torch"))
    git(root, "commit", "-qam", "torch text backend")
    run_tool(dvc_command("repro"), root, "dvc repro")
    tag(root, "v1")

    leakage = pq.read_table(root / layout.LEAKAGE).to_pylist()
    leaked_test = {r["sample_id"] for r in leakage
                   if r["split"] == "test" and "train-test" in r["leak_pairs"]}  # fmt: skip
    assert leaked_test == planted
    metrics = json.loads((root / layout.EVALUATION).read_text())
    right = predictions(root)
    assert len(right) == metrics["eval_rows"] == 38
    clean = [ok for s, ok in right.items() if s not in planted]
    leaked = [ok for s, ok in right.items() if s in planted]
    assert metrics["leaked_rows"] == 8 and metrics["leak_share"] == pytest.approx(8 / 38)
    assert metrics["accuracy"] == pytest.approx(sum(right.values()) / 38)
    assert metrics["accuracy_without_leaks"] == pytest.approx(sum(clean) / 30)
    assert metrics["accuracy_leaked"] == pytest.approx(sum(leaked) / 8)
    # The copies are predicted right, a third of the clean rows carry a wrong label: the raw
    # score overstates the one on new rows.
    assert metrics["accuracy_leaked"] == 1.0
    assert metrics["accuracy_without_leaks"] < metrics["accuracy"]
    low, high = metrics["accuracy_without_leaks_ci_low"], metrics["accuracy_without_leaks_ci_high"]
    assert low <= metrics["accuracy_without_leaks"] <= high

    # v2 drops the copies: nothing leaks, and the two numbers agree.
    (root / "data.csv").write_text(
        "id,text,label,split\n" + "".join(r for r in data if r.split(",")[0] not in planted)
    )
    git(root, "commit", "-qam", "drop the test rows copied from train")
    run_tool(dvc_command("repro"), root, "dvc repro")
    tag(root, "v2")
    after = json.loads((root / layout.EVALUATION).read_text())
    assert (after["leaked_rows"], after["leak_share"], after["accuracy_leaked"]) == (0, 0.0, None)
    assert after["accuracy_without_leaks"] == after["accuracy"]

    result = CliRunner().invoke(main, ["diff", "v1", "v2", "--json", "-w", str(root)])
    assert result.exit_code == 0, result.output
    ev = json.loads(result.stdout)["evaluation"]
    assert ev["accuracy"] == {"before": metrics["accuracy"], "after": after["accuracy"]}
    assert ev["accuracy_without_leaks"] == {
        "before": metrics["accuracy_without_leaks"],
        "after": after["accuracy_without_leaks"],
    }
    assert ev["leak_share"] == {"before": metrics["leak_share"], "after": 0.0}
    assert ev["leaked_rows"] == {"before": 8, "after": 0}

    table = CliRunner().invoke(main, ["diff", "v1", "v2", "-w", str(root)])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    raw = next(line for line in lines if "│ accuracy " in line)
    assert f"{metrics['accuracy']:.4f}" in raw and f"{after['accuracy']:.4f}" in raw
    clean_line = next(line for line in lines if "accuracy without leaks" in line)
    assert f"{metrics['accuracy_without_leaks']:.4f}" in clean_line
    assert f"{after['accuracy_without_leaks']:.4f}" in clean_line
    share = next(line for line in lines if "leak share" in line)
    assert f"{8 / 38:.1%} (8 rows)" in share and "0.0% (0 rows)" in share
