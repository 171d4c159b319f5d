"""`curate review push` against a real Label Studio server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest
import requests
from click.testing import CliRunner

from curate.cli import main
from curate.errors import ReviewError
from curate.review.commands import push_queue
from curate.review.tasks import labeling_config
from tests.integration.browser import browser_skip_reason, screenshot_task
from tests.integration.proxy import ScriptedProxy
from tests.integration.workspaces import CLASSES, push_state, review_workspace

pytestmark = pytest.mark.integration


def project_tasks(server, pid: int) -> list[dict]:
    return server.list_tasks(pid)


def test_push_text_then_repush_creates_nothing(ls_env, tmp_path) -> None:
    root = review_workspace(tmp_path / "ws", 40)
    first = push_queue(root)
    assert (first["pushed"], first["already_in_project"]) == (40, 0)
    pid = first["project_id"]

    project = ls_env.request("GET", f"/api/projects/{pid}").json()
    assert project["label_config"] == labeling_config("text", CLASSES).strip()
    label = ET.fromstring(project["label_config"]).find(".//Choices[@name='label']")
    assert [c.get("value") for c in label.findall("Choice")] == CLASSES  # escaped, round-trips

    tasks = ls_env.request("GET", f"/api/tasks?project={pid}&fields=all&page_size=100").json()
    tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
    by_id = {t["data"]["sample_id"]: t for t in tasks}
    task = ls_env.request("GET", f"/api/tasks/{by_id['s00001']['id']}").json()
    assert task["data"]["priority"] == pytest.approx(1 - 1 / 41, abs=1e-6)
    assert task["data"]["kind"] == "label_issue" and "model predicts" in task["data"]["reasons"]
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "curate" and prediction["score"] == pytest.approx(0.91)
    assert prediction["result"][0]["value"]["choices"] == [CLASSES[1]]
    assert push_state(root)["pushed"]["s00001"] == task["id"]

    result = CliRunner().invoke(main, ["review", "push", "-w", str(root)])
    assert result.exit_code == 0, result.output
    assert '"pushed": 0' in result.output and '"already_in_project": 40' in result.output
    assert ls_env.api_key not in result.output
    assert ls_env.request("GET", f"/api/projects/{pid}").json()["task_number"] == 40
    assert ls_env.api_key not in (root / "review" / "push_state.json").read_text()


@pytest.mark.parametrize("images", ["inline", "local_files"])
def test_push_images(ls_env, images) -> None:
    root = ls_env.files_root / f"ws-{images}"  # under Label Studio's local-files root
    review = {"images": images, "local_files_root": str(ls_env.files_root)}
    review_workspace(root, 3, modality="image", review=review)
    pid = push_queue(root)["project_id"]
    tasks = ls_env.request("GET", f"/api/tasks?project={pid}&fields=all").json()
    tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
    refs = [t["data"]["image"] for t in tasks]
    assert len(refs) == 3
    if images == "inline":
        assert all(r.startswith("data:image/png;base64,") for r in refs)
    else:
        assert all(r.startswith("/data/local-files/?d=ws-local_files/images/") for r in refs)
        served = requests.get(ls_env.url + refs[0], headers=ls_env.headers(), timeout=30)
        assert served.status_code == 200 and served.headers["Content-Type"] == "image/png"


def test_interrupted_push_of_5000_tasks_resumes_to_exactly_5000(ls_env, tmp_path, monkeypatch):
    root = review_workspace(tmp_path / "ws", 5000)
    # chunk 3 lands but its answer is lost; chunks 5+ hit a broken server until retries run out
    script = ["pass", "pass", "drop_after_forward", "pass", "fail_500", "fail_500"]
    with ScriptedProxy(ls_env.url, script) as proxy:
        monkeypatch.setenv("LABEL_STUDIO_URL", proxy.url)
        with pytest.raises(ReviewError) as err:
            push_queue(root)
        message = str(err.value)
        assert "push stopped" in message and "2000 tasks are in project" in message
        assert "run `curate review push` again to resume" in message
        assert ls_env.api_key not in message
        pid = push_state(root)["project_id"]
        assert ls_env.request("GET", f"/api/projects/{pid}").json()["task_number"] == 2000
        assert len(push_state(root)["pushed"]) == 2000

        report = push_queue(root)  # the proxy passes everything now
    assert report["pushed"] == 3000 and report["already_in_project"] == 2000
    keys = Counter(t["data"]["sample_id"] for t in project_tasks(ls_env, pid))
    assert len(keys) == 5000 and set(keys.values()) == {1}
    assert ls_env.request("GET", f"/api/projects/{pid}").json()["task_number"] == 5000


def test_missing_or_wrong_key_is_a_clear_error(label_studio, tmp_path, monkeypatch) -> None:
    root = review_workspace(tmp_path / "ws", 2)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    result = CliRunner().invoke(main, ["review", "push", "-w", str(root)])
    assert result.exit_code == 2 and "LABEL_STUDIO_API_KEY is not set" in result.output
    wrong = "0123456789abcdef" * 2
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", wrong)
    result = CliRunner().invoke(main, ["review", "push", "-w", str(root)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "rejected the API key in LABEL_STUDIO_API_KEY (401)" in result.output
    assert wrong not in result.output


@pytest.mark.skipif(browser_skip_reason() is not None, reason=str(browser_skip_reason()))
def test_browser_shows_the_task_with_the_suggestion_preselected(ls_env, tmp_path, artifacts_dir):
    root = review_workspace(tmp_path / "ws", 3)
    report = push_queue(root)
    task_id = push_state(root)["pushed"]["s00000"]
    shot = artifacts_dir / "label_studio_task.png"
    seen = screenshot_task(ls_env, report["project_id"], task_id, shot)
    assert seen["text_visible"], seen
    assert "customer message number 0" in seen["text"]
    assert seen["selected_choices"] == [CLASSES[0]]  # the suggestion, 'R&D <internal>'
    assert shot.is_file() and shot.stat().st_size > 10_000
