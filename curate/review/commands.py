"""The review verbs as library functions (``curate review push/pull/webhook``, ``curate serve``).

Each loads the workspace, connects to Label Studio from the environment and calls one
function of :mod:`curate.review.sync` or :mod:`curate.review.serve`. After a push the
workspace's report, when there is one, is re-rendered so that it links to the pushed tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from curate import layout
from curate.config import load_config
from curate.data.manifest import read_artifact
from curate.errors import ReviewError
from curate.model.predict import classes_of
from curate.review.corrections import CorrectionsLog
from curate.review.labelstudio import LabelStudioClient, credentials
from curate.review.serve import SECRET_ENV, make_server
from curate.review.sync import PushState, ensure_project, pull, push


def connect(env: Mapping[str, str] | None = None) -> LabelStudioClient:
    """A client for the server in the environment, after checking that the key works."""
    url, key = credentials(env)
    client = LabelStudioClient(url, key)
    try:
        client.check()
    except ReviewError:
        raise
    except Exception as exc:  # TransientError: the server is not reachable
        raise ReviewError(
            f"cannot reach Label Studio at {url} ({exc}). Is the server running, and is "
            "LABEL_STUDIO_URL right?"
        ) from None
    return client


def push_queue(workspace: str | Path, client: LabelStudioClient | None = None) -> dict:
    cfg = load_config(workspace)
    queue = read_artifact(cfg.path(layout.REVIEW_QUEUE), "queue")
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict", columns=["sample_id"])
    classes = list(classes_of(predictions))
    report = push(cfg, queue, classes, client or connect(), cfg.path(layout.PUSH_STATE))
    report.update(refresh_report(cfg.root))
    return report


def refresh_report(workspace: str | Path) -> dict:
    """Re-render ``report/index.html``, when there is one, so that it links the pushed samples to
    their Label Studio tasks without a ``dvc repro``. A failure is reported, never raised: the
    push it follows has succeeded."""
    if not Path(workspace, layout.REPORT).is_file():
        return {"report": "absent"}
    from curate.stages import report

    try:
        report.run(workspace)
    except Exception as exc:  # the push stands whatever the report does
        return {
            "report": "not refreshed",
            "warnings": [
                f"{layout.REPORT} was not refreshed ({type(exc).__name__}: {exc}); the push "
                "succeeded. Run `curate report` to re-render it with the links to Label Studio."
            ],
        }
    return {"report": "refreshed"}


def pull_annotations(workspace: str | Path, client: LabelStudioClient | None = None) -> dict:
    cfg = load_config(workspace)
    log = CorrectionsLog(cfg.path(layout.CORRECTIONS))
    report = pull(cfg, client or connect(), cfg.path(layout.PUSH_STATE), log)
    report["pending_parts"] = len(log.pending())
    report["next"] = "commit review/corrections/ and run `dvc repro` to apply the decisions"
    if report["pending_parts"]:
        report["next"] = (
            "a `dvc repro` is running apply: the new decisions wait in "
            f"{log.pending_dir} and join the log when it ends (run `curate review pull` "
            "again then); after that commit review/corrections/ and run `dvc repro`"
        )
    return report


def _secret(env: Mapping[str, str] | None = None) -> str:
    secret = (os.environ if env is None else env).get(SECRET_ENV, "")
    if len(secret) < 16:
        raise ReviewError(
            f"{SECRET_ENV} is {'not set' if not secret else 'shorter than 16 characters'}. "
            f"Export a random secret, e.g. `export {SECRET_ENV}=$(openssl rand -hex 24)`, in "
            "the environment of both `curate serve` and `curate review webhook`."
        )
    return secret


def register_webhook(
    workspace: str | Path, url: str, client: LabelStudioClient | None = None
) -> dict:
    cfg = load_config(workspace)
    secret = _secret()
    client = client or connect()
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict", columns=["sample_id"])
    state = PushState.load(cfg.path(layout.PUSH_STATE))
    project = ensure_project(cfg, client, list(classes_of(predictions)), state)
    hook = client.upsert_webhook(int(project["id"]), url, {"Authorization": f"Bearer {secret}"})
    return {
        "project_id": project["id"],
        "webhook_id": hook.get("id"),
        "url": url,
        "actions": hook.get("actions"),
    }


def serve_webhooks(
    workspace: str | Path, host: str, port: int, echo: Callable[[str], None] = print
) -> None:
    import logging

    cfg = load_config(workspace)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" notes
    server = make_server(cfg.path(layout.CORRECTIONS), _secret(), host, port, echo=echo)
    address = f"http://{server.server_address[0]}:{server.server_address[1]}/webhook"
    echo(f"curate serve: listening on {address}; appending to {cfg.path(layout.CORRECTIONS)}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
