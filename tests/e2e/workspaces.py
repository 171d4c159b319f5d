"""Small real git + DVC workspaces for the version and recovery tests.

Each is made by ``curate init`` around a generated CSV, with ``dvc.yaml`` trimmed to the
stages a test needs (so ``dvc repro`` and ``curate version tag`` take seconds). Tests set
``CURATE_REMOTES_DIR`` to a temporary folder so the default DVC remote lands there.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml
from click.testing import CliRunner

from curate.cli import main
from curate.scaffold.tools import run_tool

TOPICS = {
    "food": "pasta bread cheese soup salad cook taste dinner".split(),
    "sport": "goal match team score player coach league win".split(),
    "tech": "laptop phone code server cloud chip screen app".split(),
}
FILLER = "the a very quite some today often really new old big small".split()


def git(root: Path, *args: str) -> str:
    return run_tool(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], root, "git"
    ).stdout


def text_rows(start: int, count: int, seed: int = 0) -> list[str]:
    """CSV lines ``id,text,label``: short topic sentences, each text unique."""
    rng = random.Random(seed + start)
    lines = []
    for i in range(start, start + count):
        label = rng.choice(sorted(TOPICS))
        words = [*rng.sample(TOPICS[label], 3), *rng.sample(FILLER, 3), f"w{i}"]
        rng.shuffle(words)
        lines.append(f"t{i:05d},{' '.join(words)},{label}\n")
    return lines


def tabular_rows(count: int, seed: int = 0) -> list[str]:
    """CSV lines ``id,a,b,c,label,split`` of three separable classes."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        label = i % 3
        split = "test" if i % 5 == 0 else "train"
        lines.append(
            f"r{i:04d},{label + rng.random():.4f},{rng.random():.4f},{rng.choice('xyz')},"
            f"{label},{split}\n"
        )
    return lines


def make_workspace(
    root: Path,
    header: str,
    rows: list[str],
    stages: tuple[str, ...],
    init_args: tuple[str, ...] = (),
) -> Path:
    """``curate init`` a git repository at ``root`` around ``data.csv`` (``header`` + ``rows``),
    keep only ``stages`` in dvc.yaml, and commit."""
    root.mkdir(parents=True)
    (root / "data.csv").write_text(header + "".join(rows))
    git(root, "init", "-q")
    git(root, "config", "user.name", "t")  # `curate version tag` commits
    git(root, "config", "user.email", "t@t.invalid")
    result = CliRunner().invoke(
        main, ["init", str(root), "--data", str(root / "data.csv"), *init_args]
    )
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((root / "dvc.yaml").read_text())
    spec["stages"] = {k: v for k, v in spec["stages"].items() if k in stages}
    (root / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "workspace")
    return root


def tag(root: Path, name: str) -> dict:
    """``curate version tag NAME`` through the CLI."""
    result = CliRunner().invoke(main, ["version", "tag", name, "-w", str(root)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
