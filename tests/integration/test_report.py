"""The HTML report: dataset content is escaped, and the page renders in headless Chromium with
no console errors (screenshot saved)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.report.page import build_report
from tests.integration.browser import browser_skip_reason, open_page

SCRIPT = "<script>document.title='pwned'</script> card & <b>bold</b>"


def report_workspace(root: Path) -> Path:
    ids = ["s1", "s2", "s3"]
    texts = [SCRIPT, "my card was declined", "where is my refund?"]
    for rel, table in (
        (layout.MANIFEST, pa.table({"sample_id": ids, "input": texts, "label": ["a", "b", "a"],
                                    "split": ["train"] * 3})),
        (layout.LABEL_ISSUES, pa.table({
            "sample_id": ids, "split": ["train"] * 3, "is_label_issue": [True, False, True],
            "label_score": [0.01, 0.9, 0.2], "given_label": ["a", "b", "a"],
            "suggested_label": ["b<i>", "b", "b"], "suggested_label_confidence": [0.9] * 3,
            "reason": ["model predicts 'b<i>' with 0.90; given 'a'", "", "x"]})),
    ):  # fmt: skip
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / rel)
    return root


def test_dataset_content_is_escaped(tmp_path) -> None:
    page = build_report(report_workspace(tmp_path), "text")
    assert "<script>" not in page and "&lt;script&gt;document.title" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "b&lt;i&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.integration
@pytest.mark.skipif(browser_skip_reason() is not None, reason=str(browser_skip_reason()))
def test_report_renders_in_chromium_without_console_errors(tmp_path, artifacts_dir) -> None:

    from curate.scaffold.demo import build_demo
    from curate.stages import report

    demo = tmp_path / "demo"
    build_demo(demo)  # the demo's full pipeline, report stage included
    issues = pq.read_table(demo / layout.LABEL_ISSUES)  # plant a script in a top issue
    reasons = issues.column("reason").to_pylist()
    worst = min((i for i, f in enumerate(issues.column("is_label_issue").to_pylist()) if f),
                key=lambda i: issues.column("label_score")[i].as_py())  # fmt: skip
    reasons[worst] = SCRIPT
    issues = issues.set_column(issues.schema.get_field_index("reason"), "reason",
                               pa.array(reasons, pa.string()))  # fmt: skip
    pq.write_table(issues, demo / layout.LABEL_ISSUES)
    report.run(demo)
    page = demo / layout.REPORT
    shot = artifacts_dir / "report.png"
    with open_page(page, width=1300) as (tab, errors):
        title = tab.title()
        text = tab.inner_text("body")
        images = tab.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        tab.screenshot(path=str(shot), full_page=True)
    assert errors == []
    assert title == "curate report"  # the planted script did not run
    assert "<script>document.title='pwned'</script>" in text  # shown as text
    assert "Top label issues" in text and "Failure clusters" in text
    assert images and all(w > 0 for w in images)  # inline thumbnails load
    assert shot.is_file() and shot.stat().st_size > 20_000


def thousand_class_workspace(tmp_path):
    """A workspace whose label summary and evaluation have 1,000 classes, 15 of them confused."""
    import csv
    import json

    classes = [f"intent_{i:04d}" for i in range(1000)]
    confused = classes[500:515]  # planted: the only classes with off-diagonal mass
    noise = {c: {c: 0.001} for c in classes}
    for i, c in enumerate(confused):
        noise[c][confused[(i + 1) % len(confused)]] = 0.0002 * (i + 1)
    (tmp_path / layout.LABEL_SUMMARY).parent.mkdir(parents=True)
    per_class = {c: {"n": 30, "noise_rate": 0.1 if c in confused else 0.0} for c in classes}
    (tmp_path / layout.LABEL_SUMMARY).write_text(
        json.dumps({"issues": 3, "noise_matrix": noise, "per_class": per_class})
    )
    preds = tmp_path / layout.EVALUATION_PREDICTIONS
    preds.parent.mkdir(parents=True)
    with preds.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sample_id", "actual", "predicted"])
        for i, c in enumerate(classes * 3):
            wrong = c in confused and i % 2
            writer.writerow([f"e{i}", c, classes[(classes.index(c) + 1) % 1000] if wrong else c])
    return report_workspace(tmp_path), confused


def test_report_at_1000_classes_stays_under_5_mb_and_says_what_it_shows(tmp_path) -> None:
    """The heatmaps show the 15 most confused classes, not 1,000 x 1,000 cells; the bars of
    noise per class the 15 noisiest."""
    import re

    root, confused = thousand_class_workspace(tmp_path)
    page = build_report(root, "text")
    assert len(page.encode()) < 5_000_000, f"{len(page.encode()):,} bytes"
    assert page.count("classes with the most off-diagonal mass") == 2
    assert "Showing the 15 of 1,000 classes" in page
    assert layout.EVALUATION_PREDICTIONS in page and layout.LABEL_SUMMARY in page
    noise_table = page[page.index("Estimated joint") : page.index("Confusion matrix")]
    shown = re.findall(r"<th>(intent_\d{4})</th>", noise_table)
    assert len(shown) == 2 * 15 and set(shown) == set(confused)
    bars = page[page.index("Flagged labels per class") :]
    bars = bars[: bars.index("</svg>")]
    assert set(re.findall(r">(intent_\d{4})</text>", bars)) == set(confused)


@pytest.mark.integration
@pytest.mark.skipif(browser_skip_reason() is not None, reason=str(browser_skip_reason()))
def test_the_1000_class_page_renders_without_console_errors(tmp_path) -> None:

    root, _ = thousand_class_workspace(tmp_path)
    page = tmp_path / "index.html"
    page.write_text(build_report(root, "text"))
    with open_page(page) as (tab, errors):
        assert "Flagged labels per class" in tab.inner_text("body")
    assert errors == []
