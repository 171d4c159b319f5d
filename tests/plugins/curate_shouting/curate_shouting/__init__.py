"""An example curate check in one file: texts written mostly in capital letters.

Everything curate needs is declared here: the config section (``shouting``, with its defaults,
documented field by field, validated in ``validate``), what the stage reads and writes, its
review-queue kind, its report section and the count ``curate diff`` compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from curate import layout
from curate.artifacts import write_json, write_parquet
from curate.config import load_config
from curate.data.manifest import read_manifest
from curate.pipeline import Check, Context
from curate.review.queue import Findings
from curate.settings import invalid

ISSUES = "issues/shouting.parquet"
SUMMARY = "issues/shouting_summary.json"


@dataclass(frozen=True)
class ShoutingConfig:
    """Texts written mostly in capital letters (section ``shouting``)."""

    #: Texts with fewer letters than this are never flagged.
    min_letters: int = 8
    #: A text is flagged when at least this fraction of its letters are capitals.
    upper_fraction: float = 0.7

    def validate(self, cfg) -> None:
        if not 0 < self.upper_fraction <= 1:
            invalid(
                "shouting.upper_fraction",
                f"shouting.upper_fraction must be in (0, 1], found {self.upper_fraction}.",
            )


class Shouting(Check):
    name = "shouting"
    help = "Stage: flag texts written mostly in capital letters."
    config = ShoutingConfig
    deps = (layout.MANIFEST,)
    outs = (ISSUES,)
    metrics = (SUMMARY,)
    review_kinds = {"shouting": 0.5}
    report_reads = (ISSUES,)
    counts = {"shouting texts": (SUMMARY, ("flagged",))}

    def run(self, root: str | Path = ".") -> dict:
        cfg = load_config(root)
        settings = cfg.section(self.name)
        manifest = read_manifest(cfg.path(layout.MANIFEST))
        ids = manifest.column("sample_id").to_pylist()
        texts = manifest.column("input").to_pylist()
        fractions, flags = [], []
        for text in texts:
            letters = [c for c in text or "" if c.isalpha()]
            upper = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
            fractions.append(upper)
            flags.append(len(letters) >= settings.min_letters and upper >= settings.upper_fraction)
        table = pa.table(
            {
                "sample_id": pa.array(ids, pa.string()),
                "is_shouting_issue": pa.array(flags, pa.bool_()),
                "shouting_score": pa.array([1.0 - f for f in fractions], pa.float64()),
            }
        )
        summary = {"rows": len(ids), "flagged": sum(flags)}
        write_parquet(table, cfg.path(ISSUES))
        write_json(summary, cfg.path(SUMMARY))
        return summary

    def findings(self, ctx: Context) -> list[Findings]:
        rows = [r for r in ctx.table(ISSUES, self.name).to_pylist() if r["is_shouting_issue"]]
        return [
            Findings(
                "shouting",
                [r["sample_id"] for r in rows],
                [r["shouting_score"] for r in rows],
                ["written mostly in capital letters" for _ in rows],
            )
        ]

    def report_section(self, ctx: Context) -> str | None:
        rows = [r for r in ctx.rows(ISSUES) if r["is_shouting_issue"]]
        items = "".join(
            f"<tr><td>{ctx.link(r['sample_id'])}</td><td>{ctx.show(r['sample_id'])}</td></tr>"
            for r in rows[:20]
        )
        return (
            f"<h2>Shouting ({len(rows)} texts)</h2><table><tr><th>sample</th><th>text</th></tr>"
            f"{items}</table>"
        )
