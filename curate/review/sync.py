"""Push the review queue to Label Studio and pull decisions back (``curate review push/pull``).

Push is idempotent and resumable:

* one task per ``sample_id`` and project; a sample already in the project is never pushed
  again, so re-pushing an unchanged queue creates no task;
* tasks go in chunks (``review.chunk_size``); after each chunk the sample -> task ids are
  recorded in ``review/push_state.json`` (atomically), so an interrupted push (connection
  lost, server error, Ctrl-C) resumes with the next chunk;
* the server is the truth: when its task count differs from the record (a chunk that landed
  just as the connection dropped, tasks added by hand), the project's tasks are listed once
  and the record rebuilt before anything is imported;
* transient errors (connection, timeout, 5xx, 429) are retried with exponential backoff; after
  a failed attempt the task count shows whether the chunk landed, so it is never imported
  twice. A permanent error stops with a message and the record of what was pushed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from curate.artifacts import write_json
from curate.config import Config
from curate.errors import ReviewError
from curate.progress import progress
from curate.review import tasks as ls_tasks
from curate.review.corrections import CorrectionsLog, resolve
from curate.review.labelstudio import LabelStudioClient, TransientError


@dataclass
class PushState:
    """What has been pushed where (``review/push_state.json``; holds no secret). The report
    links each pushed sample to its task from it (:mod:`curate.review.links`)."""

    url: str
    project_id: int
    project_title: str
    pushed: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> PushState | None:
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text())
            return cls(
                url=str(raw["url"]),
                project_id=int(raw["project_id"]),
                project_title=str(raw["project_title"]),
                pushed={str(k): v for k, v in raw["pushed"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReviewError(
                f"{path} is not a valid push record ({type(exc).__name__}: {exc}). Delete it; "
                "the next push rebuilds it from the Label Studio project."
            ) from None

    def save(self, path: Path) -> None:
        # Not dataclasses.asdict: it deep-copies the (large) pushed map on every chunk.
        record = {"url": self.url, "project_id": self.project_id,
                  "project_title": self.project_title, "pushed": self.pushed}  # fmt: skip
        write_json(record, path)


def _with_retries(what: str, fn: Callable, retries: int, sleep: Callable[[float], None]):
    delay = 1.0
    for attempt in range(1, retries + 1):
        try:
            return fn()
        except TransientError as exc:
            if attempt == retries:
                raise ReviewError(f"{exc}; gave up after {retries} attempts ({what}).") from None
            sleep(delay)
            delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")


def ensure_project(
    cfg: Config,
    client: LabelStudioClient,
    classes: list[str],
    state: PushState | None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """The workspace's project: the one recorded in the push state, else the one titled
    ``review.project_title``, else a new one."""
    title = cfg.review.project_title
    retries = cfg.review.retries
    project = None
    if state is not None and state.url == client.url:
        project = _with_retries(
            "read the project", lambda: client.get_project(state.project_id), retries, sleep
        )
    if project is None:
        project = _with_retries(
            "find the project", lambda: client.find_project(title), retries, sleep
        )
    config = ls_tasks.labeling_config(cfg.data.modality, classes)
    if project is None:
        project = client.create_project(title, config, cfg.review.model_version)
    elif (project.get("label_config") or "").strip() != config.strip():
        # The class list (or curate's interface) changed since the project was made.
        project = client.update_label_config(int(project["id"]), config)
    return project


def _input_ref(cfg: Config, value: str | None) -> str:
    if cfg.data.modality != "image":
        return "" if value is None else str(value)
    path = cfg.path(value)
    if not path.is_file():
        raise ReviewError(
            f"image {path} (in the manifest) does not exist; cannot push it for review. "
            "Restore the file or re-run `dvc repro`."
        )
    files_root = cfg.path(cfg.review.local_files_root) if cfg.review.local_files_root else None
    try:
        return ls_tasks.image_reference(path, cfg.review.images, files_root)
    except ValueError:
        raise ReviewError(
            f"image {path} is not under review.local_files_root ({files_root}); Label Studio "
            "can only serve files below its LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT. Set "
            "review.local_files_root to a folder that contains the images, or use images: inline."
        ) from None


def _image_folder(cfg: Config, inputs: list[str]) -> Path:
    """The folder Label Studio must serve: the images' common folder, strictly below
    ``review.local_files_root`` (Label Studio refuses a storage at the root itself)."""
    import os

    root = cfg.path(cfg.review.local_files_root).resolve()
    folder = Path(os.path.commonpath([str(cfg.path(p).resolve().parent) for p in inputs]))
    if folder == root or root not in folder.parents:
        raise ReviewError(
            f"the images are in {folder}, which is not a subfolder of review.local_files_root "
            f"({root}). Label Studio serves local files from a storage strictly below its "
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT: keep the images in a subfolder of it, or "
            "set review.images: inline."
        )
    return folder


def push(
    cfg: Config,
    queue: pa.Table,
    classes: list[str],
    client: LabelStudioClient,
    state_path: Path,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Push ``queue`` (``review/queue.parquet``) to the workspace's project; see the module
    docstring. Returns a report."""
    retries = cfg.review.retries
    state = PushState.load(state_path)
    project = ensure_project(cfg, client, classes, state, sleep)
    pid = int(project["id"])
    if state is None or state.url != client.url or state.project_id != pid:
        state = PushState(url=client.url, project_id=pid, project_title=project["title"])
    on_server = _with_retries("count tasks", lambda: client.task_count(pid), retries, sleep)
    rebuilt = False
    if on_server != len(state.pushed):
        state.pushed = dict(
            _with_retries("list tasks", lambda: client.task_keys(pid), retries, sleep)
        )
        rebuilt = True
    state.save(state_path)

    items = [row for row in queue.to_pylist() if row["sample_id"] not in state.pushed]
    if items and cfg.data.modality == "image" and cfg.review.images == "local_files":
        folder = _image_folder(cfg, [row["input"] for row in items])
        _with_retries(
            "add a local-files storage",
            lambda: client.ensure_local_storage(pid, str(folder)),
            retries,
            sleep,
        )
    already = queue.num_rows - len(items)
    size = cfg.review.chunk_size
    model_version = cfg.review.model_version
    pushed_now = chunks = 0
    with progress("pushing to Label Studio", len(items)) as bar:
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            payload = [
                ls_tasks.task_for(
                    row, cfg.data.modality, _input_ref(cfg, row["input"]), model_version
                )
                for row in chunk
            ]
            try:
                keys = [row["sample_id"] for row in chunk]
                _import_chunk(client, pid, keys, payload, state, retries, sleep)
            except ReviewError as exc:
                state.save(state_path)
                raise ReviewError(
                    f"push stopped: {exc} {len(state.pushed)} tasks are in project {pid} and "
                    f"recorded in {state_path}; run `curate review push` again to resume."
                ) from None
            state.save(state_path)
            pushed_now += len(chunk)
            chunks += 1
            bar.advance(len(chunk))
    return {
        "project_id": pid,
        "project_url": f"{client.url}/projects/{pid}/data",
        "queue_items": queue.num_rows,
        "already_in_project": already,
        "pushed": pushed_now,
        "chunks": chunks,
        "tasks_in_project": len(state.pushed),
        "record_rebuilt_from_server": rebuilt,
    }


def _import_chunk(client, pid, keys, payload, state, retries, sleep) -> None:
    """Import one chunk, recording ``sample_id -> task id`` in ``state.pushed``. After a
    transient failure the server's task count shows whether the chunk landed anyway; only
    what is not on the server is imported again."""
    delay = 1.0
    pending = dict(zip(keys, payload, strict=True))
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        before = len(state.pushed)
        try:
            ids = client.import_tasks(pid, list(pending.values()))
            if len(ids) == len(pending):
                state.pushed.update(zip(pending, ids, strict=True))
            else:
                state.pushed.update(dict.fromkeys(pending))
            return
        except TransientError as exc:
            last = exc
        if attempt == retries:
            break
        sleep(delay)
        delay = min(delay * 2, 30.0)
        try:
            if client.task_count(pid) == before:
                continue  # nothing landed: retry the chunk
            found = client.task_keys(pid)
        except TransientError as exc:
            last = exc
            continue
        state.pushed.update(found)  # the server is the truth, including what just landed
        pending = {k: v for k, v in pending.items() if k not in found}
        if not pending:
            return
    raise ReviewError(f"{last}; gave up after {retries} attempts (import tasks).")


def pull(cfg: Config, client: LabelStudioClient, state_path: Path, log: CorrectionsLog) -> dict:
    """Append every annotation of the workspace's project that the log lacks."""
    retries = cfg.review.retries
    state = PushState.load(state_path)
    project = None
    if state is not None and state.url == client.url:
        project = _with_retries(
            "read the project", lambda: client.get_project(state.project_id), retries, time.sleep
        )
    if project is None:
        project = _with_retries(
            "find the project",
            lambda: client.find_project(cfg.review.project_title),
            retries,
            time.sleep,
        )
    if project is None:
        raise ReviewError(
            f"no Label Studio project titled {cfg.review.project_title!r} on {client.url}. "
            "Run `curate review push` first (or set review.project_title)."
        )
    pid = int(project["id"])
    tasks = _with_retries(
        "list annotated tasks", lambda: client.annotated_tasks(pid), retries, time.sleep
    )
    users = None
    rows, ignored = [], 0
    for task in tasks:
        if not isinstance(task.get("data"), dict) or "sample_id" not in task["data"]:
            ignored += len(task.get("annotations") or [])
            continue
        for annotation in task.get("annotations") or []:
            if not isinstance(annotation.get("completed_by"), dict) and users is None:
                users = _with_retries("list users", client.users, retries, time.sleep)
            rows.append(ls_tasks.correction_row(annotation, task, pid, "pull", users))
    result = log.append(rows)
    decisions = resolve(log.read())
    conflicts = [d.sample_id for d in decisions if d.status == "conflict"]
    return {
        "project_id": pid,
        "annotations_seen": len(rows),
        "added": result.added,
        "already_logged": result.already_logged,
        "superseding": result.superseding,
        "ignored_not_curate_tasks": ignored,
        "samples_decided": sum(d.status == "decided" for d in decisions),
        "conflicts": conflicts,
    }
