"""The HTML report: dataset content is escaped, and the page renders in headless Chromium with
no console errors (screenshot saved)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import layout
from curate.report import build_report
from tests.integration.browser import browser_skip_reason, chromium_path

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
    from playwright.sync_api import sync_playwright

    from curate.demo import build_demo
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
    errors, shot = [], artifacts_dir / "report.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox"])  # fmt: skip
        tab = browser.new_page(viewport={"width": 1300, "height": 900})
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(page.as_uri())
        tab.wait_for_load_state("load")
        title = tab.title()
        text = tab.inner_text("body")
        images = tab.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        tab.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert title == "curate report"  # the planted script did not run
    assert "<script>document.title='pwned'</script>" in text  # shown as text
    assert "Top label issues" in text and "Failure clusters" in text
    assert images and all(w > 0 for w in images)  # inline thumbnails load
    assert shot.is_file() and shot.stat().st_size > 20_000
