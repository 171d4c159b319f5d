"""Checks: one module each, registered by name, one result shape.

Every check returns a per-sample table keyed by ``sample_id`` with ``is_<check>_issue`` and
``<check>_score`` (in [0, 1], lower = worse, the cleanlab convention) plus its own columns, and
a small JSON-able summary. Adding a check is adding a module that calls :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class CheckResult:
    table: pa.Table
    summary: dict[str, Any]


_REGISTRY: dict[str, Callable[..., CheckResult]] = {}


def register(name: str):
    """Decorator: make a check function available under ``name``."""

    def wrap(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        _REGISTRY[name] = fn
        return fn

    return wrap


def _load_builtin() -> None:
    """Import every module of this package: a check module registers itself on import (no
    list of checks is kept by hand)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def get(name: str) -> Callable[..., CheckResult]:
    _load_builtin()
    return _REGISTRY[name]


def names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)
