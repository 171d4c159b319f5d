"""`curate init` and `curate demo`: creating workspaces."""

from __future__ import annotations

from pathlib import Path

import click

from curate.cli import _handle_errors, main


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
