"""Versions survive what git does to the work tree, and killed stages are recoverable.

* The default DVC remote lives outside the work tree: after ``git clean -fdx`` (which deletes
  every ignored file, DVC's cache included) a tagged version still loads byte for byte.
* DVC deletes a stage's outputs before it runs the stage, so ``kill -9`` of a stage leaves
  them missing (never partial). ``dvc checkout`` puts back what ``dvc.lock`` records (the last
  successful run's artifacts) from DVC's cache, the next ``dvc repro`` finishes the work, and
  the embedding cache keeps every batch of rows it had flushed before the kill.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

import curate
from curate import layout
from curate.embed import FLUSH_ROWS
from curate.scaffold.tools import dvc_command, run_tool, tool_env
from curate.versions.versioning import read_at_revision
from tests.e2e.workspaces import git, make_workspace, tabular_rows, tag, text_rows

#: The documented environment variable that moves the default DVC remotes (README).
REMOTES_DIR_ENV = "CURATE_REMOTES_DIR"
TABULAR = ("--feature-column", "a", "--feature-column", "b", "--feature-column", "c")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def locked_md5(root: Path, stage: str, path: str) -> str:
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return next(o["md5"] for o in lock["stages"][stage]["outs"] if o["path"] == path)


def test_default_remote_is_outside_the_work_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curate.scaffold.tools import default_remote_dir

    monkeypatch.delenv(REMOTES_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    a, b = tmp_path / "one" / "ws", tmp_path / "two" / "ws"
    remote = default_remote_dir(a)
    assert remote.parent == tmp_path / "data-home" / "curate" / "remotes"
    assert remote.name.startswith("ws-") and remote != default_remote_dir(b)
    monkeypatch.setenv(REMOTES_DIR_ENV, str(tmp_path / "remotes"))
    assert default_remote_dir(a).parent == tmp_path / "remotes"


@pytest.mark.e2e
def test_init_refuses_a_default_remote_inside_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from curate.cli import main

    root = tmp_path / "ws"
    root.mkdir()
    (root / "data.csv").write_text("id,text,label\n" + "".join(text_rows(0, 10)))
    monkeypatch.setenv(REMOTES_DIR_ENV, str(root / "remotes"))
    result = CliRunner().invoke(main, ["init", str(root), "--data", str(root / "data.csv")])
    assert result.exit_code == 2
    assert "inside the workspace" in result.output and REMOTES_DIR_ENV in result.output


@pytest.mark.e2e
def test_git_clean_fdx_keeps_every_tagged_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REMOTES_DIR_ENV, str(tmp_path / "remotes"))
    root = make_workspace(
        tmp_path / "ws",
        "id,a,b,c,label,split\n",
        tabular_rows(60),
        stages=("ingest", "apply"),
        init_args=TABULAR,
    )
    run_tool(dvc_command("repro"), root, "dvc repro")
    tag(root, "v1")
    v1_md5 = md5(root / layout.MANIFEST)
    v1 = pq.read_table(root / layout.MANIFEST)

    git(root, "clean", "-fdxq")
    assert not (root / layout.MANIFEST).exists() and not (root / ".dvc" / "cache").exists()

    assert hashlib.md5(read_at_revision(layout.MANIFEST, str(root), "v1")).hexdigest() == v1_md5
    assert curate.load(root, rev="v1").equals(v1)
    url = run_tool(dvc_command("config", "remote.curate-local.url"), root, "dvc config").stdout
    remote = Path(url.strip())
    assert remote.is_relative_to(tmp_path / "remotes") and any(remote.rglob("*"))


def stage_pid(parent: int, stage: str) -> int | None:
    """The process running ``curate <stage>`` below process ``parent`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    todo = list(children.get(parent, []))
    while todo:
        pid = todo.pop()
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        if len(argv) >= 2 and argv[-1] == stage.encode() and argv[-2].endswith(b"curate"):
            return pid
        todo.extend(children.get(pid, []))
    return None


def kill_stage_when(
    proc: subprocess.Popen, stage: str, ready: Callable[[], bool], timeout: float = 120.0
) -> None:
    """``kill -9`` the stage's own process (not dvc) once it runs and ``ready()`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dvc repro ended before {stage} could be killed"
        pid = stage_pid(proc.pid, stage)
        if pid is not None and ready():
            os.kill(pid, signal.SIGKILL)
            assert proc.wait(timeout=60) != 0
            return
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"{stage} did not reach the kill point in {timeout} s")


def repro_in_background(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        dvc_command("repro"),
        cwd=root,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


README = Path(__file__).resolve().parents[2] / "README.md"


def documented_restore_command(readme: str) -> list[str]:
    """The one command the README's "Interrupted or failed stages" paragraph gives for putting
    back the previous artifacts: the test runs what a user is told to run."""
    _, found, rest = readme.partition("**Interrupted or failed stages.**")
    assert found, "README.md says nothing about interrupted or failed stages"
    block = rest.split("```bash\n", 1)[1].split("```", 1)[0]
    command = block.split("#", 1)[0].split()
    assert command and command[0] == "dvc", f"not a dvc command: {block!r}"
    return dvc_command(*command[1:])


def test_the_restore_command_is_read_from_the_readme() -> None:
    assert documented_restore_command(README.read_text(encoding="utf-8")) == dvc_command("checkout")
    # the README before this paragraph existed claimed the previous artifact stayed intact
    with pytest.raises(AssertionError, match="says nothing about interrupted"):
        documented_restore_command("all artifacts ... leaves the previous artifact intact")


@pytest.mark.e2e
@pytest.mark.slow
def test_kill_9_of_embed_and_predict_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REMOTES_DIR_ENV, str(tmp_path / "remotes"))
    first, extra = 60, FLUSH_ROWS + 2000
    root = make_workspace(
        tmp_path / "ws",
        "id,text,label\n",
        text_rows(0, first),
        stages=("ingest", "apply", "embed", "knn", "predict"),
    )
    run_tool(dvc_command("repro"), root, "dvc repro")
    tag(root, "v1")
    v1_embeddings = locked_md5(root, "embed", layout.EMBEDDINGS)
    v1_pred_probs = locked_md5(root, "predict", layout.PRED_PROBS)

    # The next version adds rows that take the text model several seconds to embed.
    with (root / "data.csv").open("a") as handle:
        handle.writelines(text_rows(first, extra))
    git(root, "commit", "-qam", "more rows")
    cache = root / ".curate" / "cache" / "embeddings"
    shards = set(cache.rglob("shard-*.parquet"))

    # kill -9 of embed after its first flush: its outputs are gone, dvc checkout restores v1's.
    kill_stage_when(
        repro_in_background(root), "embed", lambda: bool(set(cache.rglob("shard-*")) - shards)
    )
    assert not (root / layout.EMBEDDINGS).exists()
    restore = documented_restore_command(README.read_text(encoding="utf-8"))
    run_tool(restore, root, "the README's restore command")
    assert md5(root / layout.EMBEDDINGS) == v1_embeddings

    # The next repro embeds only what was not flushed; kill -9 of predict while it runs.
    kill_stage_when(repro_in_background(root), "predict", lambda: True)
    summary = json.loads((root / layout.EMBEDDINGS_SUMMARY).read_text())
    assert (summary["rows"], summary["cached"], summary["embedded"]) == (
        first + extra,
        first + FLUSH_ROWS,
        extra - FLUSH_ROWS,
    )
    assert not (root / layout.PRED_PROBS).exists()
    run_tool(restore, root, "the README's restore command")
    assert md5(root / layout.PRED_PROBS) == v1_pred_probs

    run_tool(dvc_command("repro"), root, "dvc repro")
    status = run_tool(dvc_command("status", "--json"), root, "dvc status").stdout
    assert json.loads(status) == {}
    assert pq.read_table(root / layout.PRED_PROBS).num_rows == first + extra
