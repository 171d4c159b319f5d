"""Every test the README names as backing a claim exists, so a claim cannot outlive its test."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def missing_tests(text: str) -> list[str]:
    """The ``tests/...py::name`` references in ``text`` with no such test function."""
    missing = []
    for path, name in sorted(set(REFERENCE.findall(text))):
        file = ROOT / path
        source = file.read_text(encoding="utf-8") if file.is_file() else ""
        if not re.search(rf"^(async )?def {name}\(", source, re.M):
            missing.append(f"{path}::{name}")
    return missing


def test_every_test_the_readme_names_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    reliability = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    assert len(REFERENCE.findall(reliability)) >= 20, "each reliability claim names its test"
    assert missing_tests(readme) == []


def test_a_reference_to_a_missing_test_is_reported() -> None:
    text = (
        "`tests/unit/test_readme_claims.py::test_every_test_the_readme_names_exists` and "
        "`tests/unit/test_readme_claims.py::test_gone` and `tests/unit/nope.py::test_x`"
    )
    assert missing_tests(text) == [
        "tests/unit/nope.py::test_x",
        "tests/unit/test_readme_claims.py::test_gone",
    ]
