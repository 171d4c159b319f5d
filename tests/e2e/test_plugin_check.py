"""A check is one file: an example plug-in (tests/plugins/curate_shouting), installed as a
package, joins dvc.yaml, runs in `dvc repro`, and its findings reach the review queue, the report
and `curate diff`'s counts, with no change to curate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from curate import layout
from curate.scaffold.tools import dvc_command, tool_env
from tests.e2e.workspaces import git, text_rows

pytestmark = pytest.mark.e2e

PLUGIN = Path(__file__).parents[1] / "plugins" / "curate_shouting"
SHOUTED = {"t09990": "WHERE IS MY PARCEL I ORDERED IT A WEEK AGO", "t09991": "REFUND ME NOW PLEASE"}


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    """The plug-in installed (pip, no dependencies) into a folder of its own, put on the path
    of the `curate`/`dvc` processes only, so the rest of the suite never sees it."""
    target = tmp_path_factory.mktemp("plugin-site")
    source = tmp_path_factory.mktemp("plugin-src") / PLUGIN.name
    shutil.copytree(PLUGIN, source)  # pip builds in place: keep the checkout clean
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    env = tool_env()
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_an_installed_check_joins_the_pipeline_queue_and_report(tmp_path, plugin_env) -> None:
    env = {**plugin_env, "CURATE_REMOTES_DIR": str(tmp_path / "remotes")}
    root = tmp_path / "ws"
    root.mkdir()
    lines = text_rows(0, 90)
    lines += [f"{sid},{text},sport\n" for sid, text in SHOUTED.items()]
    (root / "data.csv").write_text("id,text,label\n" + "".join(lines))
    curate = [sys.executable, "-m", "curate"]
    run([*curate, "init", "--data", "data.csv"], root, env)

    pipeline = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    assert pipeline["shouting"] == {
        "cmd": "curate shouting",
        "deps": [layout.MANIFEST],
        "params": [{"configs/shouting.yaml": ["shouting"]}],
        "outs": ["issues/shouting.parquet"],
        "metrics": [{"issues/shouting_summary.json": {"cache": False}}],
    }
    assert "issues/shouting.parquet" in pipeline["queue"]["deps"]
    assert {"issues/shouting.parquet", "issues/shouting_summary.json"} <= set(
        pipeline["report"]["deps"]
    )
    # Its config section: a template generated from its dataclass, loaded and validated.
    template = yaml.safe_load((root / "configs" / "shouting.yaml").read_text())
    assert template == {"shouting": {"min_letters": 8, "upper_fraction": 0.7}}
    assert "fraction of its letters are capitals" in (root / "configs/shouting.yaml").read_text()
    embed = root / "configs" / "embed.yaml"
    embed.write_text(embed.read_text().replace("backend: auto", "backend: torch"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "workspace")

    out = run(dvc_command("repro"), root, env)
    assert "Running stage 'shouting'" in out
    flagged = pq.read_table(root / "issues" / "shouting.parquet").to_pylist()
    assert {r["sample_id"] for r in flagged if r["is_shouting_issue"]} == set(SHOUTED)
    queue = pq.read_table(root / layout.REVIEW_QUEUE).to_pylist()
    shouting = {r["sample_id"]: r for r in queue if "shouting" in r["kinds"]}
    assert set(shouting) == set(SHOUTED)
    assert all("capital letters" in r["reasons"] for r in shouting.values())
    summary = json.loads((root / layout.REVIEW_SUMMARY).read_text())
    assert summary["flagged"]["shouting"] == 2
    page = (root / layout.REPORT).read_text()
    assert "<h2>Shouting (2 texts)</h2>" in page
    assert all(sid in page and text in page for sid, text in SHOUTED.items())
    assert "shouting texts" in page  # its count, beside the built-in checks'

    # Its verb, its counts in `curate diff`, and a bad setting named with its file.
    assert "capital letters" in run([*curate, "shouting", "--help"], root, env)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "curated")
    diff = json.loads(run([*curate, "diff", "HEAD", "HEAD", "--json"], root, env))
    assert diff["issues"]["shouting texts"] == {"before": 2, "after": 2}
    config = root / "configs" / "shouting.yaml"
    config.write_text("shouting:\n  upper_fraction: 2\n")
    proc = subprocess.run([*curate, "shouting"], cwd=root, env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert (
        "configs/shouting.yaml" in proc.stderr and "upper_fraction must be in (0, 1]" in proc.stderr
    )
