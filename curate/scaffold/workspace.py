"""``curate init``: write the pipeline around the user's data so that the next command is
``dvc repro``. Existing files are never overwritten unless asked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from curate.artifacts import write_text
from curate.config import load_config
from curate.errors import WorkspaceError
from curate.pipeline.render import render_dvc_yaml
from curate.scaffold.infer import DataSpec, data_dependencies
from curate.scaffold.templates import workspace_files
from curate.scaffold.tools import _ensure_dvc, _ensure_git, _ensure_remote, _extend_gitignore


def pipeline_files(
    spec: DataSpec, *, root: Path | None = None, image_size: int = 32
) -> dict[str, str]:
    """What ``curate init`` writes for ``spec``, by workspace-relative path: dvc.yaml
    (rendered from the registered stages), params.yaml, configs/*.yaml (generated from the
    config dataclasses) and the corrections log's README."""
    dvc_yaml = render_dvc_yaml(data_dependencies(spec, root), spec.modality)
    return {"dvc.yaml": dvc_yaml, **workspace_files(spec, image_size=image_size)}


def write_pipeline(
    root: str | Path, files: Mapping[str, str], *, force: bool = False
) -> list[Path]:
    """Write ``files`` (relative path -> text) into ``root`` and make it a git + DVC repo with
    a default remote. Refuses to overwrite existing files unless ``force``; the result must
    load as a config."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    paths = {root / name: text for name, text in files.items()}
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise WorkspaceError(
            f"{', '.join(str(p.relative_to(root)) for p in existing)} already exist(s) in "
            f"{root}. Pass --force to overwrite them, or edit them by hand."
        )
    _ensure_git(root)
    _ensure_dvc(root)
    _ensure_remote(root)
    for path, text in paths.items():
        write_text(text, path)
    _extend_gitignore(root)
    load_config(root)  # what we wrote must load; fail here rather than in `dvc repro`
    return list(paths)


def init_workspace(
    root: str | Path, spec: DataSpec, *, force: bool = False, image_size: int = 32
) -> list[Path]:
    """Write dvc.yaml, params.yaml and configs/ into ``root`` and make it a git + DVC repo.

    Returns the files written. Refuses to overwrite existing pipeline files unless ``force``.
    """
    root = Path(root).resolve()
    files = pipeline_files(spec, root=root, image_size=image_size)
    return write_pipeline(root, files, force=force)
