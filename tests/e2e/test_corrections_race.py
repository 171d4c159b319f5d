"""A review decision acknowledged while `dvc repro` runs `apply` is never skipped: it is in
the version that run makes, or `dvc status` shows `apply` as changed and the next run applies
it. Real git + DVC workspace, real `dvc repro`, real `curate serve` on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curate import layout
from curate.errors import WorkspaceError
from curate.review.corrections import CorrectionsLog
from curate.scaffold.tools import dvc_command, tool_env
from curate.versions.versioning import tag_version

pytestmark = pytest.mark.e2e
SECRET = "race-secret-0123456789abcdef"


def run(args: list[str], cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env or tool_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def git(root: Path, *args: str) -> None:
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], root)


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def webhook(port: int, sample_id: str, given: str, label: str) -> dict:
    annotation = {
        "id": 41,
        "completed_by": 3,
        "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                    "value": {"choices": [label]}}],
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": "2026-01-01T10:00:00.000000Z",
        "updated_at": "2026-01-01T10:00:00.000000Z",
        "task": 9,
    }  # fmt: skip
    body = {
        "action": "ANNOTATION_CREATED",
        "annotation": annotation,
        "task": {"id": 9, "project": 1,
                 "data": {"sample_id": sample_id, "given_label": given, "kind": "label_issue"}},
        "project": {"id": 1},
    }  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Authorization", f"Bearer {SECRET}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    from click.testing import CliRunner

    from curate.cli import main

    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    run(["git", "init", "-q"], root)
    n = 40
    table = pa.table(
        {
            "id": [f"r{i}" for i in range(n)],
            "x1": [float(i % 7) for i in range(n)],
            "x2": [float((i * 3) % 5) for i in range(n)],
            "label": ["yes" if i % 2 else "no" for i in range(n)],
        }
    )
    pq.write_table(table, root / "data" / "rows.parquet")
    result = CliRunner().invoke(
        main,
        ["init", str(root), "--data", str(root / "data" / "rows.parquet"),
         "--feature-column", "x1", "--feature-column", "x2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def dvc_status(root: Path) -> dict:
    """`dvc status` of the apply stage and what it depends on."""
    return json.loads(run(dvc_command("status", "--json", "apply"), root) or "{}")


def manifest_row(root: Path, sample_id: str) -> dict:
    rows = pq.read_table(root / layout.MANIFEST, columns=["sample_id", "label"]).to_pylist()
    return next(r for r in rows if r["sample_id"] == sample_id)


def test_decision_acknowledged_while_apply_runs_is_not_skipped(workspace, tmp_path) -> None:
    root = workspace
    waiting, release = tmp_path / "apply-finished", tmp_path / "release"
    pipeline = yaml.safe_load((root / "dvc.yaml").read_text())
    hold = (
        f"{sys.executable} -c \"import pathlib, time; pathlib.Path(r'{waiting}').touch(); "
        f"[time.sleep(0.05) for _ in range(2400) if not pathlib.Path(r'{release}').exists()]\""
    )
    pipeline["stages"]["apply"]["cmd"] = f"curate apply && {hold}"
    (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    git(root, "commit", "-qam", "apply waits for a signal after it has run")

    port = free_port()
    env = {**tool_env(), "CURATE_WEBHOOK_SECRET": SECRET}
    serve = subprocess.Popen(
        [sys.executable, "-m", "curate", "serve", "-w", str(root), "--port", str(port)],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    repro = None
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    return True
            except OSError:
                assert serve.poll() is None, serve.stdout.read()
                return False

        wait_for(healthy, "curate serve to listen")
        repro = subprocess.Popen(
            dvc_command("repro", "apply"), cwd=root, env=tool_env(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        wait_for(lambda: waiting.exists() or repro.poll() is not None, "apply to run", 240)
        assert repro.poll() is None, repro.stdout.read()

        # apply has read the log; DVC has not hashed review/corrections yet
        sample = manifest_row(root, "r4")
        assert sample["label"] == "no"
        answer = webhook(port, "r4", "no", "yes")
        assert answer["logged"] is True

        release.touch()
        out, _ = repro.communicate(timeout=240)
        assert repro.returncode == 0, out

        # apply read the log before the decision came: the decision is not in this version,
        # so `dvc status` must show apply as changed (the writer publishes the decision as
        # soon as the run has released the log)
        assert manifest_row(root, "r4")["label"] == "no"
        wait_for(lambda: "apply" in dvc_status(root), "dvc status to show apply changed", 20)
    finally:
        release.touch()
        if repro is not None and repro.poll() is None:
            repro.kill()
        serve.terminate()
        serve.wait(timeout=30)

    # nothing stays pending, and the next run applies the decision
    log = CorrectionsLog(root / layout.CORRECTIONS)
    assert log.pending() == []
    assert [r["sample_id"] for r in log.read().to_pylist()] == ["r4"]
    release.touch()
    run(dvc_command("repro", "apply"), root)
    assert manifest_row(root, "r4")["label"] == "yes"
    assert dvc_status(root) == {}
    changelog = json.loads((root / layout.CHANGELOG).read_text())
    assert changelog["relabelled"]["count"] == 1


def test_rows_written_during_a_run_are_pending_then_published(workspace) -> None:
    """The writer itself (no server): a DVC process holding the log keeps new rows pending;
    they are published once it is gone, by the next append or the apply stage."""
    root = workspace
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        rwlock = root / ".dvc" / "tmp" / "rwlock"
        rwlock.parent.mkdir(parents=True, exist_ok=True)
        info = {"pid": holder.pid, "cmd": "dvc repro apply"}
        rwlock.write_text(
            json.dumps({"read": {str(root / layout.CORRECTIONS): [info]}, "write": {}})
        )
        log = CorrectionsLog(root / layout.CORRECTIONS)
        row = {
            "entry_id": "1@t", "sample_id": "r2", "project_id": 1, "task_id": 1,
            "annotation_id": 1, "annotator_id": 1, "annotator": "a",
            "time": pd_time(), "decision": "relabel", "new_label": "yes", "given_label": "no",
            "kind": "label_issue", "ground_truth": False, "source": "webhook",
        }  # fmt: skip
        result = log.append([row])
        assert result.added == 1 and result.pending == 1
        assert log.parts() == [] and len(log.pending()) == 1
        assert log.append([row]).already_logged == 1  # a pending row is still deduplicated
        assert log.publish_pending() == 1  # still held
        # a version made now would lack the pending decision: tagging refuses
        with pytest.raises(WorkspaceError, match="wait in .*corrections-pending"):
            tag_version(root, "v1")
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone (a killed run leaves its entry behind): the apply stage publishes
    run(dvc_command("repro", "apply"), root)
    assert log.pending() == [] and len(log.parts()) == 1
    assert manifest_row(root, "r2")["label"] == "yes"


def pd_time():
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


def test_leftovers_of_a_killed_writer_reach_neither_git_nor_dvc_nor_apply(workspace) -> None:
    """A writer killed mid-append leaves a temporary part and a lock file in the log folder
    (older versions wrote both there): git ignores them, DVC's hash of the folder ignores
    them, and apply reads only complete parts."""
    root = workspace
    folder = root / layout.CORRECTIONS
    (folder / ".part-00000000000000000001-1-deadbeef.parquet.k2j4.tmp").write_bytes(b"PAR1 half")
    (folder / ".lock").write_bytes(b"")
    run(dvc_command("repro", "apply"), root)
    assert dvc_status(root) == {}
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], root)
    assert not [line for line in status.splitlines() if "review/" in line], status
    (folder / ".part-00000000000000000002-1-deadbeef.parquet.x8z1.tmp").write_bytes(b"PAR1")
    assert dvc_status(root) == {}
    changelog = json.loads((root / layout.CHANGELOG).read_text())
    assert changelog["log_entries"] == 0
