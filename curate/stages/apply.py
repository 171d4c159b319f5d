"""Stage ``apply``: source manifest + corrections log -> the current dataset version.

Writes ``manifest/manifest.parquet`` (what every later stage reads), ``manifest/removed.parquet``
(removed rows with the reason), ``manifest/changes.parquet`` (one row per reviewed sample) and
``manifest/changelog.json``. With an empty log the manifest equals the source manifest.
"""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import load_config
from curate.data.manifest import read_artifact
from curate.pipeline.stage import Stage
from curate.review.apply import apply_decisions
from curate.review.corrections import CorrectionsLog, resolve


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    source = read_artifact(cfg.path(layout.SOURCE_MANIFEST), "ingest")
    corrections = CorrectionsLog(cfg.path(layout.CORRECTIONS))
    # Parts staged while an earlier run held the log join now, before the log is read: DVC
    # hashes the folder for dvc.lock after this command, so what is read is what is recorded.
    corrections.publish_pending(within_run=True)
    log = corrections.read()
    classes = cfg.data.classes or sorted(
        {lab for lab in source.column("label").to_pylist() if lab is not None}
    )
    applied = apply_decisions(
        source,
        resolve(log),
        classes,
        labelled_pool_split=cfg.review.labelled_pool_split,
        log_entries=log.num_rows,
    )
    write_parquet(applied.removed, cfg.path(layout.REMOVED))
    write_parquet(applied.changes, cfg.path(layout.CHANGES))
    write_json(applied.changelog, cfg.path(layout.CHANGELOG))
    write_parquet(applied.manifest, cfg.path(layout.MANIFEST))  # last: the version itself
    return {k: (v["count"] if isinstance(v, dict) else v) for k, v in applied.changelog.items()}


class Apply(Stage):
    name = "apply"
    help = "Stage: apply the review decisions (corrections log) -> the current dataset version."
    order = 20
    deps = (layout.SOURCE_MANIFEST, layout.CORRECTIONS)
    params = ("review.labelled_pool_split", "data.classes")
    outs = (layout.MANIFEST, layout.REMOVED, layout.CHANGES)
    metrics = (layout.CHANGELOG,)
    report_reads = (layout.CHANGELOG,)
    report_order = 99  # what review changed: last

    def report_section(self, ctx):
        from curate.report.sections import changes_section

        return changes_section(ctx)

    def headlines(self, ctx):
        from curate.report.headlines import changes_headlines

        return changes_headlines(ctx)

    run = staticmethod(run)
