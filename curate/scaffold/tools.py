"""git and DVC helpers of a workspace: running the tools, the default remote, ignore files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from curate.artifacts import write_text
from curate.errors import WorkspaceError

GITIGNORE_LINES = (
    "/.curate/",
    "/review/push_state.json",
    # The corrections log's staging folder (its lock, rows kept pending while a DVC run holds
    # the log), and temporary files a killed writer of an older version may leave in the log.
    "/review/.corrections-pending/",
    "/review/corrections/.*.tmp",
    "/review/corrections/.lock",
)
#: Kept out of DVC's hash of review/corrections/ (the apply stage's dependency).
DVCIGNORE_LINES = ("/review/corrections/.*.tmp", "/review/corrections/.lock")


def run_tool(args: Sequence[str], cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
    """Run git or dvc; a failure becomes a WorkspaceError quoting the tool's own message."""
    env = tool_env()
    try:
        proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise WorkspaceError(
            f"cannot {what}: '{args[0]}' is not installed or not on PATH."
        ) from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise WorkspaceError(f"cannot {what} in {cwd}: {' '.join(tail)}")
    return proc


def dvc_command(*args: str) -> list[str]:
    """Invoke the DVC that is installed next to this Python, whatever PATH says."""
    return [sys.executable, "-m", "dvc", *args]


def tool_env() -> dict[str, str]:
    """Environment for git/dvc subprocesses: this interpreter's bin dir first on PATH (so the
    pipeline's ``curate`` commands resolve to this installation) and DVC analytics off."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def _ensure_git(root: Path) -> None:
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        run_tool(["git", "init", "-q"], root, "initialise a git repository")


#: The default DVC remote `curate init` configures: a local folder, no server needed.
DEFAULT_REMOTE = "curate-local"
#: Environment variable naming the folder that holds the default remotes (one per workspace).
REMOTES_DIR_ENV = "CURATE_REMOTES_DIR"


def default_remote_dir(root: str | Path) -> Path:
    """Where ``curate init`` puts the default DVC remote of the workspace at ``root``.

    Outside the work tree, so that nothing git does there (``git clean -fdx``, a fresh
    checkout, deleting the clone) loses a version: ``$CURATE_REMOTES_DIR`` if set, else
    ``$XDG_DATA_HOME/curate/remotes`` (``~/.local/share/curate/remotes``), then one folder per
    workspace, ``<folder name>-<first 8 hex digits of the sha256 of its absolute path>``.
    """
    root = Path(root).resolve()
    base = os.environ.get(REMOTES_DIR_ENV)
    if base:
        parent = Path(base).expanduser()
    else:
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        parent = Path(data_home).expanduser() / "curate" / "remotes"
    digest = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:8]
    return parent.resolve() / f"{root.name}-{digest}"


def _ensure_remote(root: Path) -> None:
    """A default DVC remote if there is none: :func:`default_remote_dir`, by absolute path, so
    other clones on this machine can pull from it. Point it elsewhere with
    ``dvc remote add -d -f curate-local <url>`` (or any remote name)."""
    remotes = run_tool(dvc_command("remote", "list"), root, "list DVC remotes").stdout
    if remotes.strip():
        return
    folder = default_remote_dir(root)
    if folder.is_relative_to(root):
        raise WorkspaceError(
            f"the default DVC remote {folder} would be inside the workspace {root}, where "
            f"`git clean -fdx` deletes it. Set {REMOTES_DIR_ENV} to a folder outside it."
        )
    run_tool(
        dvc_command("remote", "add", "-d", DEFAULT_REMOTE, str(folder)),
        root,
        "configure the default DVC remote",
    )


def _ensure_dvc(root: Path) -> None:
    if not (root / ".dvc").is_dir():
        top = run_tool(["git", "rev-parse", "--show-toplevel"], root, "find the git root")
        if Path(top.stdout.strip()).resolve() != root:
            # DVC can live in a subdirectory of a git repository (monorepo layout).
            run_tool(dvc_command("init", "-q", "--subdir"), root, "initialise DVC")
        else:
            run_tool(dvc_command("init", "-q"), root, "initialise DVC")


def _extend_gitignore(root: Path) -> None:
    path = root / ".gitignore"
    lines = path.read_text().splitlines() if path.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in lines]
    if missing:
        write_text("\n".join([*lines, *missing]) + "\n", path)
    path = root / ".dvcignore"
    lines = path.read_text().splitlines() if path.exists() else []
    missing = [line for line in DVCIGNORE_LINES if line not in lines]
    if missing:
        write_text("\n".join([*lines, *missing]) + "\n", path)
