"""`curate review ...` and `curate serve`: the Label Studio loop."""

from __future__ import annotations

from pathlib import Path

import click

from curate.cli import _echo_json, _handle_errors, _workspace_option, main


@main.group()
def review() -> None:
    """The review loop with Label Studio: push the queue, pull the decisions back.

    The server comes from LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY (never from configs).
    """


@review.command()
@_workspace_option
@_handle_errors
def push(workspace: Path) -> None:
    """Push review/queue.parquet to the workspace's Label Studio project (idempotent, resumable)."""
    from curate.review.commands import push_queue

    summary = push_queue(workspace)
    for warning in summary.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)
    _echo_json(summary)


@review.command()
@_workspace_option
@_handle_errors
def pull(workspace: Path) -> None:
    """Append new annotations from Label Studio to the corrections log (review/corrections/)."""
    from curate.review.commands import pull_annotations

    _echo_json(pull_annotations(workspace))


@review.command()
@click.argument("url")
@_workspace_option
@_handle_errors
def webhook(url: str, workspace: Path) -> None:
    """Register URL (where `curate serve` listens, e.g. http://host:8089/webhook) as the
    project's webhook for new and updated annotations. Needs CURATE_WEBHOOK_SECRET."""
    from curate.review.commands import register_webhook

    _echo_json(register_webhook(workspace, url))


@main.command()
@_workspace_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8089, show_default=True, type=int, help="Port to listen on.")
@_handle_errors
def serve(workspace: Path, host: str, port: int) -> None:
    """Receive Label Studio webhooks and append decisions to the corrections log as they come.

    Requests must carry `Authorization: Bearer $CURATE_WEBHOOK_SECRET`.
    """
    from curate.review.commands import serve_webhooks

    serve_webhooks(workspace, host, port, echo=lambda line: click.echo(line, err=True))
