"""Start and stop a throw-away Label Studio server (used by the ``label_studio`` fixture in
``conftest.py`` and by ``benchmarks/review_push.py``).

``running_label_studio(base_dir)`` starts ``label-studio start`` from the running venv on a
free 127.0.0.1 port with ``base_dir/data`` as its ``--data-dir`` (SQLite) and local files
serving rooted at ``base_dir/files``, waits until it is healthy and the API token works, yields
a :class:`LabelStudioServer` and stops the server (its whole process group) on exit.  The
first user and its legacy API token are created by LS itself (``LABEL_STUDIO_USERNAME`` /
``LABEL_STUDIO_PASSWORD`` / ``LABEL_STUDIO_USER_TOKEN`` plus ``--enable-legacy-api-token``).

Startup takes ~35-40 s on 2 cores (database migrations on a fresh data dir dominate).
Set ``CURATE_LS_STARTUP_TIMEOUT`` to change the 180 s limit.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ADMIN_EMAIL = "admin@curate.test"
ADMIN_PASSWORD = "curate-Admin-pw-1"


class LabelStudioStartupError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """preexec_fn: SIGTERM the server if pytest dies without running fixture teardown."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:
            pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(log_path: Path, lines: int = 60) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError as exc:  # pragma: no cover - diagnostics only
        return f"<cannot read {log_path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class LabelStudioServer:
    url: str
    api_key: str
    username: str
    password: str
    data_dir: Path
    files_root: Path
    log_path: Path
    startup_s: float = 0.0

    # -- raw HTTP ---------------------------------------------------------------------------
    def headers(self, api_key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {api_key or self.api_key}"}

    def request(
        self, method: str, path: str, api_key: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """``path`` is relative to the server (``/api/projects/``); raises on HTTP errors."""
        kwargs.setdefault("timeout", 120)
        headers = {**self.headers(api_key), **kwargs.pop("headers", {})}
        resp = requests.request(method, self.url + path, headers=headers, **kwargs)
        if resp.status_code >= 400:
            raise requests.HTTPError(
                f"{method} {path} -> {resp.status_code}: {resp.text[:2000]}", response=resp
            )
        return resp

    def sdk(self, api_key: str | None = None):
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=api_key or self.api_key)

    # -- users ------------------------------------------------------------------------------
    def login_session(
        self, email: str | None = None, password: str | None = None
    ) -> requests.Session:
        """A ``requests.Session`` logged into the web UI (session cookie + csrftoken)."""
        email = email or self.username
        password = password or self.password
        session = requests.Session()
        page = session.get(f"{self.url}/user/login/", timeout=30)
        page.raise_for_status()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        resp = session.post(
            f"{self.url}/user/login/",
            data={"csrfmiddlewaretoken": csrf, "email": email, "password": password},
            headers={"Referer": f"{self.url}/user/login/"},
            timeout=30,
        )
        resp.raise_for_status()
        if session.get(f"{self.url}/api/current-user/whoami", timeout=30).status_code != 200:
            raise RuntimeError(f"login as {email} failed: {resp.url}")
        return session

    def make_user(self, email: str, password: str) -> str:
        """Sign ``email`` up into the admin's organisation via the invite link; return its API key.

        LS 1.23 community: ``GET /api/invite`` gives ``{"token", "invite_url"}``; posting the
        signup form at ``invite_url`` creates the user, adds it to the organisation and logs
        it in; ``GET /api/current-user/token`` then returns its legacy token.
        """
        invite = self.request("GET", "/api/invite").json()
        session = requests.Session()
        signup_url = self.url + invite["invite_url"]
        page = session.get(signup_url, timeout=30)
        page.raise_for_status()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        action = html.unescape(
            re.search(r'id="signup-form"\s+action="([^"]+)"', page.text).group(1)
        )
        resp = session.post(
            self.url + action,
            data={
                "csrfmiddlewaretoken": csrf,
                "email": email,
                "password": password,
                "allow_newsletters": "false",
            },
            headers={"Referer": signup_url},
            timeout=30,
        )
        resp.raise_for_status()
        token = session.get(f"{self.url}/api/current-user/token", timeout=30)
        if token.status_code != 200:
            # signup form re-rendered with errors (e.g. user exists, weak password)
            errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', resp.text)
            raise RuntimeError(f"signup of {email} failed: {errors or resp.text[:500]}")
        return token.json()["token"]

    # -- projects ---------------------------------------------------------------------------
    def create_project(self, label_config: str, title: str | None = None, **fields: Any) -> dict:
        body = {
            "title": title or f"curate-test-{secrets.token_hex(3)}",
            "label_config": label_config,
            **fields,
        }
        return self.request("POST", "/api/projects/", json=body).json()

    def delete_project(self, project_id: int) -> None:
        self.request("DELETE", f"/api/projects/{project_id}/")

    def import_tasks(self, project_id: int, tasks: list[dict]) -> dict:
        """``POST /api/projects/{id}/import`` (synchronous without Redis); returns its JSON
        (``task_count``, ``prediction_count``, ... -- no task ids)."""
        return self.request("POST", f"/api/projects/{project_id}/import", json=tasks).json()

    def add_local_storage(self, project_id: int, subdir: str) -> dict:
        """Register ``files_root/subdir`` as a local-files import storage of the project.

        ``/data/local-files/?d=<path relative to files_root>`` answers 404 unless such a
        storage exists whose ``path`` contains the file (no sync needed).  LS refuses a
        storage at the document root itself, hence the mandatory ``subdir``."""
        if not subdir.strip("/."):
            raise ValueError(
                "LS refuses a local storage at LOCAL_FILES_DOCUMENT_ROOT itself; use a subdir"
            )
        path = self.files_root / subdir
        path.mkdir(parents=True, exist_ok=True)
        body = {
            "project": project_id,
            "path": str(path),
            "title": f"local {subdir}",
            "use_blob_urls": False,
        }
        return self.request("POST", "/api/storages/localfiles/", json=body).json()

    def list_tasks(
        self, project_id: int, page_size: int = 1000, include: str | None = None
    ) -> list[dict]:
        """All tasks of a project via ``GET /api/tasks`` (pages until ``total``).

        ``include="id,data"`` is ~6x faster (5,000 tasks: 2.6 s vs 16 s with full tasks);
        with ``include`` nested annotations/predictions are reduced to ``{"id"}``."""
        tasks: list[dict] = []
        page = 1
        params: dict[str, Any] = {"project": project_id, "page_size": page_size, "fields": "all"}
        if include:
            params["include"] = include
        while True:
            resp = requests.get(
                f"{self.url}/api/tasks",
                params={**params, "page": page},
                headers=self.headers(),
                timeout=120,
            )
            if resp.status_code == 404:  # past the last page
                break
            resp.raise_for_status()
            body = resp.json()
            tasks.extend(body["tasks"])
            if len(tasks) >= body.get("total", 0) or not body["tasks"]:
                break
            page += 1
        return tasks


def _wait_healthy(proc: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabelStudioStartupError(
                f"label-studio exited with code {proc.returncode} during startup; log tail:\n"
                + _log_tail(log_path)
            )
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise LabelStudioStartupError(
        f"label-studio not healthy at {url}/health after {timeout:.0f}s; log tail:\n"
        + _log_tail(log_path)
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=15)


def label_studio_executable() -> Path:
    """``label-studio`` next to the running interpreter (it may not exist)."""
    return Path(sys.executable).parent / "label-studio"


@contextmanager
def running_label_studio(base_dir: Path) -> Iterator[LabelStudioServer]:
    """A fresh Label Studio server whose data, local files and log live in ``base_dir``
    (which must exist); stopped on exit. Raises :class:`LabelStudioStartupError` when the
    executable is missing or the server does not come up."""
    exe = label_studio_executable()
    if not exe.exists():
        raise LabelStudioStartupError(f"label-studio is not installed next to {sys.executable}")
    base = Path(base_dir)
    data_dir = base / "data"
    files_root = base / "files"
    data_dir.mkdir()
    files_root.mkdir()
    log_path = base / "label_studio.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    api_key = secrets.token_hex(20)
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "LABEL_STUDIO_USERNAME": ADMIN_EMAIL,
        "LABEL_STUDIO_PASSWORD": ADMIN_PASSWORD,
        "LABEL_STUDIO_USER_TOKEN": api_key,
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(files_root),
        # webhooks to 127.0.0.1 are refused (at webhook creation) unless this is off
        "SSRF_PROTECTION_ENABLED": "false",
        # skip the GET https://pypi.org/pypi/label-studio/json at startup (10 s timeout offline)
        "LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_HOST": url,
        "PYTHONUNBUFFERED": "1",
    }
    for var in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "DJANGO_DB", "REDIS_LOCATION"):
        env.pop(var, None)
    cmd = [
        str(exe),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--enable-legacy-api-token",
    ]
    timeout = float(os.environ.get("CURATE_LS_STARTUP_TIMEOUT", "180"))
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=base,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    try:
        _wait_healthy(proc, url, log_path, timeout)
        whoami = requests.get(
            f"{url}/api/current-user/whoami",
            headers={"Authorization": f"Token {api_key}"},
            timeout=30,
        )
        if whoami.status_code != 200:
            raise LabelStudioStartupError(
                f"API token rejected ({whoami.status_code}: {whoami.text[:300]}); log tail:\n"
                + _log_tail(log_path)
            )
        server = LabelStudioServer(
            url=url,
            api_key=api_key,
            username=ADMIN_EMAIL,
            password=ADMIN_PASSWORD,
            data_dir=data_dir,
            files_root=files_root,
            log_path=log_path,
            startup_s=time.monotonic() - started,
        )
        yield server
    finally:
        _stop(proc)
