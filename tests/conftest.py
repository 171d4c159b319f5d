"""Suite-wide settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _session_env(name: str, folder: Path):
    """Set ``name`` to ``folder`` for the test run unless the caller already set it."""
    if name in os.environ:
        yield
        return
    os.environ[name] = str(folder)
    try:
        yield
    finally:
        os.environ.pop(name, None)


@pytest.fixture(scope="session", autouse=True)
def _remotes_outside_home(tmp_path_factory):
    """Default DVC remotes (`curate init`) go to a temporary folder, never the user's data dir."""
    yield from _session_env("CURATE_REMOTES_DIR", tmp_path_factory.mktemp("remotes"))


@pytest.fixture(scope="session", autouse=True)
def _one_model_export_per_run(tmp_path_factory):
    """ONNX exports of the text model (embed.text.backend) are built once per test run and shared
    by every workspace, as ``$CURATE_MODEL_CACHE`` shares them on a user's machine; the tests of
    the export itself point it elsewhere."""
    yield from _session_env("CURATE_MODEL_CACHE", tmp_path_factory.mktemp("model-exports"))
