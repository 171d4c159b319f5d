"""End to end: a pure unlabelled text pool (`curate init --no-label`) runs every stage."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from curate import layout
from curate.cli import main
from curate.scaffold.tools import dvc_command

from .test_pipeline import git_commit, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOPICS = ("card", "loan", "travel", "weather", "music", "sports")
WORDS = "the a my new old quick slow big small red blue happy sad very really".split()


@pytest.fixture
def pool_repo(tmp_path: Path) -> Path:
    """A git repo with a small CSV of texts and no label column: one exact and one near copy."""
    repo = tmp_path / "project"
    (repo / "data").mkdir(parents=True)
    run(["git", "init", "-q"], repo)
    rng = random.Random(0)
    rows = [
        (f"s{i}", f"{rng.choice(WORDS)} {rng.choice(WORDS)} question about {TOPICS[i % 6]} "
                  f"number {i} {rng.choice(WORDS)}")
        for i in range(80)
    ]  # fmt: skip
    rows += [("exact", rows[0][1]), ("near", rows[1][1] + " please")]
    with (repo / "data" / "pool.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("id", "text"), *rows])
    return repo


def test_no_label_pool_runs_every_stage_to_the_end(pool_repo: Path) -> None:
    data = str(pool_repo / "data" / "pool.csv")
    result = CliRunner().invoke(main, ["init", str(pool_repo), "--data", data, "--no-label"])
    assert result.exit_code == 0, result.output
    assert "label: None" in result.output
    git_commit(pool_repo, "curate init")

    out = run(dvc_command("repro"), pool_repo).stdout  # asserts exit code 0
    stages = yaml.safe_load((pool_repo / "dvc.yaml").read_text())["stages"]
    for stage in stages:
        assert f"Running stage '{stage}'" in out, stage

    manifest = pq.read_table(pool_repo / layout.MANIFEST)
    assert manifest.num_rows == 82
    assert set(manifest.column("split").to_pylist()) == {"unlabeled"}
    predictions = json.loads((pool_repo / layout.PRED_PROBS_SUMMARY).read_text())
    assert predictions["classes"] == [] and predictions["cv_accuracy"] is None
    # No label, so no label issue; duplicates and outliers are still found.
    assert pq.read_table(pool_repo / layout.LABEL_ISSUES).num_rows == 0
    label = json.loads((pool_repo / layout.LABEL_SUMMARY).read_text())
    assert label["labelled"] == 0 and label["issues"] == 0
    dups = {r["sample_id"]: r for r in pq.read_table(pool_repo / layout.DUPLICATES).to_pylist()}
    assert dups["exact"]["group_id"] == "s0" and dups["exact"]["is_exact_copy"]
    assert dups["near"]["group_id"] == "s1" and dups["near"]["is_near_duplicate_issue"]
    assert sum(r["group_id"] is not None for r in dups.values()) == 4
    outliers = pq.read_table(pool_repo / layout.OUTLIERS)
    assert outliers.num_rows == 82
    # The active-learning batch comes from the pool, picked for diversity, with no model guess.
    chosen = pq.read_table(pool_repo / layout.ACTIVE_LEARNING).to_pylist()
    assert chosen and {r["sample_id"] for r in chosen} <= set(dups)
    assert all(r["predicted_label"] is None and r["uncertainty"] == 0.0 for r in chosen)
    queue = json.loads((pool_repo / layout.REVIEW_SUMMARY).read_text())
    assert queue["items"] > 0
    assert (pool_repo / layout.REPORT).is_file()

    again = run(dvc_command("repro"), pool_repo).stdout
    assert "Running stage" not in again
