"""Small builders shared by the tests: a workspace with a data config and data files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_workspace(root: Path, data: dict[str, Any], **sections: dict[str, Any]) -> Path:
    """Write configs/data.yaml (section ``data``) and one configs/<name>.yaml per extra section."""
    (root / "configs").mkdir(parents=True, exist_ok=True)
    (root / "configs" / "data.yaml").write_text(yaml.safe_dump({"data": data}))
    for name, body in sections.items():
        (root / "configs" / f"{name}.yaml").write_text(yaml.safe_dump({name: body}))
    return root
