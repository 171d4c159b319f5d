"""The ``curate`` command. Each verb parses options, calls one library function, reports.

The stage verbs come from the registered stages; the other verbs live in ``review``,
``versions`` and ``scaffold`` beside this module.

This module (with ``curate.stages``) is the only place that maps errors to exit codes:
a :class:`~curate.errors.CurateError` prints its one-paragraph message and exits 2.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from curate.errors import CurateError


def _handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CurateError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted; artifacts already written are intact.", err=True)
            sys.exit(130)

    return wrapper


def _echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="curate")
def main() -> None:
    """curate: find and fix problems in ML datasets, as a versioned DVC pipeline."""


_workspace_option = click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Workspace root (holds dvc.yaml, params.yaml, configs/).",
)


def _stage_command(stage) -> None:
    @main.command(name=stage.name, help=stage.help or f"Stage: {stage.name}.")
    @_workspace_option
    @_handle_errors
    def command(workspace: Path) -> None:
        _echo_json(stage.run(workspace))


def _register_stage_commands() -> None:
    """One verb per registered stage (what dvc.yaml runs), plug-ins included."""
    from curate.pipeline import registry

    try:
        stages = registry.stages()
    except CurateError as exc:  # a broken plug-in: the other verbs still work and say why
        click.echo(f"error: {exc}", err=True)
        return
    for stage in stages:
        _stage_command(stage)


_register_stage_commands()


# The other verbs register themselves on `main` when imported.
from curate.cli import review, scaffold, versions  # noqa: E402, F401
