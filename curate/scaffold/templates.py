"""The files ``curate init`` writes besides dvc.yaml: params.yaml and configs/*.yaml.

``configs/data.yaml`` comes from the inferred :class:`~curate.scaffold.infer.DataSpec`; every
other ``configs/<section>.yaml`` (the built-in sections and those of installed plug-in stages)
is rendered from its section's dataclass by :func:`curate.settings.render_template`, so each
default and its explanation live only in that dataclass.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from curate import layout
from curate.config import Config, sections
from curate.scaffold.infer import DataSpec
from curate.settings import default, render_template

CORRECTIONS_README = """\
# Corrections log

Review decisions pulled from Label Studio (`curate review pull`) or received by webhook
(`curate serve`), one Parquet part per append. Append-only: never edit or delete a part.
Commit new parts with git; the `apply` stage turns them into the next dataset version.
"""


def params_yaml() -> str:
    """params.yaml: the pipeline-wide values (``seed``) at their defaults."""
    seed = next(f for f in dataclasses.fields(Config) if f.name == "seed")
    return (
        "# Pipeline-wide parameters. Component settings live in configs/*.yaml.\n"
        f"seed: {default(seed)}\n"
    )


def section_overrides(*, image_size: int | None = None) -> dict[str, dict[str, Any]]:
    """Section -> {dotted key: value} written instead of the dataclass defaults."""
    return {"embed": {"image.size": image_size}} if image_size is not None else {}


def section_templates(*, image_size: int | None = None) -> dict[str, str]:
    """configs/<section>.yaml -> its text, for every section but ``data``."""
    overrides = section_overrides(image_size=image_size)
    return {
        f"configs/{name}.yaml": render_template(name, cls, overrides.get(name))
        for name, cls in sections().items()
        if name != "data"
    }


def workspace_files(spec: DataSpec, *, image_size: int | None = None) -> dict[str, str]:
    """params.yaml, configs/*.yaml and the corrections log's README, by relative path.

    ``image_size`` overrides ``embed.image.size`` (``None``: the default).
    """
    return {
        "params.yaml": params_yaml(),
        "configs/data.yaml": spec.to_yaml(),
        **section_templates(image_size=image_size),
        # The corrections log must exist (the apply stage depends on it) and lives in git.
        str(Path(layout.CORRECTIONS) / "README.md"): CORRECTIONS_README,
    }
