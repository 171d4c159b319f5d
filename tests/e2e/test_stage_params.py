"""A stage re-runs when a setting it reads changes: DVC must know every params section a stage
reads, or it serves a stale artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from curate.scaffold.tools import dvc_command, run_tool
from tests.e2e.workspaces import make_workspace, text_rows

pytestmark = pytest.mark.e2e


def test_changing_index_k_reruns_the_duplicates_stage(tmp_path: Path, monkeypatch) -> None:
    """For text, the duplicates stage builds its own lexical graph with the index settings and
    the seed; with only the duplicates params declared, DVC did not see a change to index.k."""
    monkeypatch.setenv("CURATE_REMOTES_DIR", str(tmp_path / "remotes"))
    stages = ("ingest", "apply", "embed", "knn", "predict", "duplicates")
    root = make_workspace(tmp_path / "ws", "id,text,label\n", text_rows(0, 60), stages=stages)
    run_tool(dvc_command("repro"), root, "dvc repro")
    config = root / "configs/index.yaml"
    spec = yaml.safe_load(config.read_text())
    spec["index"]["k"] = 5
    config.write_text(yaml.safe_dump(spec))
    status = json.loads(run_tool(dvc_command("status", "--json"), root, "dvc status").stdout)
    assert "duplicates" in status, status
    assert "configs/index.yaml" in json.dumps(status["duplicates"])
    out = run_tool(dvc_command("repro"), root, "dvc repro").stdout
    assert "Running stage 'duplicates'" in out
