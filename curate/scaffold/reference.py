"""The pipelines committed with curate, generated from the code and kept identical to it.

* the repository root: the reference pipeline a new text workspace gets from
  ``curate init --data data/train.csv`` (a CSV with ``text`` and ``label`` columns): its
  dvc.yaml, params.yaml and configs/;
* ``pipelines/demo/``: the demo's pipeline, which ``curate demo`` copies.

After changing a stage spec or a config dataclass, regenerate both with
``python -m curate.scaffold.reference`` (a fast test fails until they match).
"""

from __future__ import annotations

import sys
from pathlib import Path

from curate.artifacts import write_text
from curate.scaffold.infer import DataSpec

#: The source checkout's root (holds pipelines/ and the reference pipeline).
REPO = Path(__file__).resolve().parents[2]
DEMO_PIPELINE = REPO / "pipelines" / "demo"


def reference_data_spec() -> DataSpec:
    """What ``curate init --data data/train.csv`` infers for a CSV with text and label."""
    return DataSpec(
        sources=[{"path": "data/train.csv"}],
        modality="text",
        input_column="text",
        label_column="label",
    )


def generated() -> dict[Path, dict[str, str]]:
    """Folder -> the files (relative path -> text) generated for it."""
    from curate.scaffold.demo import DEMO_IMAGE_SIZE, demo_data_spec
    from curate.scaffold.workspace import pipeline_files

    reference = {
        name: text
        for name, text in pipeline_files(reference_data_spec()).items()
        if name in ("dvc.yaml", "params.yaml") or name.startswith("configs/")
    }
    return {
        REPO: reference,
        DEMO_PIPELINE: pipeline_files(demo_data_spec(), image_size=DEMO_IMAGE_SIZE),
    }


def write_all() -> list[Path]:
    written = []
    for folder, files in generated().items():
        for name, text in files.items():
            path = folder / name
            if not path.is_file() or path.read_text() != text:
                write_text(text, path)
                written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for path in write_all():
        print(f"wrote {path.relative_to(REPO)}")
    sys.exit(0)
