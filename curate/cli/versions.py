"""`curate version tag`, `curate diff` and `curate drift`: dataset versions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curate.cli import _echo_json, _handle_errors, _workspace_option, main


@main.group()
def version() -> None:
    """Dataset versions: tag the current one (git tag + data pushed to the DVC remote)."""


@version.command(name="tag")
@click.argument("name")
@click.option("-m", "--message", default=None, help="Tag (and commit) message.")
@_workspace_option
@_handle_errors
def version_tag(name: str, message: str | None, workspace: Path) -> None:
    """Record the workspace's current dataset version as git tag NAME.

    Refuses when the pipeline is not reproduced or files other than its outputs are
    uncommitted; commits dvc.lock and the metrics, pushes the data, creates the tag.
    """
    from curate.versions.versioning import tag_version

    _echo_json(tag_version(workspace, name, message))


@main.command()
@click.option("--reference", required=True, help="A git revision (tag) of the workspace, or a "
              "workspace folder.")  # fmt: skip
@click.option(
    "--current",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new batch: .csv, .tsv, .parquet or .jsonl with the input column.",
)
@click.option("--alpha", default=0.01, show_default=True, help="Significance level.")
@click.option("--fail-on-drift", is_flag=True, help="Exit 1 when drift is significant.")
@_workspace_option
@_handle_errors
def drift(reference: str, current: Path, alpha: float, fail_on_drift: bool, workspace: Path):
    """Compare a new batch with a dataset version: class frequencies, embedding distribution
    (classifier two-sample test) and the regions that grew or shrank."""
    from curate.versions.drift import drift_report

    report = drift_report(workspace, reference, current, alpha=alpha)
    _echo_json(report)
    if report["drift"] and fail_on_drift:
        click.echo("error: significant drift (--fail-on-drift)", err=True)
        sys.exit(1)


@main.command(name="diff")
@click.argument("rev_a")
@click.argument("rev_b")
@click.option("--repo", default=None, help="Repository path or URL (default: this workspace).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@_workspace_option
@_handle_errors
def diff(rev_a: str, rev_b: str, repo: str | None, as_json: bool, workspace: Path) -> None:
    """What changed between two dataset versions (git revisions or tags)."""
    from curate.versions.versioning import diff_versions

    result = diff_versions(rev_a, rev_b, repo or str(workspace.resolve()))
    if as_json:
        _echo_json(result)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows = result["rows"]
    console.print(
        f"[bold]{rev_a} -> {rev_b}[/bold]: {rows['before']} -> {rows['after']} rows; "
        f"{len(result['added'])} added, {len(result['removed'])} removed, "
        f"{len(result['relabelled'])} relabelled, {len(result['moved'])} moved between splits"
    )
    for title, items, cols in (
        ("relabelled", result["relabelled"], ("sample_id", "from", "to")),
        ("moved between splits", result["moved"], ("sample_id", "from", "to")),
    ):
        if items:
            table = Table(title=title)
            for c in cols:
                table.add_column(c)
            for item in items:
                table.add_row(*(str(item[c]) for c in cols))
            console.print(table)
    for title, ids in (("added", result["added"]), ("removed", result["removed"])):
        if ids:
            console.print(f"{title}: " + ", ".join(ids[:50]) + (" ..." if len(ids) > 50 else ""))
    if result["classes"]:
        table = Table(title="class counts that changed")
        for c in ("class", "before", "after"):
            table.add_column(c)
        for cls, v in result["classes"].items():
            table.add_row(cls, str(v["before"]), str(v["after"]))
        console.print(table)
    ev = result.get("evaluation")
    if ev:
        console.print(
            f"evaluation on {ev['split']}: accuracy {ev['accuracy']['before']:.4f} -> "
            f"{ev['accuracy']['after']:.4f} ({ev['accuracy_change']:+.4f}; differences below "
            f"{ev['within_noise_below']:.4f} are within noise): [bold]{ev['verdict']}[/bold]"
        )
        console.print(_evaluation_table(ev))
    table = Table(title="issue counts")
    for c in ("check", "before", "after"):
        table.add_column(c)
    for name, v in result["issues"].items():
        table.add_row(name, str(v["before"]), str(v["after"]))
    console.print(table)


def _evaluation_table(ev: dict):
    """Raw accuracy beside the accuracy without the evaluation split's leaked rows (rows with a
    duplicate in the train split), before and after, and the share of the split leaked."""
    from rich.table import Table

    def number(value, digits: int = 4) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    def without(when: str) -> str:
        low = ev.get("accuracy_without_leaks_ci_low", {}).get(when)
        high = ev.get("accuracy_without_leaks_ci_high", {}).get(when)
        text = number(ev.get("accuracy_without_leaks", {}).get(when))
        return text if low is None or high is None else f"{text} [{low:.4f}, {high:.4f}]"

    def share(when: str) -> str:
        value = ev.get("leak_share", {}).get(when)
        rows = ev.get("leaked_rows", {}).get(when)
        return "n/a" if value is None else f"{value:.1%} ({rows} rows)"

    table = Table(title=f"evaluation on {ev['split']} (leaks: its rows with a duplicate in train)")
    for c in ("metric", "before", "after"):
        table.add_column(c)
    table.add_row("accuracy", number(ev["accuracy"]["before"]), number(ev["accuracy"]["after"]))
    table.add_row("accuracy without leaks", without("before"), without("after"))
    table.add_row(
        "accuracy on leaked rows",
        *(number(ev.get("accuracy_leaked", {}).get(w)) for w in ("before", "after")),
    )
    table.add_row("macro-F1", number(ev["macro_f1"]["before"]), number(ev["macro_f1"]["after"]))
    table.add_row(
        "macro-F1 without leaks",
        *(number(ev.get("macro_f1_without_leaks", {}).get(w)) for w in ("before", "after")),
    )
    table.add_row("leak share", share("before"), share("after"))
    return table
