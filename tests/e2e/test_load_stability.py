"""Loading a pinned version never crashes the calling process.

A short script that loads a version used to abort at exit (SIGABRT, exit 134) in about half of
its runs: pyarrow's reader threads freed the Python object holding the Parquet bytes while the
interpreter was shutting down. Twenty fresh processes, four at a time, must all exit 0.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.scaffold.tools import dvc_command, run_tool
from tests.e2e.workspaces import make_workspace, tabular_rows, tag

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOADS = 20
#: Loads started together, like the workers of a training job: the abort needed a thread
#: still freeing the read's input when the interpreter exits, which a busy CPU makes likely.
AT_ONCE = 4


def test_twenty_fresh_process_loads_of_a_tagged_version_all_exit_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATE_REMOTES_DIR", str(tmp_path / "remotes"))
    root = make_workspace(
        tmp_path / "ws",
        "id,a,b,c,label,split\n",
        tabular_rows(120),
        stages=("ingest", "apply"),
        init_args=("--feature-column", "a", "--feature-column", "b", "--feature-column", "c"),
    )
    run_tool(dvc_command("repro"), root, "dvc repro")
    tag(root, "v1")
    splits = pq.read_table(root / layout.MANIFEST).column("split").to_pylist()
    script = (
        "import curate\n"
        f"table = curate.load({str(root)!r}, rev='v1', split='train')\n"
        "print(table.num_rows)\n"
    )
    exits, errors = [], []
    for _ in range(LOADS // AT_ONCE):
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(AT_ONCE)
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            exits.append(proc.returncode)
            if proc.returncode == 0:
                assert int(out) == splits.count("train") < len(splits)
            else:
                errors.append(err.strip()[-200:])
    crashed = [code for code in exits if code != 0]
    assert not crashed, f"{len(crashed)} of {LOADS} loads failed, exits {exits}: {errors[0]}"
