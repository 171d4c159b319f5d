"""Small builders shared by the tests: a workspace with a data config and data files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml


def text_cfg(path: str = "data.csv", **overrides: Any) -> dict[str, Any]:
    """A text-modality data section reading one source."""
    return {
        "sources": [{"path": path}],
        "modality": "text",
        "input_column": "text",
        "label_column": "label",
        **overrides,
    }


def write_workspace(
    root: Path,
    data: dict[str, Any],
    files: dict[str, dict[str, Any]] | None = None,
    **sections: dict[str, Any],
) -> Path:
    """Write params.yaml, configs/data.yaml (section ``data``), one configs/<name>.yaml per
    keyword section, and ``files``: raw configs/<file name> -> content, for odd layouts."""
    (root / "params.yaml").write_text(yaml.safe_dump({"seed": 0}))
    (root / "configs").mkdir(parents=True, exist_ok=True)
    (root / "configs" / "data.yaml").write_text(yaml.safe_dump({"data": data}, sort_keys=False))
    for name, body in sections.items():
        (root / "configs" / f"{name}.yaml").write_text(yaml.safe_dump({name: body}))
    for name, content in (files or {}).items():
        (root / "configs" / name).write_text(yaml.safe_dump(content, sort_keys=False))
    return root


def require_shared_data(path: Path) -> None:
    """Skip a test whose real public data set (``../shared/data``) is absent, except in CI
    (``CURATE_REQUIRE_INTEGRATION=1``), where a skip would hide that the test never ran."""
    import os

    import pytest

    if path.exists():
        return
    if os.environ.get("CURATE_REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"{path} not found (CURATE_REQUIRE_INTEGRATION=1: real-data tests must run)")
    pytest.skip(f"{path} not available")


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32."""
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, d: int = 32, centres: int = 40, spread: float = 0.3, seed: int = 0):
    """Unit points around random centres: neighbourhoods as in real embeddings."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, d))
    return unit(c[rng.integers(0, centres, n)] + spread * rng.normal(size=(n, d)))
