"""Joining the Ray cluster a stage runs on (this module and its ``ray_*`` siblings are the
only ones that import ray)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from curate.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from curate.compute.config import ComputeConfig


def import_ray() -> Any:
    """``ray``, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "compute.backend is 'ray' but ray is not installed. Install the extra "
            '(pip install "curate[ray]") or set compute.backend: local in configs/compute.yaml.'
        ) from None
    return ray


@contextlib.contextmanager
def connected(cfg: ComputeConfig) -> Iterator[Any]:
    """Ray, connected to ``compute.address`` (else ``$RAY_ADDRESS``, else a local cluster
    started for this stage). A connection this call made is closed at the end; one that was
    already open (a test's cluster, a notebook) is left open."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    address = cfg.address or os.environ.get("RAY_ADDRESS") or None
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local cluster"
        raise ConfigError(
            f"cannot connect to the Ray cluster at {where}: {exc}. Check compute.address in "
            "configs/compute.yaml (or RAY_ADDRESS), or set compute.backend: local."
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()
