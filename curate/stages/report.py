"""Stage ``report``: the self-contained HTML report of this version (``report/index.html``)."""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.artifacts import write_text
from curate.config import load_config
from curate.pipeline.stage import Stage
from curate.report.page import build_report


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    page = build_report(cfg.root, cfg.data.modality)
    write_text(page, cfg.path(layout.REPORT))
    return {"report": layout.REPORT, "bytes": len(page.encode())}


class Report(Stage):
    name = "report"
    help = "Stage: the self-contained HTML report of this version (report/index.html)."
    order = 95
    deps = (layout.MANIFEST, layout.MANIFEST_SUMMARY)
    params = ("data.modality",)
    outs = (layout.REPORT,)
    run = staticmethod(run)
