"""The generic binder (curate.settings): errors that name the file and the key, and YAML
templates rendered from a dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from curate.config import load_config
from curate.errors import ConfigError
from curate.settings import WIDTH, build, render_template
from tests.helpers import text_cfg, write_workspace


@dataclass(frozen=True)
class Inner:
    """Nested settings."""

    #: How deep.
    depth: int = 2


@dataclass(frozen=True)
class Example:
    """An example section. Its header comment is long enough to be wrapped onto a second line
    of the rendered template.

    A second paragraph."""

    name: str
    #: The mode: ``fast`` or ``slow`` (see :mod:`curate.settings`).
    mode: Literal["fast", "slow"] = "fast"
    #: A ratio.
    ratio: float | None = None
    tags: tuple[str, ...] = ("a", "b")
    weights: dict[str, float] = field(default_factory=lambda: {"x": 1.0})
    inner: Inner = field(default_factory=Inner)
    version: str = "1"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"name": "n", "colour": 1},
            r"f.yaml: ex: unknown key\(s\) 'colour'. Allowed keys are: name,",
        ),
        ({}, r"f.yaml: ex: required key\(s\) missing: name"),
        (
            {"name": "n", "mode": "warp"},
            r"f.yaml: ex.mode must be one of: fast, slow; found 'warp'",
        ),
        ({"name": "n", "ratio": "high"}, r"f.yaml: ex.ratio must be a number, found 'high'"),
        ({"name": "n", "tags": "a"}, r"f.yaml: ex.tags must be a list, found 'a'"),
        ({"name": "n", "inner": {"depth": True}}, r"ex.inner.depth must be an integer, found True"),
    ],
)
def test_binder_errors_name_the_file_and_the_key(value: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(Example, value, "f.yaml: ex")


def test_binder_converts_yaml_values() -> None:
    bound = build(Example, {"name": 7, "ratio": 1, "tags": ["c"], "inner": {}}, "f.yaml: ex")
    assert bound == Example(name="7", ratio=1.0, tags=("c",))


def test_range_errors_name_the_file_holding_the_section(tmp_path: Path) -> None:
    write_workspace(tmp_path, text_cfg(), {"tuning.yaml": {"outlier": {"k": 0}}})
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value) == (
        f"{tmp_path.resolve()}/configs/tuning.yaml: outlier.k must be >= 1, found 0. "
        "Fix it in that file."
    )


def test_render_template_writes_docs_and_defaults() -> None:
    text = render_template("ex", Example, {"name": "demo", "inner.depth": 3})
    assert yaml.safe_load(text) == {
        "ex": {
            "name": "demo",
            "mode": "fast",
            "ratio": None,
            "tags": ["a", "b"],
            "weights": {"x": 1.0},
            "inner": {"depth": 3},
            "version": "1",
        }
    }
    lines = text.splitlines()
    assert lines[0].startswith("# An example section. Its header comment")
    assert lines[2:4] == ["#", "# A second paragraph."]
    assert "  # The mode: fast or slow (see curate.settings).\n  mode: fast\n" in text
    assert "  # Nested settings.\n  inner:\n    # How deep.\n    depth: 3\n" in text
    assert all(len(line) <= WIDTH for line in lines)


def test_render_template_refuses_unknown_overrides_and_missing_values() -> None:
    with pytest.raises(KeyError, match="inner.width"):
        render_template("ex", Example, {"name": "n", "inner.width": 3})
    with pytest.raises(ValueError, match="Example.name has no default"):
        render_template("ex", Example)


def test_review_weights_accept_the_kinds_of_registered_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curate.pipeline import registry

    monkeypatch.setattr(registry, "review_kinds", lambda: {"label_issue": 1.0, "toxic": 0.5})
    write_workspace(tmp_path, text_cfg(), review={"weights": {"toxic": 2.0}})
    assert load_config(tmp_path).review.weights == {"toxic": 2.0}
    write_workspace(tmp_path, text_cfg(), review={"quotas": {"outlier": 5}})
    with pytest.raises(ConfigError, match=r"review.quotas names unknown kind\(s\) 'outlier'; "
                       r"kinds are: label_issue, toxic\."):  # fmt: skip
        load_config(tmp_path)
    (tmp_path / "configs" / "review.yaml").unlink()
    assert load_config(tmp_path).review.weights == {"label_issue": 1.0, "toxic": 0.5}
