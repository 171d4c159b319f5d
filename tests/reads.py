"""Record what a stage reads, to compare it with what the stage declares in dvc.yaml.

Files: Python's audit events (``open`` in a read mode, ``os.scandir``/``os.listdir``) plus
pyarrow's Parquet readers (which open files in C++, unseen by the audit hook). Config: every
field read on a config section while the stage runs (config loading itself excluded), recorded
as a dotted key such as ``index.k``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curate.config import Config

#: Workspace paths that are not artifacts: DVC/git internals, the pipeline's own files, config
#: files (their reads are recorded per key instead) and the stages' private caches.
IGNORED = (".dvc", ".git", ".curate", "dvc.yaml", "dvc.lock", "params.yaml", "configs")


@dataclass
class Reads:
    files: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)


_state: dict[str, Any] = {"reads": None, "root": None, "paused": 0}


def _relative(path: Any) -> str | None:
    root = _state["root"]
    try:
        p = Path(os.fsdecode(path))
    except TypeError:
        return None
    if not p.is_absolute():
        p = Path.cwd() / p
    try:
        rel = p.resolve().relative_to(root)
    except ValueError:
        return None
    text = rel.as_posix()
    if text == "." or text.split("/")[0] in IGNORED:
        return None
    return text


def _file_read(path: Any) -> None:
    reads = _state["reads"]
    if reads is None or _state["paused"]:
        return
    rel = _relative(path)
    if rel is not None:
        reads.files.add(rel)


def _audit(event: str, args: tuple) -> None:
    if _state["reads"] is None:
        return
    if event == "open":
        path, mode = args[0], args[1]
        if isinstance(path, int) or mode is None:
            return
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return
        if isinstance(mode, int) and mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            return
        _file_read(path)
    elif event in ("os.scandir", "os.listdir") and args and args[0] is not None:
        _file_read(args[0])


_hooked = False


def _install_audit_hook() -> None:
    global _hooked
    if not _hooked:  # an audit hook cannot be removed: install one, switch it on and off
        sys.addaudithook(_audit)
        _hooked = True


def _section_types(extra: dict[str, type]) -> dict[type, str]:
    """Config dataclass -> its dotted section path (``TextEmbedConfig`` -> ``embed.text``)."""
    found: dict[type, str] = {}

    def walk(tp: Any, path: str) -> None:
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            if tp in found:
                return
            found[tp] = path
            hints = typing.get_type_hints(tp)
            for f in dataclasses.fields(tp):
                walk(hints[f.name], f"{path}.{f.name}")
            return
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType, tuple, list, dict):
            for arg in typing.get_args(tp):
                walk(arg, path)

    hints = typing.get_type_hints(Config)
    for f in dataclasses.fields(Config):
        if f.name in ("root", "extra"):
            continue
        walk(hints[f.name], f.name)
    for name, cls in extra.items():
        walk(cls, name)
    return found


def _recording_getattribute(path: str, names: frozenset[str]):
    def __getattribute__(self, name):  # noqa: N807
        value = object.__getattribute__(self, name)
        reads = _state["reads"]
        if (
            reads is not None
            and not _state["paused"]
            and name in names
            and not (dataclasses.is_dataclass(value) and not isinstance(value, type))
        ):
            reads.keys.add(f"{path}.{name}" if path else name)
        return value

    return __getattribute__


@contextlib.contextmanager
def paused() -> Iterator[None]:
    _state["paused"] += 1
    try:
        yield
    finally:
        _state["paused"] -= 1


@contextlib.contextmanager
def recording(root: Path, stage_modules: list[types.ModuleType], extra: dict[str, type]):
    """Record into the yielded :class:`Reads` what runs inside the block reads under ``root``.
    ``load_config`` as bound in each of ``stage_modules`` runs unrecorded (loading and
    validating the config reads every key)."""
    _install_audit_hook()
    reads = Reads()
    saved: list[tuple[Any, str, Any]] = []

    def patch(obj: Any, name: str, value: Any) -> None:
        saved.append((obj, name, obj.__dict__.get(name, _MISSING)))
        setattr(obj, name, value)

    for cls, path in _section_types(extra).items():
        names = frozenset(f.name for f in dataclasses.fields(cls))
        patch(cls, "__getattribute__", _recording_getattribute(path, names))
    hints = typing.get_type_hints(Config)
    top = frozenset(  # top-level values such as seed (sections are recorded per key)
        f.name
        for f in dataclasses.fields(Config)
        if f.name not in ("root", "extra") and not dataclasses.is_dataclass(hints[f.name])
    )
    patch(Config, "__getattribute__", _recording_getattribute("", top))
    for module in stage_modules:
        original = getattr(module, "load_config", None)
        if original is not None:

            def unrecorded(*args, _original=original, **kwargs):
                with paused():
                    return _original(*args, **kwargs)

            patch(module, "load_config", unrecorded)
    for name in ("read_table", "ParquetFile", "read_schema", "read_metadata"):
        original = getattr(pq, name)

        def reader(source, *args, _original=original, **kwargs):
            if isinstance(source, str | os.PathLike):
                _file_read(source)
            return _original(source, *args, **kwargs)

        patch(pq, name, reader)
    _state.update(reads=reads, root=Path(root).resolve())
    try:
        yield reads
    finally:
        _state.update(reads=None, root=None)
        for obj, name, old in reversed(saved):
            if old is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, old)


_MISSING = object()


def covered(item: str, declared: list[str]) -> bool:
    """Whether ``item`` (a file or a dotted key) is one of ``declared`` or inside one."""
    return any(item == d or item.startswith(d.rstrip("/") + "/") for d in declared) or any(
        item == d or item.startswith(d + ".") for d in declared
    )
