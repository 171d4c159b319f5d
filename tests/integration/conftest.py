"""A real Label Studio server for the integration tests.

``label_studio`` (session scope) starts ``label-studio start`` from the running venv on a
free 127.0.0.1 port with a throw-away ``--data-dir`` (SQLite) and local files serving rooted
at ``files_root``.  The first user and its legacy API token are created by LS itself
(``LABEL_STUDIO_USERNAME`` / ``LABEL_STUDIO_PASSWORD`` / ``LABEL_STUDIO_USER_TOKEN`` plus
``--enable-legacy-api-token``), so ``Authorization: Token <api_key>`` works with plain
``requests`` and ``LabelStudio(base_url=url, api_key=api_key)`` works with the SDK.  The
start/stop logic and :class:`LabelStudioServer` live in ``tests/integration/server.py``
(``running_label_studio``), which ``benchmarks/review_push.py`` uses too.

``server.make_user(email, password)`` signs a second user up into the same organisation
through the invite link (``GET /api/invite`` -> ``/user/signup/?token=...``) and returns that
user's legacy API token.

Startup takes ~35-40 s on 2 cores (database migrations on a fresh data dir dominate).
Set ``CURATE_LS_STARTUP_TIMEOUT`` to change the 180 s limit.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.server import (  # noqa: F401  (re-exported for existing imports)
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    LabelStudioServer,
    LabelStudioStartupError,
    label_studio_executable,
    running_label_studio,
)


def skip_or_fail(reason: str) -> None:
    """Skip when a real component is missing on a developer machine; fail in CI
    (``CURATE_REQUIRE_INTEGRATION=1``), where a skipped integration test would hide a gap."""
    if os.environ.get("CURATE_REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"{reason} (CURATE_REQUIRE_INTEGRATION=1: integration tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    if not label_studio_executable().exists():
        skip_or_fail(f"label-studio is not installed next to {sys.executable}")
    with running_label_studio(tmp_path_factory.mktemp("label_studio")) as server:
        yield server


@pytest.fixture
def ls_env(label_studio: LabelStudioServer, monkeypatch: pytest.MonkeyPatch) -> LabelStudioServer:
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    return label_studio


@pytest.fixture
def ls_project(label_studio: LabelStudioServer) -> Iterator:
    """Factory: ``ls_project(label_config, **fields) -> project dict``; deleted after the test."""
    created: list[int] = []

    def make(label_config: str, **fields: Any) -> dict:
        project = label_studio.create_project(label_config, **fields)
        created.append(project["id"])
        return project

    yield make
    for pid in created:
        try:
            label_studio.delete_project(pid)
        except requests.RequestException:
            pass


@pytest.fixture
def artifacts_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """``$CURATE_TEST_ARTIFACTS/<test name>`` when set (kept for CI upload), else ``tmp_path``."""
    root = os.environ.get("CURATE_TEST_ARTIFACTS")
    if not root:
        return tmp_path
    out = Path(root) / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    out.mkdir(parents=True, exist_ok=True)
    return out
