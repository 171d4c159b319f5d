"""The configs/*.yaml that ``curate init`` writes are rendered from the section dataclasses:
every value in them is the dataclass default (or an explicit override), and the templates
module writes no default of its own."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import curate.scaffold.templates as templates_module
from curate.checks.redundancy import find_redundant
from curate.config import (
    Config,
    EmbedConfig,
    IndexConfig,
    RedundancyConfig,
    load_config,
    redundancy_threshold,
    sections,
)
from curate.errors import ConfigError
from curate.index import build_graph
from curate.scaffold.infer import DataSpec
from curate.scaffold.templates import workspace_files
from curate.settings import default
from tests.helpers import clustered

SPECS = {
    "text": DataSpec([{"path": "data.csv"}], "text", "text", "label"),
    "image": DataSpec([{"path": "images.csv"}], "image", "image", "label"),
    "tabular": DataSpec([{"path": "rows.csv"}], "tabular", None, "label", feature_columns=["x"]),
    "embedding": DataSpec([{"path": "vectors.parquet"}], "embedding", "embedding", "label"),
}


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Dotted key -> value for every leaf of a YAML mapping or a dataclass (tuples as lists)."""
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict) and (value or not path):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(leaves(v, f"{path}.{k}" if path else str(k)))
        return out
    return {path: list(value) if isinstance(value, tuple) else value}


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("modality", sorted(SPECS))
def test_every_template_value_is_its_dataclass_default(tmp_path: Path, modality: str) -> None:
    files = workspace_files(SPECS[modality], image_size=8)
    overrides = {"embed": {"image.size": 8}}
    cfg = load_config(write(tmp_path, files))
    rendered = [
        name for name in files if name.startswith("configs/") and name != "configs/data.yaml"
    ]
    assert sorted(rendered) == sorted(f"configs/{s}.yaml" for s in sections() if s != "data")
    for name, cls in sections().items():
        if name == "data":
            continue
        body = yaml.safe_load(files[f"configs/{name}.yaml"])
        assert list(body) == [name]
        expected = leaves(cls())
        expected.update(overrides.get(name, {}))
        assert leaves(body[name]) == expected, name
        assert leaves(cfg.section(name)) == expected, name
    assert cfg.embed == dataclasses.replace(
        EmbedConfig(), image=dataclasses.replace(EmbedConfig().image, size=8)
    )
    assert yaml.safe_load(files["params.yaml"]) == {
        "seed": Config.__dataclass_fields__["seed"].default
    }


def test_without_override_the_image_size_is_the_default(tmp_path: Path) -> None:
    files = workspace_files(SPECS["image"])
    assert load_config(write(tmp_path, files)).embed == EmbedConfig()


def numeric_defaults(value: Any) -> set[float]:
    return {
        v for v in leaves(value).values() if isinstance(v, int | float) and not isinstance(v, bool)
    } | {
        x
        for v in leaves(value).values()
        if isinstance(v, list)
        for x in v
        if isinstance(x, int | float) and not isinstance(x, bool)
    }


def test_the_templates_module_writes_no_default_of_its_own() -> None:
    numbers = {default(f) for f in dataclasses.fields(Config) if f.name == "seed"}
    for cls in sections().values():
        if cls is not sections()["data"]:
            numbers |= numeric_defaults(cls())
    assert {10, 0.02, 0.7, 1000} <= numbers  # the walk reaches the sections' numbers
    source = Path(templates_module.__file__).read_text()
    literals = re.findall(r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", source)
    written = sorted({x for x in literals if float(x.replace("_", "")) in numbers})
    assert not written, f"defaults written in {templates_module.__file__}: {written}"


def test_modality_dependent_thresholds_are_null_in_the_templates() -> None:
    for spec in SPECS.values():
        files = workspace_files(spec)
        assert yaml.safe_load(files["configs/duplicates.yaml"])["duplicates"]["threshold"] is None
        assert yaml.safe_load(files["configs/redundancy.yaml"])["redundancy"]["threshold"] is None


def test_a_null_redundancy_threshold_is_resolved_by_modality() -> None:
    cfg = RedundancyConfig()
    assert cfg.threshold is None
    assert redundancy_threshold(cfg, "text") == 0.98
    assert redundancy_threshold(cfg, "image") == 0.99
    assert redundancy_threshold(RedundancyConfig(threshold=0.5), "image") == 0.5
    X = clustered(60, d=16, centres=6, seed=1)
    ids = [f"s{i}" for i in range(len(X))]
    labels = [f"c{i % 3}" for i in range(len(X))]
    graph = build_graph(X, IndexConfig(k=5))
    for modality, expected in (("text", 0.98), ("image", 0.99)):
        summary = find_redundant(
            ids, X, graph, splits=["train"] * len(X), labels=labels, modality=modality
        ).summary
        assert summary["threshold"] == expected


@dataclass(frozen=True)
class ToxicityConfig:
    """Toxicity check: a word list scored per text."""

    #: Share of toxic words above which a text is flagged.
    rate: float = 0.2
    #: Words counted as toxic.
    words: tuple[str, ...] = ("darn",)

    def validate(self, cfg: Config) -> None:
        from curate.settings import check_range

        check_range("toxicity.rate", self.rate, 0 <= self.rate <= 1, "in [0, 1]")


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    from curate.pipeline import registry

    monkeypatch.setattr(registry, "config_sections", lambda: {"toxicity": ToxicityConfig})


def test_plugin_sections_get_a_template_and_are_bound(tmp_path: Path, plugin) -> None:
    files = workspace_files(SPECS["text"])
    body = yaml.safe_load(files["configs/toxicity.yaml"])
    assert body == {"toxicity": {"rate": 0.2, "words": ["darn"]}}
    assert files["configs/toxicity.yaml"].startswith("# Toxicity check: a word list")
    cfg = load_config(write(tmp_path, files))
    assert cfg.section("toxicity") == ToxicityConfig()
    (tmp_path / "configs" / "toxicity.yaml").write_text("toxicity: {rate: 0.5, words: [heck]}\n")
    assert load_config(tmp_path).section("toxicity") == ToxicityConfig(0.5, ("heck",))
    assert load_config(tmp_path).extra == {"toxicity": ToxicityConfig(0.5, ("heck",))}


def test_a_missing_plugin_section_takes_its_defaults(tmp_path: Path, plugin) -> None:
    files = workspace_files(SPECS["text"])
    del files["configs/toxicity.yaml"]
    cfg = load_config(write(tmp_path, files))
    assert cfg.section("toxicity") == ToxicityConfig()
    assert cfg.section("outlier") is cfg.outlier
    with pytest.raises(ConfigError, match="unknown config section 'toxic'.*toxicity"):
        cfg.section("toxic")


def test_plugin_section_errors_name_the_file_and_key(tmp_path: Path, plugin) -> None:
    write(tmp_path, workspace_files(SPECS["text"]))
    tox = tmp_path / "configs" / "toxicity.yaml"
    tox.write_text("toxicity: {rate: 2}\n")
    with pytest.raises(ConfigError, match=r"toxicity.yaml: toxicity.rate must be in \[0, 1\]"):
        load_config(tmp_path)
    tox.write_text("toxicity: {colour: red}\n")
    with pytest.raises(ConfigError, match=r"toxicity.yaml: toxicity: unknown key\(s\) 'colour'"):
        load_config(tmp_path)
    tox.write_text("toxcity: {}\n")
    with pytest.raises(ConfigError, match=r"unknown config section.*'toxcity'") as err:
        load_config(tmp_path)
    assert "outlier, predict, redundancy, review, seed, toxicity" in str(err.value)
