"""Discovery of the pipeline's stages: built-in and installed plug-ins, the same way.

Every stage is an entry point in the ``curate.stages`` group naming a :class:`Stage` subclass
(curate's own are in its ``pyproject.toml``). A package that declares one::

    [project.entry-points."curate.stages"]
    toxicity = "my_package.toxicity:Toxicity"

adds its stage to ``dvc.yaml`` (``curate init``), the ``curate`` verbs, the config sections,
the review queue, the report and ``curate diff``, with no edit to curate.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, distributions

from curate.errors import ConfigError
from curate.pipeline.stage import Stage

GROUP = "curate.stages"
#: CLI verbs that are not stages; a stage may not take one of these names.
RESERVED = frozenset(
    {"init", "demo", "review", "serve", "version", "diff", "drift", "status", "load", "help"}
)


def _entry_points() -> list[EntryPoint]:
    """The group's entry points of every distribution on the path. Not
    ``importlib.metadata.entry_points``: it keeps one distribution per name, so a stale
    ``curate.egg-info`` in the working directory would hide the installed stages."""
    return [ep for dist in distributions() for ep in dist.entry_points if ep.group == GROUP]


@functools.cache
def stages() -> tuple[Stage, ...]:
    """Every registered stage, in pipeline order (``order``, then name)."""
    found: dict[str, Stage] = {}
    origin: dict[str, str] = {}
    for ep in _entry_points():
        where = f"entry point {ep.name!r} = {ep.value!r} (group {GROUP})"
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plug-in must say which one, not crash the CLI
            raise ConfigError(
                f"cannot load the stage of {where}: {type(exc).__name__}: {exc}. Fix or "
                "uninstall that package."
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, Stage)):
            raise ConfigError(f"{where} is not a curate.pipeline.Stage subclass.")
        stage = cls()
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"{where}: its `name` must be an identifier, found {name!r}.")
        if name in RESERVED:
            raise ConfigError(f"{where}: the name {name!r} is a curate command; rename it.")
        if name in found:
            if origin[name] == ep.value:
                continue  # the same distribution seen twice on sys.path
            raise ConfigError(
                f"two stages are named {name!r}: {origin[name]} and {ep.value}. Uninstall or "
                "rename one."
            )
        found[name] = stage
        origin[name] = ep.value
    if "ingest" not in found:
        raise ConfigError(
            f"no curate stages are registered (entry-point group {GROUP}): the installation "
            "is incomplete. Reinstall curate (`pip install -e .` in its checkout, or `make "
            "install`)."
        )
    return tuple(sorted(found.values(), key=lambda s: (s.order, s.name)))


def get(name: str) -> Stage:
    for stage in stages():
        if stage.name == name:
            return stage
    raise KeyError(name)


def checks() -> list[Stage]:
    """The stages that report findings to the review queue."""
    return [s for s in stages() if s.review_kinds]


def config_sections() -> dict[str, type]:
    """Config section -> dataclass for registered stages whose section is not one of
    :class:`curate.config.Config`'s own fields (the plug-ins' sections)."""
    import dataclasses

    from curate.config import Config

    builtin = {f.name for f in dataclasses.fields(Config)}
    out: dict[str, type] = {}
    for stage in stages():
        section = stage.section_name()
        if section and section not in builtin:
            out[section] = stage.config  # type: ignore[assignment]
    return out


def review_kinds() -> dict[str, float]:
    """Review-queue kind -> default priority weight, highest weight first (ties by name): the
    order also breaks ties between a sample's kinds of equal priority."""
    kinds: dict[str, float] = {}
    for stage in stages():
        for kind, weight in stage.review_kinds.items():
            if kind in kinds:
                raise ConfigError(
                    f"review kind {kind!r} is reported by two stages; each stage needs its own."
                )
            kinds[kind] = weight
    return dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def counts() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Label -> (metrics file, keys) of every stage's headline counts, in pipeline order."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for stage in stages():
        out.update(stage.counts)
    return out
