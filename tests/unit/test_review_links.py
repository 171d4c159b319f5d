"""Links from the report to the pushed samples' Label Studio tasks, and the report refresh after
a push (the real server: tests/integration/test_review_links.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curate import layout
from curate.errors import ReviewError
from curate.review.commands import push_queue, refresh_report
from curate.review.links import link_html, task_links
from tests.unit.test_push_logic import FakeLabelStudio, queue

SERVER = "http://ls.example:8080"
HOSTILE = 's<1>&"x"\'onmouseover=alert(1)'


def record(root: Path, url: str = SERVER, pushed: dict | None = None, project_id: int = 7):
    pushed = {"s1": 101, HOSTILE: 102, "s3": None} if pushed is None else pushed
    state = {"url": url, "project_id": project_id, "project_title": "t", "pushed": pushed}
    (root / "review").mkdir(parents=True, exist_ok=True)
    (root / layout.PUSH_STATE).write_text(json.dumps(state))
    return root


def test_links_point_at_each_pushed_task_of_the_server_in_the_environment(tmp_path) -> None:
    links = task_links(record(tmp_path), {"LABEL_STUDIO_URL": SERVER})
    assert links == {
        "s1": f"{SERVER}/projects/7/data?task=101",
        HOSTILE: f"{SERVER}/projects/7/data?task=102",
    }  # s3 has no known task id: no link


def test_no_record_no_environment_or_another_server_gives_no_link(tmp_path) -> None:
    assert task_links(tmp_path, {"LABEL_STUDIO_URL": SERVER}) == {}  # nothing pushed
    record(tmp_path)
    assert task_links(tmp_path, {}) == {}
    assert task_links(tmp_path, {"LABEL_STUDIO_URL": "  "}) == {}
    assert task_links(tmp_path, {"LABEL_STUDIO_URL": "http://other:8080"}) == {}
    assert task_links(tmp_path, {"LABEL_STUDIO_URL": "http://ls.example:8081"}) == {}


def test_the_server_url_is_read_from_the_environment_only(tmp_path, monkeypatch) -> None:
    record(tmp_path)
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    assert task_links(tmp_path) == {}  # the record's url alone is never used
    monkeypatch.setenv("LABEL_STUDIO_URL", SERVER)
    assert task_links(tmp_path)["s1"] == f"{SERVER}/projects/7/data?task=101"


@pytest.mark.parametrize(
    ("in_record", "in_env"),
    [(SERVER, SERVER + "/"), (SERVER + "/", SERVER), (SERVER + "//", " " + SERVER + "/ ")],
)
def test_a_trailing_slash_does_not_matter(tmp_path, in_record, in_env) -> None:
    links = task_links(record(tmp_path, url=in_record), {"LABEL_STUDIO_URL": in_env})
    assert links["s1"] == f"{SERVER}/projects/7/data?task=101"


def test_a_server_below_a_path_keeps_its_path(tmp_path) -> None:
    url = "https://tools.example.org/label-studio"
    links = task_links(record(tmp_path, url=url), {"LABEL_STUDIO_URL": url + "/"})
    assert links["s1"] == f"{url}/projects/7/data?task=101"


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:s3cret-pw@ls.example:8080",
        "https://ls.example:8080/?token=s3cret-pw",
        "https://ls.example:8080/#s3cret-pw",
    ],
)
def test_no_secret_in_the_server_url_reaches_a_link(tmp_path, url) -> None:
    links = task_links(record(tmp_path, url=url), {"LABEL_STUDIO_URL": url})
    assert links["s1"] == "https://ls.example:8080/projects/7/data?task=101"
    assert all("s3cret" not in link and "admin" not in link for link in links.values())


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc", "http://", "ls:8080"])
def test_a_server_url_that_is_not_http_gives_no_link(tmp_path, url) -> None:
    assert task_links(record(tmp_path, url=url), {"LABEL_STUDIO_URL": url}) == {}


def test_a_damaged_push_record_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "review").mkdir()
    (tmp_path / layout.PUSH_STATE).write_text("{not json")
    with pytest.raises(ReviewError, match="push_state.json is not a valid push record"):
        task_links(tmp_path, {"LABEL_STUDIO_URL": SERVER})


def test_link_html_escapes_the_sample_id_and_the_href() -> None:
    links = {HOSTILE: 'http://h/projects/1/data?task=2&x="><script>'}
    linked = link_html(HOSTILE, links)
    assert linked == (
        '<a href="http://h/projects/1/data?task=2&amp;x=&quot;&gt;&lt;script&gt;" '
        'target="_blank" rel="noopener">s&lt;1&gt;&amp;&quot;x&quot;&#x27;onmouseover=alert(1)</a>'
    )
    assert link_html(HOSTILE, {}) == "s&lt;1&gt;&amp;&quot;x&quot;&#x27;onmouseover=alert(1)"
    assert link_html("s9", {"s1": "http://h/x"}) == "s9"


def workspace(root: Path, n: int = 3) -> Path:
    """The least a push and the report stage need: configs, a queue, the class list."""
    (root / "configs").mkdir(parents=True)
    data = {"data": {"sources": [{"path": "d.csv"}], "modality": "text"}}
    (root / "configs" / "data.yaml").write_text(yaml.safe_dump(data))
    (root / "review").mkdir()
    pq.write_table(queue(n), root / layout.REVIEW_QUEUE)
    (root / "predictions").mkdir()
    predictions = pa.table({"sample_id": [f"s{i:03d}" for i in range(n)]})
    predictions = predictions.replace_schema_metadata({"classes": json.dumps(["a", "b"])})
    pq.write_table(predictions, root / layout.PRED_PROBS)
    return root


def test_push_refreshes_an_existing_report(tmp_path) -> None:
    root = workspace(tmp_path)
    (root / "report").mkdir()
    (root / layout.REPORT).write_text("stale")
    summary = push_queue(root, client=FakeLabelStudio())
    assert summary["pushed"] == 3 and summary["report"] == "refreshed"
    page = (root / layout.REPORT).read_text()
    assert page != "stale" and page.startswith("<!doctype html>")


def test_push_without_a_report_writes_none(tmp_path) -> None:
    root = workspace(tmp_path)
    summary = push_queue(root, client=FakeLabelStudio())
    assert summary["report"] == "absent" and not (root / layout.REPORT).exists()


def test_a_report_that_fails_to_render_does_not_fail_the_push(tmp_path) -> None:
    root = workspace(tmp_path)
    (root / "report").mkdir()
    (root / layout.REPORT).write_text("stale")
    (root / layout.MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    (root / layout.MANIFEST).write_bytes(b"not parquet")  # the report cannot read it
    summary = push_queue(root, client=FakeLabelStudio())
    assert summary["pushed"] == 3 and summary["report"] == "not refreshed"
    assert (
        "was not refreshed" in summary["warnings"][0] and "push succeeded" in summary["warnings"][0]
    )
    assert (root / layout.REPORT).read_text() == "stale"


def test_refresh_report_outside_a_workspace_warns(tmp_path) -> None:
    (tmp_path / "report").mkdir()
    (tmp_path / layout.REPORT).write_text("stale")  # no configs: the stage cannot load
    result = refresh_report(tmp_path)
    assert result["report"] == "not refreshed" and len(result["warnings"]) == 1
