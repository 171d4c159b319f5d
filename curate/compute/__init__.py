"""Where the heavy stages run: ``local`` (this process; the default, no Ray needed) or ``ray``
(an existing Ray cluster, or a local one). Both write the same artifacts. Only the modules
``curate.compute.ray_*`` import ray, and only when the backend is ``ray``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config


def uses_ray(cfg: Config) -> bool:
    """Whether the workspace's heavy stages run on Ray (``compute.backend: ray``)."""
    return cfg.compute.backend == "ray"
