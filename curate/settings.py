"""The generic config binder: YAML values -> frozen dataclasses, and dataclasses -> YAML templates.

Every component owns a frozen dataclass for its section (defaults, ``#:`` field comments and a
``validate(cfg)`` method). This module knows nothing about any section: it converts YAML values
into a dataclass's field types (:func:`build`, errors name the file and the key), reports a
setting out of its range (:func:`invalid`, :func:`check_range`) and renders the commented YAML
template of a section from its dataclass (:func:`render_template`), so a default is written once.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NoReturn, get_args, get_origin

import yaml

from curate.errors import ConfigError

#: Template comments are wrapped to this many columns.
WIDTH = 95


class InvalidSetting(ConfigError):
    """A value outside its range, raised by a section's ``validate``; the loader adds the file
    that holds ``key`` to the message."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def invalid(key: str, message: str) -> NoReturn:
    """Reject the setting ``key`` (dotted, e.g. ``index.k``) with ``message``."""
    raise InvalidSetting(key, message)


def check_range(key: str, value: Any, ok: bool, expected: str) -> None:
    """``key must be <expected>, found <value>.`` unless ``ok``."""
    if not ok:
        invalid(key, f"{key} must be {expected}, found {value}.")


def read_yaml(file: Path) -> dict[str, Any]:
    """The mapping of sections in ``file`` (empty for an empty file)."""
    try:
        loaded = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())  # one paragraph, not PyYAML's multi-line text
        raise ConfigError(
            f"{file} is not valid YAML: {detail}. Fix the syntax and retry."
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{file} must hold a mapping of sections (e.g. 'data:'), found {type(loaded).__name__}."
        )
    return loaded


def field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def build(tp: Any, value: Any, where: str) -> Any:
    """Convert a YAML value into ``tp``, raising ConfigError naming ``where`` on mismatch."""
    origin = get_origin(tp)
    args = get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, found {value!r}.")
        hints = typing.get_type_hints(tp)
        names = [f.name for f in dataclasses.fields(tp)]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}. "
                f"Allowed keys are: {', '.join(names)}."
            )
        missing = [f.name for f in dataclasses.fields(tp) if _required(f) and f.name not in value]
        if missing:
            raise ConfigError(f"{where}: required key(s) missing: {', '.join(missing)}.")
        return tp(**{k: build(hints[k], v, f"{where}.{k}") for k, v in value.items()})
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return build(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: invalid value {value!r}.")
    if origin is Literal:
        if value not in args:
            raise ConfigError(
                f"{where} must be one of: {', '.join(map(str, args))}; found {value!r}."
            )
        return value
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, found {value!r}.")
        return tuple(build(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, found {value!r}.")
        return {
            build(args[0], k, f"{where} key"): build(args[1], v, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, found {value!r}.")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, found {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, found {value!r}.")
        return float(value)
    if tp is str:
        # YAML reads `1` or `yes` as non-strings; class names and split values are strings.
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{where} must be a string, found {value!r}.")
        return str(value)
    raise TypeError(f"unsupported config type {tp!r} at {where}")  # programming error


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def default(f: dataclasses.Field) -> Any:
    """A field's default value (a fresh one for a ``default_factory``)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


@functools.cache
def docs(cls: type) -> tuple[str, dict[str, str]]:
    """(class docstring, field -> its ``#:`` comment) of a dataclass, read from its source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (e.g. defined in a REPL): no comments
        return "", {}
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.ClassDef)
    fields: dict[str, str] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            comment: list[str] = []
            i = stmt.lineno - 2  # the line above the field (lineno is 1-based)
            while i >= 0 and lines[i].strip().startswith("#:"):
                comment.insert(0, lines[i].strip()[2:].strip())
                i -= 1
            if comment:
                fields[stmt.target.id] = " ".join(comment)
    return ast.get_docstring(node) or "", fields


def _plain(text: str) -> str:
    """reST markup -> plain text for YAML comments (``x`` and :role:`x` -> x)."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return re.sub(r"``([^`]+)``", r"\1", text)


def _comment(text: str, indent: str) -> list[str]:
    out: list[str] = []
    for para in _plain(text).split("\n\n"):
        if out:
            out.append(f"{indent}#")
        out += textwrap.wrap(
            " ".join(para.split()),
            WIDTH,
            initial_indent=f"{indent}# ",
            subsequent_indent=f"{indent}# ",
            break_on_hyphens=False,
        )
    return out


def _flow(value: Any) -> str:
    """One YAML value on one line (lists and mappings in flow style)."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, tuple):
        value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False)
    return text.removesuffix("\n...\n").strip()


def _render(cls: type, values: Any, path: str, indent: str, overrides: dict) -> list[str]:
    _, field_docs = docs(cls)
    out: list[str] = []
    for f in dataclasses.fields(cls):
        key = f"{path}.{f.name}" if path else f.name
        if key in overrides:
            value = overrides.pop(key)
        elif values is not None:
            value = getattr(values, f.name)
        elif _required(f):
            raise ValueError(f"{cls.__name__}.{f.name} has no default; pass it in overrides.")
        else:
            value = default(f)
        doc = field_docs.get(f.name) or (docs(type(value))[0] if _is_section(value) else "")
        out += _comment(doc, indent)
        if _is_section(value):
            out.append(f"{indent}{f.name}:")
            out += _render(type(value), value, key, indent + "  ", overrides)
        elif isinstance(value, Mapping) and value:
            out.append(f"{indent}{f.name}:")
            out += [f"{indent}  {_flow(k)}: {_flow(v)}" for k, v in value.items()]
        else:
            out.append(f"{indent}{f.name}: {_flow(value)}")
    return out


def _is_section(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def render_template(section: str, cls: type, overrides: Mapping[str, Any] | None = None) -> str:
    """The commented YAML of section ``section`` holding ``cls``'s defaults.

    The class docstring is the header comment; each field's ``#:`` comment precedes its key.
    ``overrides`` maps dotted keys inside the section (``image.size``) to the value to write
    instead of the default.
    """
    pending = dict(overrides or {})
    header, _ = docs(cls)
    lines = [*_comment(header, ""), f"{section}:", *_render(cls, None, "", "  ", pending)]
    if pending:
        raise KeyError(f"overrides name no field of {cls.__name__}: {', '.join(sorted(pending))}")
    return "\n".join(lines) + "\n"
