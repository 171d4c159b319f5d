"""The report links each pushed sample to its task on the real Label Studio server, once the
queue has been pushed; before a push it has no link and never names the server."""

from __future__ import annotations

import json
import re
import urllib.request
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate import layout
from curate.checks.label import SCHEMA as LABEL_SCHEMA
from curate.cli import main
from curate.stages import report
from tests.integration.workspaces import CLASSES, push_state, review_workspace

pytestmark = pytest.mark.integration

NOT_QUEUED = "s09999"  # a label issue shown on the page but not in the queue: never linked


def report_ready_workspace(root: Path, n: int) -> tuple[Path, list[str]]:
    """A review workspace whose queued samples are the page's top label issues."""
    review_workspace(root, n)
    queued = pq.read_table(root / layout.REVIEW_QUEUE).to_pylist()
    ids = [q["sample_id"] for q in queued] + [NOT_QUEUED]
    texts = [q["input"] for q in queued] + ["where is my refund?"]
    manifest = pa.table(
        {
            "sample_id": ids,
            "content_hash": [f"h{i}" for i in range(len(ids))],
            "input": texts,
            "label": [CLASSES[3]] * len(ids),
            "split": ["train"] * len(ids),
        }
    )
    issues = pa.Table.from_pylist(
        [
            {
                "sample_id": sid,
                "split": "train",
                "is_label_issue": True,
                "label_score": 0.01 * (i + 1),
                "given_label": CLASSES[3],
                "suggested_label": CLASSES[i % 3],
                "suggested_label_confidence": 0.91,
                "reason": f"model predicts {CLASSES[i % 3]!r} with 0.91",
            }  # fmt: skip
            for i, sid in enumerate(ids)
        ],
        schema=LABEL_SCHEMA,
    )
    for rel, table in ((layout.MANIFEST, manifest), (layout.LABEL_ISSUES, issues)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / rel)
    return root, ids


def anchors(page: str) -> dict[str, str]:
    """``{link text: href}`` of every anchor on the page (both unescaped)."""
    found = re.findall(r'<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>', page, flags=re.S)
    return {unescape(text): unescape(href) for href, text in found}


def test_report_links_pushed_samples_to_their_tasks_after_a_push(ls_env, tmp_path) -> None:
    root, shown = report_ready_workspace(tmp_path / "ws", 4)
    report.run(root)
    before = (root / layout.REPORT).read_text()
    assert all(sid in before for sid in shown)  # the samples are on the page
    assert "/projects/" not in before and ls_env.url not in before
    assert urlsplit(ls_env.url).netloc not in before

    result = CliRunner().invoke(main, ["review", "push", "-w", str(root)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["pushed"] == 4 and summary["report"] == "refreshed"

    state = push_state(root)
    pid, task_of = state["project_id"], state["pushed"]
    after = (root / layout.REPORT).read_text()
    links = anchors(after)
    queued = [sid for sid in shown if sid != NOT_QUEUED]
    assert sorted(task_of) == sorted(queued)
    for sid in queued:
        assert links.get(sid) == f"{ls_env.url}/projects/{pid}/data?task={task_of[sid]}", sid
    assert NOT_QUEUED in after and NOT_QUEUED not in links
    assert ls_env.api_key not in after

    # Each link names that sample's task on the real server, and opens its page in the UI.
    sid = queued[-1]
    parts = urlsplit(links[sid])
    task_id = int(parse_qs(parts.query)["task"][0])
    api = urllib.request.Request(
        f"{parts.scheme}://{parts.netloc}/api/tasks/{task_id}/", headers=ls_env.headers()
    )
    with urllib.request.urlopen(api, timeout=60) as resp:
        task = json.loads(resp.read())
    assert (task["id"], task["project"], task["data"]["sample_id"]) == (task_id, pid, sid)
    page = ls_env.login_session().get(links[sid], timeout=60)
    assert page.status_code == 200 and "/user/login" not in page.url
    assert urlsplit(page.url).path.rstrip("/") == f"/projects/{pid}/data"
