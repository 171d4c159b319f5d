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


@pytest.fixture(scope="session", autouse=True)
def _one_model_export_per_run(tmp_path_factory):
    """ONNX exports of the text model (embed.text.backend) are built once per test run and shared
    by every workspace, as ``$CURATE_MODEL_CACHE`` shares them on a user's machine; the tests of
    the export itself point it elsewhere."""
    if "CURATE_MODEL_CACHE" in os.environ:
        yield
        return
    os.environ["CURATE_MODEL_CACHE"] = str(tmp_path_factory.mktemp("model-exports"))
    try:
        yield
    finally:
        os.environ.pop("CURATE_MODEL_CACHE", None)
