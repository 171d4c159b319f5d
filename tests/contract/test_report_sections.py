"""Every registered check that reports findings has a report section: the report asks each
stage for its section (no second list of checks in the report code)."""

from __future__ import annotations

from curate.pipeline import Check, Stage, registry


def without_section(stages) -> list[str]:
    """The stages that report review findings but do not define a report section."""
    return [
        s.name for s in stages if s.review_kinds and type(s).report_section is Stage.report_section
    ]


def test_every_registered_check_with_findings_has_a_report_section() -> None:
    stages = registry.stages()
    assert {s.name for s in stages if s.review_kinds} >= {"label", "duplicates", "outliers"}
    assert without_section(stages) == []


def test_a_check_with_findings_but_no_section_is_caught() -> None:
    class Silent(Check):
        name = "silent"
        review_kinds = {"silent": 0.1}

    assert without_section([*registry.stages(), Silent()]) == ["silent"]
