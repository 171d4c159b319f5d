"""With ``compute.backend: local`` (the default) nothing imports ray: the CLI, and the embed
and knn stages run in a fresh process, leave it out of ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from curate import layout
from tests.ray.conftest import text_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))))
"""


def ray_modules(body: str, cwd: Path) -> list[str]:
    """The ray modules a fresh interpreter has imported after running ``body``."""
    code = PROBE.format(body=body)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_cli_does_not_import_ray(tmp_path: Path) -> None:
    assert ray_modules("import curate.cli", tmp_path) == []


def test_the_local_backend_runs_embed_and_knn_without_ray(tmp_path: Path) -> None:
    root = text_workspace(tmp_path / "ws", "local")
    body = (
        "import curate.cli\n"
        "from curate.pipeline import registry\n"
        "for name in ('embed', 'knn'):\n"
        f"    registry.get(name).run({str(root)!r})\n"
    )
    assert ray_modules(body, root) == []
    assert (root / layout.EMBEDDINGS).is_file() and (root / layout.GRAPH).is_file()  # both ran
