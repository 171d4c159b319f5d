"""Suite-wide settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _remotes_outside_home(tmp_path_factory):
    """Default DVC remotes (`curate init`) go to a temporary folder, never the user's data dir."""
    if "CURATE_REMOTES_DIR" in os.environ:
        yield
        return
    os.environ["CURATE_REMOTES_DIR"] = str(tmp_path_factory.mktemp("remotes"))
    try:
        yield
    finally:
        os.environ.pop("CURATE_REMOTES_DIR", None)
