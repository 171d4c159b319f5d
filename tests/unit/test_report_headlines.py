"""The report's first screen: findings ranked by impact, each with its number and what to do."""

from __future__ import annotations

import json
from pathlib import Path

from curate import layout
from curate.report.page import build_report


def write(root: Path, rel: str, data: dict) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(json.dumps(data))


EVAL = {"accuracy": 0.908, "accuracy_ci_low": 0.898, "accuracy_ci_high": 0.918, "split": "test",
        "eval_rows": 3080, "macro_f1": 0.9}  # fmt: skip
LEAKS = {"leaked_rows": 416, "leak_share": 416 / 3080, "accuracy_leaked": 0.945,
         "accuracy_without_leaks": 0.902, "accuracy_without_leaks_ci_low": 0.891,
         "accuracy_without_leaks_ci_high": 0.913}  # fmt: skip


def headlines(page: str) -> list[str]:
    block = page.split("<ol class='headlines'>")[1].split("</ol>")[0]
    return [item.split("</li>")[0] for item in block.split("<li>")[1:]]


def test_leaked_test_rows_come_first_with_both_accuracies(tmp_path: Path) -> None:
    write(tmp_path, layout.EVALUATION, {**EVAL, **LEAKS})
    write(tmp_path, layout.MANIFEST_SUMMARY, {"rows": 13083})
    leakage = {"boundaries": {"train-test": {"groups": 350, "fraction_of_test": 0.135}}}
    write(tmp_path, layout.DUPLICATES_SUMMARY, {
        "near_duplicate": {"groups": 700, "samples_in_groups": 1730},
        "exact_duplicate": {"copies": 0}, "leakage": leakage})  # fmt: skip
    write(tmp_path, layout.OUTLIERS_SUMMARY, {"outliers": 262})
    items = headlines(build_report(tmp_path, "text"))
    first = items[0]
    assert "13.5% of the test split (416 of 3,080 rows)" in first
    assert "0.908" in first and "0.902" in first and "0.945" in first
    # Ranked by impact: leakage, then the copies (7.9% of rows), then the outliers (2.0%).
    assert "are copies" in items[1] and "outliers" in items[2]
    # The train-test boundary is the evaluation's headline, not repeated by the duplicates.
    assert sum("train-test" in item for item in items) == 0


def test_no_leak_claim_without_the_leak_measurement(tmp_path: Path) -> None:
    write(tmp_path, layout.EVALUATION, EVAL)  # an evaluation written before leaks were scored
    items = headlines(build_report(tmp_path, "text"))
    assert len(items) == 1 and "0.908" in items[0]
    assert "duplicates the training data" not in items[0]
    write(tmp_path, layout.EVALUATION, {**EVAL, **LEAKS, "leaked_rows": 0, "leak_share": 0.0})
    assert (
        "no test row duplicates the training data" in headlines(build_report(tmp_path, "text"))[0]
    )


def test_hostile_class_names_are_escaped_in_headlines(tmp_path: Path) -> None:
    write(tmp_path, layout.LABEL_SUMMARY, {"confused_pairs": [
        {"classes": ["<script>x</script>", "b"], "joint_probability": 0.01}]})  # fmt: skip
    page = build_report(tmp_path, "text")
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt; ↔ b" in page
