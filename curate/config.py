"""Workspace configuration: YAML files -> frozen, validated dataclasses.

A workspace keeps its tunables in ``params.yaml`` (top-level values such as ``seed``) and in
``configs/*.yaml``, one file per concern, each holding sections named after components
(``data:``, ``embed:`` ...). All files are merged; a section may appear in only one file.
Unknown keys and wrong types are errors that name the file and the key.

Each component owns its section's dataclass (defaults, comments, ranges) next to its code:
:mod:`curate.data.config`, :mod:`curate.embed.config`, :mod:`curate.index.config`,
:mod:`curate.model.config`, :mod:`curate.review.config`, :mod:`curate.analysis.config`,
:mod:`curate.selection.config` and the check modules; installed plug-in stages add their own
sections (:func:`curate.pipeline.registry.config_sections`). This module assembles them into
:class:`Config`, loads the files (with the generic binder of :mod:`curate.settings`) and checks
the settings that span sections. The section classes are re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.analysis.config import AnalysisConfig
from curate.checks.label import LabelConfig
from curate.checks.near_duplicate import (
    LEXICAL_COSINE_ONLY_THRESHOLD,
    NEAR_DUPLICATE_THRESHOLDS,
    DuplicatesConfig,
    duplicate_similarity,
    near_duplicate_threshold,
    verifies_word_edits,
)
from curate.checks.outlier import OutlierConfig
from curate.checks.redundancy import (
    REDUNDANCY_THRESHOLDS,
    RedundancyConfig,
    redundancy_threshold,
)
from curate.compute.config import ComputeConfig
from curate.data.config import (
    SPLITS,
    AnnotationsConfig,
    DataConfig,
    Modality,
    SourceConfig,
    SourceFormat,
)
from curate.embed.config import EmbedConfig, ImageEmbedConfig, TextEmbedConfig
from curate.errors import ConfigError
from curate.index.config import IndexConfig
from curate.model.config import EvaluateConfig, PredictConfig
from curate.review.config import ReviewConfig, default_review_weights
from curate.selection.config import ActiveLearningConfig, AugmentationConfig
from curate.settings import InvalidSetting, build, field_type, invalid, read_yaml

__all__ = [
    "CONFIG_FILES",
    "LEXICAL_COSINE_ONLY_THRESHOLD",
    "NEAR_DUPLICATE_THRESHOLDS",
    "REDUNDANCY_THRESHOLDS",
    "SPLITS",
    "ActiveLearningConfig",
    "AnalysisConfig",
    "AnnotationsConfig",
    "AugmentationConfig",
    "Config",
    "DataConfig",
    "DuplicatesConfig",
    "EmbedConfig",
    "EvaluateConfig",
    "ImageEmbedConfig",
    "IndexConfig",
    "LabelConfig",
    "Modality",
    "OutlierConfig",
    "PredictConfig",
    "RedundancyConfig",
    "ReviewConfig",
    "SourceConfig",
    "SourceFormat",
    "TextEmbedConfig",
    "default_review_weights",
    "duplicate_similarity",
    "load_config",
    "near_duplicate_threshold",
    "redundancy_threshold",
    "sections",
    "verifies_word_edits",
]


@dataclass(frozen=True)
class Config:
    """The whole workspace configuration."""

    root: Path
    data: DataConfig
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    duplicates: DuplicatesConfig = field(default_factory=DuplicatesConfig)
    outlier: OutlierConfig = field(default_factory=OutlierConfig)
    redundancy: RedundancyConfig = field(default_factory=RedundancyConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    active_learning: ActiveLearningConfig = field(default_factory=ActiveLearningConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    seed: int = 0
    #: The sections of installed plug-in stages, by name (see :meth:`section`).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def path(self, relative: str | Path) -> Path:
        """Resolve a workspace-relative path."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    def section(self, name: str) -> Any:
        """The bound section ``name``, built-in or a plug-in's (its defaults when no file
        holds it)."""
        if name in _BUILTIN:
            return getattr(self, name)
        if name in self.extra:
            return self.extra[name]
        plugins = _plugin_sections()
        if name in plugins:
            return plugins[name]()
        raise ConfigError(
            f"unknown config section {name!r}. Known sections are: "
            f"{', '.join(sorted({*_BUILTIN, *plugins}))}."
        )


#: Config's own sections, in order, and the names a file may set (the sections and ``seed``).
_SECTIONS = tuple(
    f.name for f in dataclasses.fields(Config) if f.name not in {"root", "seed", "extra"}
)
_BUILTIN = frozenset({*_SECTIONS, "seed"})

CONFIG_FILES = "params.yaml and configs/*.yaml"


def sections() -> dict[str, type]:
    """Section name -> dataclass, for Config's own sections and the plug-ins'."""
    return {**{name: field_type(Config, name) for name in _SECTIONS}, **_plugin_sections()}


def _plugin_sections() -> dict[str, type]:
    from curate.pipeline.registry import config_sections

    return {k: v for k, v in config_sections().items() if k not in _BUILTIN}


def load_config(root: str | Path = ".") -> Config:
    """Load and validate the configuration of the workspace at ``root``."""
    root = Path(root).resolve()
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    files = [root / "params.yaml", *sorted((root / "configs").glob("*.yaml"))]
    for file in files:
        if not file.is_file():
            continue
        for key, value in read_yaml(file).items():
            if key in merged:
                raise ConfigError(
                    f"section '{key}' is defined twice: in {origin[key]} and in {file}. "
                    "Keep each section in one file."
                )
            merged[key] = value
            origin[key] = file
    if "data" not in merged:
        raise ConfigError(
            f"no 'data' section found in {root}/{CONFIG_FILES}. Run `curate init` to create "
            "configs/data.yaml, or add a data section naming your sources."
        )
    plugins = _plugin_sections()
    known = _BUILTIN | set(plugins)
    unknown = sorted(set(merged) - known)
    if unknown:
        where = ", ".join(f"'{k}' in {origin[k]}" for k in unknown)
        raise ConfigError(
            f"unknown config section(s): {where}. Known sections are: {', '.join(sorted(known))}."
        )
    try:
        values = {
            key: build(field_type(Config, key), value, f"{origin[key]}: {key}")
            for key, value in merged.items()
            if key in _BUILTIN
        }
        extra = {
            name: build(cls, merged.get(name, {}), f"{origin.get(name, _file(name))}: {name}")
            for name, cls in plugins.items()
        }
    except ConfigError as exc:
        raise ConfigError(f"{exc} Fix it in that file.") from None
    cfg = Config(root=root, **values, extra=extra)
    try:
        for name in (*_SECTIONS, *extra):
            validate = getattr(cfg.section(name), "validate", None)
            if validate is not None:
                validate(cfg)
        _check_across_sections(cfg)
    except InvalidSetting as exc:
        section = exc.key.split(".")[0]
        raise ConfigError(
            f"{origin.get(section, _file(section))}: {exc.message} Fix it in that file."
        ) from None
    return cfg


def _file(section: str) -> str:
    return f"configs/{section}.yaml"


def _check_across_sections(cfg: Config) -> None:
    """Settings that are valid alone but not with another section's."""
    modality = cfg.data.modality
    members = cfg.predict.members
    if members != "auto" and "lexical_logreg" in members and modality != "text":
        invalid(
            "predict.members",
            f"predict.members lists lexical_logreg, which reads text, but data.modality is "
            f"{modality!r}. Remove it from predict.members (or use auto).",
        )
    if cfg.duplicates.similarity == "lexical" and modality != "text":
        invalid(
            "duplicates.similarity",
            f"duplicates.similarity is 'lexical' but data.modality is {modality!r}; "
            "lexical similarity needs text. Use 'embedding' or 'auto'.",
        )


def __getattr__(name: str) -> Any:
    # REVIEW_KINDS is derived from the registered checks, so it is computed on first use.
    if name == "REVIEW_KINDS":
        return tuple(default_review_weights())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
