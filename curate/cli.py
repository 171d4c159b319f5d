"""The ``curate`` command. Each verb parses options, calls one library function, reports.

This module (with ``curate.stages``) is the only place that maps errors to exit codes:
a :class:`~curate.errors.CurateError` prints its one-paragraph message and exits 2.
"""

from __future__ import annotations

import functools
import importlib
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


#: The pipeline's stages as CLI verbs (what dvc.yaml runs): name -> help text.
STAGES = {
    "ingest": "Stage: read and validate the sources, write the source manifest.",
    "apply": "Stage: apply the review decisions (corrections log) -> the current dataset version.",
    "embed": "Stage: embed the manifest (cached by content hash).",
    "knn": "Stage: build the kNN graph over the embeddings (exact or approximate by size).",
    "predict": "Stage: out-of-sample pred_probs from the reference classifier on the embeddings.",
    "duplicates": "Stage: exact and near duplicates, and leakage across splits.",
    "label": "Stage: find label issues with cleanlab; write issues/label.parquet and the summary.",
    "outliers": "Stage: kNN-distance outlier scores; write issues/outliers.parquet.",
    "redundancy": "Stage: rank training samples for pruning (class quotas, SemDeDup, difficulty).",
    "analysis": "Stage: failure clusters and metadata slices of the reference model's errors.",
    "candidates": "Stage: the active-learning batch from the unlabelled pool.",
    "augment": "Stage: augmentation candidates for rare classes and the top failure clusters.",
    "evaluate": "Stage: train on this version, score the held-out split (metrics with CIs).",
    "queue": "Stage: merge every check's findings into the prioritised review queue.",
    "report": "Stage: the self-contained HTML report of this version (report/index.html).",
}


def _stage_command(name: str, help_text: str) -> None:
    @main.command(name=name, help=help_text)
    @_workspace_option
    @_handle_errors
    def command(workspace: Path) -> None:
        stage = importlib.import_module(f"curate.stages.{name}")
        _echo_json(stage.run(workspace))


for _name, _help in STAGES.items():
    _stage_command(_name, _help)


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

    _echo_json(push_queue(workspace))


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
    table = Table(title="issue counts")
    for c in ("check", "before", "after"):
        table.add_column(c)
    for name, v in result["issues"].items():
        table.add_row(name, str(v["before"]), str(v["after"]))
    console.print(table)


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    metavar="[SPLIT=]PATH",
    help="A data file or image folder; repeat for several. Prefix SPLIT= to put every row of "
    "that source in one split (train, validation, test, unlabeled).",
)
@click.option(
    "--modality",
    type=click.Choice(["text", "image", "tabular", "embedding"]),
    default=None,
    help="Kind of input (default: guessed from the data).",
)
@click.option("--input-column", default=None, help="Column with the text, image path or embedding.")
@click.option("--label-column", default=None, help="Column with the labels.")
@click.option("--no-label", is_flag=True, help="The data has no labels (an unlabelled pool).")
@click.option("--id-column", default=None, help="Column with unique sample ids (optional).")
@click.option("--split-column", default=None, help="Column with train/validation/test/unlabeled.")
@click.option(
    "--feature-column", "feature_columns", multiple=True, help="Tabular feature column; repeat."
)
@click.option(
    "--metadata-column", "metadata_columns", multiple=True, help="Column to carry through; repeat."
)
@click.option("--no-header", is_flag=True, help="CSV/TSV files have no header line.")
@click.option("--column-names", default=None, help="Comma-separated names for a headerless file.")
@click.option(
    "--format",
    "fmt",
    default="auto",
    type=click.Choice(["auto", "csv", "tsv", "parquet", "jsonl", "image_folder"]),
    help="Source format (default: from the file suffix).",
)
@click.option("--force", is_flag=True, help="Overwrite existing dvc.yaml / params.yaml / configs.")
@_handle_errors
def init(
    path: Path,
    data,
    modality,
    input_column,
    label_column,
    no_label,
    id_column,
    split_column,
    feature_columns,
    metadata_columns,
    no_header,
    column_names,
    fmt,
    force,
) -> None:
    """Scaffold a curation workspace at PATH (default: here) around your data.

    Runs `git init` and `dvc init` if needed and writes dvc.yaml, params.yaml and configs/.
    Then run `dvc repro`.
    """
    from curate.scaffold.infer import infer_data_spec
    from curate.scaffold.workspace import init_workspace

    names = [c.strip() for c in column_names.split(",")] if column_names else None
    spec = infer_data_spec(
        path.resolve(),
        data,
        modality=modality,
        input_column=input_column,
        label_column=label_column,
        no_label=no_label,
        id_column=id_column,
        split_column=split_column,
        feature_columns=feature_columns,
        metadata_columns=metadata_columns,
        header=not no_header,
        column_names=names,
        fmt=fmt,
    )
    written = init_workspace(path, spec, force=force)
    root = path.resolve()
    click.echo(f"curate workspace ready in {root}")
    for file in written:
        click.echo(f"  wrote {file.relative_to(root)}")
    inputs = spec.input_column or ", ".join(spec.feature_columns)
    click.echo(
        f"modality: {spec.modality}; input: {inputs}; label: {spec.label_column}; "
        f"id: {spec.id_column or '(from content)'}"
    )
    click.echo("Check configs/data.yaml, then run: dvc repro")


@main.command()
@click.argument(
    "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-workspace")
)
@click.option("--no-repro", is_flag=True, help="Only build the workspace; do not run dvc repro.")
@_handle_errors
def demo(directory: Path, no_repro: bool) -> None:
    """Build a demo workspace from bundled data with planted problems, and run the pipeline."""
    from curate.scaffold.demo import build_demo

    click.echo(f"building the demo workspace in {directory.resolve()} ...", err=True)
    summary = build_demo(directory, repro=not no_repro)
    _report_demo(summary)


def _report_demo(summary: dict) -> None:
    click.echo(f"demo workspace: {summary['workspace']}")
    click.echo("planted problems: " + ", ".join(f"{k}={v}" for k, v in summary["planted"].items()))
    manifest = summary.get("manifest/summary.json")
    if manifest:
        click.echo(
            f"ingest: {manifest['rows']} rows, {manifest['labelled']} labelled, "
            f"{manifest['unlabelled']} unlabelled, splits {manifest['splits']}, "
            f"{manifest['exact_duplicate_rows']} exact-duplicate rows "
            f"(planted: {summary['planted']['exact_duplicates']})"
        )
    emb = summary.get("embeddings/summary.json")
    if emb:
        click.echo(
            f"embed: {emb['rows']} rows -> {emb['dim']}-d ({emb['embedder']}), "
            f"{emb['embedded']} embedded, {emb['cached']} from cache, {emb['seconds']:.1f}s"
        )
    found = summary.get("wrong_labels_found")
    if found:
        click.echo(
            f"label: {found['flagged']} flagged as label issues; planted wrong labels found: "
            f"{found['found']} of {found['planted']} (precision {found['precision']:.2f})"
        )
    dups = summary.get("duplicates_found")
    if dups:
        click.echo(
            f"duplicates: {dups['groups']} groups; planted found: exact "
            f"{dups['exact_duplicates']['found']} of {dups['exact_duplicates']['planted']}, near "
            f"{dups['near_duplicates']['found']} of {dups['near_duplicates']['planted']}"
        )
        click.echo(
            f"leakage: {dups['train_test_leak_groups']} train/test groups; planted test->train "
            f"leaks found: {dups['leaks']['found']} of {dups['leaks']['planted']}"
        )
    outliers = summary.get("issues/outliers_summary.json")
    if outliers:
        click.echo(f"outliers: {outliers['outliers']} flagged (rate {outliers['rate']})")
    red = summary.get("issues/redundancy_summary.json")
    if red:
        click.echo(
            f"redundancy: {red['semantic_duplicates']} semantic duplicates among "
            f"{red['training_samples']} training samples; keep set {red['kept']} "
            f"({red['keep_fraction']:.0%}, keeping {red['keep']} samples)"
        )
    analysis = summary.get("analysis/summary.json")
    if analysis and analysis["top3"]:
        worst = analysis["top3"][0]
        pair = (
            f", mostly '{worst['confused_given']}' taken for '{worst['confused_predicted']}'"
            if worst["confused_given"] is not None
            else ""
        )
        click.echo(
            f"failure clusters: {analysis['clusters']}; weakest: cluster {worst['cluster']} "
            f"({worst['size']} samples, error rate {worst['error_rate']:.2f} vs "
            f"{analysis['error_rate']:.2f} overall{pair}); top 3 error rate "
            f"{analysis['top3_error_rate']:.2f}"
        )
    al = summary.get("candidates/active_learning_summary.json")
    if al:
        click.echo(
            f"active learning: {al['batch_size']} of {al['pool']} pool samples chosen "
            f"(mean {al['uncertainty']} uncertainty {al['mean_uncertainty_batch'] or 0:.2f} vs "
            f"{al['mean_uncertainty_pool'] or 0:.2f} in the pool) in "
            "candidates/active_learning.parquet"
        )
    aug = summary.get("candidates/augmentation_summary.json")
    if aug:
        reasons = ", ".join(f"{k} {v}" for k, v in aug["by_reason"].items())
        click.echo(
            f"augmentation: {aug['rows']} candidates from {aug['parents']} parents ({reasons}) "
            "in candidates/augmentation.parquet"
        )
    ev = summary.get("evaluation/metrics.json")
    if ev and "accuracy" in ev:
        click.echo(
            f"evaluation: reference classifier trained on this version scores accuracy "
            f"{ev['accuracy']:.3f} [{ev['accuracy_ci_low']:.3f}, {ev['accuracy_ci_high']:.3f}] on "
            f"the {ev['split']} split ({ev['eval_rows']} rows)"
        )
    queue = summary.get("review/queue_summary.json")
    if queue:
        kinds = ", ".join(f"{k} {v}" for k, v in queue["queued"].items() if v)
        click.echo(
            f"review queue: {queue['items']} items ({kinds}) in review/queue.parquet; next: "
            "`curate review push` (see README, 'Review loop')"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
