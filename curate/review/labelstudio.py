"""The Label Studio adapter: the only module that imports ``label_studio_sdk``.

:class:`LabelStudioClient` offers the few calls the review loop needs, returns plain dicts,
and turns the SDK's errors into two kinds: :class:`TransientError` (connection errors,
timeouts, 5xx, 429: worth retrying) and :class:`~curate.errors.ReviewError` (everything
else, with a message that says what to do). The API key is never part of a message.

The server and key come only from the environment: ``LABEL_STUDIO_URL`` and
``LABEL_STUDIO_API_KEY`` (a legacy token or a personal access token).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from curate.errors import ReviewError

URL_ENV = "LABEL_STUDIO_URL"
KEY_ENV = "LABEL_STUDIO_API_KEY"

#: Webhook actions curate listens to.
WEBHOOK_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")


class TransientError(Exception):
    """A request that may succeed when repeated (connection lost, 5xx, 429, timeout)."""


def credentials(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(url, api_key)`` from the environment, or a ReviewError naming what is missing."""
    env = os.environ if env is None else env
    url = (env.get(URL_ENV) or "").strip().rstrip("/")
    key = (env.get(KEY_ENV) or "").strip()
    missing = [name for name, value in ((URL_ENV, url), (KEY_ENV, key)) if not value]
    if missing:
        raise ReviewError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. Export "
            f"{URL_ENV} (e.g. http://localhost:8080) and {KEY_ENV} (Label Studio: Account & "
            "Settings -> Personal Access Token, or a legacy token) in the environment; curate "
            "never reads them from config files."
        )
    if not url.startswith(("http://", "https://")):
        raise ReviewError(
            f"{URL_ENV} is {url!r}; expected an http:// or https:// URL such as "
            "http://localhost:8080."
        )
    return url, key


def _model(obj: Any) -> Any:
    """SDK pydantic objects -> plain Python."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "dict"):
        return obj.dict()
    return obj


class LabelStudioClient:
    """Thin, retry-free wrapper over the SDK (the caller decides what to retry)."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 300.0, sdk: Any = None) -> None:
        self.url = url
        if sdk is None:
            from label_studio_sdk import LabelStudio

            try:
                sdk = LabelStudio(base_url=url, api_key=api_key, timeout=timeout, max_retries=0)
            except Exception as exc:  # e.g. a personal access token refused at refresh
                raise self._error(exc, "connect") from None
        self._sdk = sdk

    def __repr__(self) -> str:  # never show the key
        return f"LabelStudioClient(url={self.url!r})"

    # -- error mapping ---------------------------------------------------------------------
    def _error(self, exc: Exception, what: str) -> Exception:
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        if isinstance(exc, httpx.TransportError):
            return TransientError(f"cannot {what}: {type(exc).__name__} talking to {self.url}")
        if isinstance(exc, ApiError):
            status = exc.status_code or 0
            if status >= 500 or status in (408, 429):
                return TransientError(f"cannot {what}: Label Studio answered {status}")
            if status in (401, 403):
                return ReviewError(
                    f"Label Studio at {self.url} rejected the API key in {KEY_ENV} "
                    f"({status}) while trying to {what}. Copy a valid key from Label Studio "
                    "(Account & Settings) into the environment variable and retry."
                )
            detail = _short(exc.body)
            return ReviewError(
                f"Label Studio at {self.url} refused to {what} ({status}: {detail})."
            )
        if isinstance(exc, ReviewError | TransientError):
            return exc
        return ReviewError(f"cannot {what} on Label Studio at {self.url}: {_short(exc)}")

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise self._error(exc, what) from None

    # -- calls -----------------------------------------------------------------------------
    def check(self) -> dict:
        """Who we are: proves the URL and the key work."""
        return _model(self._call("check the API key", self._sdk.users.whoami))

    def find_project(self, title: str) -> dict | None:
        pager = self._call("list projects", self._sdk.projects.list, title=title, page_size=100)
        for project in pager:
            project = _model(project)
            if project.get("title") == title:
                return project
        return None

    def get_project(self, project_id: int) -> dict | None:
        try:
            return _model(self._sdk.projects.get(id=project_id))
        except Exception as exc:
            from label_studio_sdk.core.api_error import ApiError

            if isinstance(exc, ApiError) and exc.status_code == 404:
                return None
            raise self._error(exc, f"read project {project_id}") from None

    def create_project(self, title: str, label_config: str, model_version: str) -> dict:
        return _model(
            self._call(
                "create the project",
                self._sdk.projects.create,
                title=title,
                label_config=label_config,
                description="Review queue pushed by curate (`curate review push`).",
                show_collab_predictions=True,
                model_version=model_version,
            )
        )

    def update_label_config(self, project_id: int, label_config: str) -> dict:
        try:
            return _model(self._sdk.projects.update(id=project_id, label_config=label_config))
        except Exception as exc:
            error = self._error(exc, f"update the labeling config of project {project_id}")
            if isinstance(error, ReviewError):
                raise ReviewError(
                    f"{error} The class list changed since the project was created, and Label "
                    "Studio keeps labels that annotations already use. Set a new "
                    "review.project_title to start a fresh project."
                ) from None
            raise error from None

    def task_count(self, project_id: int) -> int:
        project = self.get_project(project_id)
        if project is None:
            raise ReviewError(f"project {project_id} no longer exists on {self.url}.")
        return int(project.get("task_number") or 0)

    def import_tasks(self, project_id: int, tasks: Sequence[dict]) -> list[int]:
        response = self._call(
            "import tasks",
            self._sdk.projects.import_tasks,
            id=project_id,
            request=list(tasks),
            return_task_ids=True,
            commit_to_project=True,
        )
        ids = _model(response).get("task_ids") or []
        return [int(i) for i in ids]

    def task_keys(self, project_id: int) -> dict[str, int]:
        """``sample_id -> task id`` for every task of the project (one listing of ids and
        data only: about 2.5 s per 5,000 tasks, against 18 s with full task fields)."""
        out: dict[str, int] = {}
        try:
            pager = self._sdk.tasks.list(project=project_id, page_size=1000, include="id,data")
            for task in pager:
                task = _model(task)
                sid = (task.get("data") or {}).get("sample_id")
                if sid is not None:
                    out[str(sid)] = int(task["id"])
        except Exception as exc:
            raise self._error(exc, "list tasks") from None
        return out

    def annotated_tasks(self, project_id: int) -> list[dict]:
        """Every task with at least one annotation, annotations included (the JSON export)."""
        import json

        try:
            chunks = self._sdk.projects.exports.download_sync(
                project_id, export_type="JSON", download_all_tasks=False
            )
            body = b"".join(chunks)
        except Exception as exc:
            raise self._error(exc, "export the annotations") from None
        try:
            tasks = json.loads(body)
        except ValueError:
            raise ReviewError(
                f"Label Studio at {self.url} returned an export that is not JSON; check the "
                "server's log."
            ) from None
        return [t for t in tasks if t.get("annotations")]

    def ensure_local_storage(self, project_id: int, path: str) -> dict:
        """A local-files import storage for ``path`` on the project, so Label Studio serves
        the images under it (``/data/local-files/?d=...``)."""
        existing = [
            _model(s)
            for s in self._call(
                "list local storages", self._sdk.import_storage.local.list, project=project_id
            )
        ]
        for storage in existing:
            if storage.get("path") == path:
                return storage
        return _model(
            self._call(
                "add a local-files storage",
                self._sdk.import_storage.local.create,
                project=project_id,
                path=path,
                title="curate images",
                use_blob_urls=False,
            )
        )

    def users(self) -> dict[int, str]:
        """User id -> email, for naming annotators."""
        users = self._call("list users", self._sdk.users.list)
        return {
            int(u["id"]): str(u.get("email") or u.get("username") or u["id"])
            for u in map(_model, users)
        }

    def upsert_webhook(self, project_id: int, url: str, headers: dict[str, str]) -> dict:
        """Create the project's webhook to ``url``, or update the one already there."""
        existing = [
            _model(w)
            for w in self._call("list webhooks", self._sdk.webhooks.list, project=str(project_id))
        ]
        same = [w for w in existing if w.get("url") == url]
        kwargs = dict(
            url=url,
            project=project_id,
            send_payload=True,
            send_for_all_actions=False,
            actions=list(WEBHOOK_ACTIONS),
            headers=headers,
            is_active=True,
        )
        if same:
            kwargs.pop("project")
            return _model(
                self._call("update the webhook", self._sdk.webhooks.update, same[0]["id"], **kwargs)
            )
        return _model(self._call("create the webhook", self._sdk.webhooks.create, **kwargs))


def _short(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "..."
