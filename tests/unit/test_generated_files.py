"""The pipelines committed with curate are exactly what the code generates (no `dvc repro`):
the reference pipeline at the repository root and the demo's in pipelines/demo/."""

from __future__ import annotations

import re
from pathlib import Path

from curate.scaffold.reference import DEMO_PIPELINE, REPO, generated


def test_each_committed_pipeline_file_is_what_the_code_generates() -> None:
    folders = generated()
    assert set(folders) == {REPO, DEMO_PIPELINE}
    for folder, files in folders.items():
        assert {"dvc.yaml", "params.yaml", "configs/data.yaml"} <= set(files)
        for name, text in files.items():
            path = folder / name
            assert path.is_file(), f"{path} is missing: run `python -m curate.scaffold.reference`"
            assert path.read_text() == text, (
                f"{path} differs from what the code generates: run "
                "`python -m curate.scaffold.reference` and commit the result"
            )
    # No stale file left over from an earlier layout: every committed config is generated.
    for folder, files in folders.items():
        committed = {p.relative_to(folder).as_posix() for p in (folder / "configs").glob("*.yaml")}
        assert committed == {n for n in files if n.startswith("configs/")}
    demo = {
        p.relative_to(DEMO_PIPELINE).as_posix() for p in DEMO_PIPELINE.rglob("*") if p.is_file()
    }
    assert demo == set(folders[DEMO_PIPELINE])


def test_curate_demo_copies_pipelines_demo(tmp_path: Path) -> None:
    from curate.scaffold.demo import demo_pipeline_files

    files = demo_pipeline_files()
    assert files == {
        p.relative_to(DEMO_PIPELINE).as_posix(): p.read_text()
        for p in DEMO_PIPELINE.rglob("*")
        if p.is_file()
    }


def test_no_stage_is_written_by_hand() -> None:
    """dvc.yaml's stages come from the stage specs: no module under curate/ spells out a stage
    (a `cmd` key beside `deps`) except the renderer."""
    hits = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "curate").rglob("*.py")
        if re.search(r"""["']cmd["']\s*:""", p.read_text()) and '"deps"' in p.read_text()
    ]
    assert hits == ["curate/pipeline/render.py"]
