"""Smoke tests of the real-Label-Studio fixture, the browser helper and the LS API facts the
review loop relies on (annotations by two users, webhooks to 127.0.0.1, media URLs)."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.integration.browser import browser_skip_reason, screenshot_task

pytestmark = pytest.mark.integration

TEXT_CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single">'
    '<Choice value="A"/><Choice value="R&amp;D &lt;internal&gt;"/></Choices></View>'
)
IMAGE_CONFIG = (
    '<View><Image name="image" value="$image"/>'
    '<Choices name="label" toName="image" choice="single">'
    '<Choice value="cat"/><Choice value="dog"/></Choices></View>'
)
WEIRD = "R&D <internal>"

needs_browser = pytest.mark.skipif(
    browser_skip_reason() is not None, reason=str(browser_skip_reason())
)


def _choice(value: str, to_name: str = "text") -> list[dict]:
    return [
        {"from_name": "label", "to_name": to_name, "type": "choices", "value": {"choices": [value]}}
    ]


def _task(text: str, sample_id: str, label: str = WEIRD) -> dict:
    return {
        "data": {"text": text, "sample_id": sample_id},
        "predictions": [{"model_version": "curate-test", "score": 0.9, "result": _choice(label)}],
    }


def test_env_and_tasks(ls_env, ls_project):
    assert os.environ["LABEL_STUDIO_URL"] == ls_env.url
    assert os.environ["LABEL_STUDIO_API_KEY"] == ls_env.api_key
    assert ls_env.sdk().users.whoami().email == ls_env.username

    project = ls_project(TEXT_CONFIG)
    resp = ls_env.request(
        "POST",
        f"/api/projects/{project['id']}/import",
        params={"return_task_ids": "true"},
        json=[_task("hello", "s1"), _task("world", "s2")],
    ).json()
    assert resp["task_count"] == 2 and resp["prediction_count"] == 2 and len(resp["task_ids"]) == 2

    tasks = ls_env.list_tasks(project["id"])
    assert sorted(t["data"]["sample_id"] for t in tasks) == ["s1", "s2"]
    assert all(t["predictions"][0]["result"] == _choice(WEIRD) for t in tasks)
    assert {t["id"] for t in ls_env.list_tasks(project["id"], include="id,data")} == set(
        resp["task_ids"]
    )


def test_two_annotators(label_studio, ls_project):
    project = ls_project(TEXT_CONFIG)
    [tid] = label_studio.request(
        "POST",
        f"/api/projects/{project['id']}/import",
        params={"return_task_ids": "true"},
        json=[_task("x", "s1")],
    ).json()["task_ids"]
    key2 = label_studio.make_user("second@curate.test", "curate-Second-pw-1")
    assert label_studio.sdk(key2).users.whoami().email == "second@curate.test"

    a1 = label_studio.request(
        "POST", f"/api/tasks/{tid}/annotations/", json={"result": _choice("A"), "lead_time": 2.0}
    ).json()
    a2 = label_studio.request(
        "POST", f"/api/tasks/{tid}/annotations/", api_key=key2, json={"result": _choice(WEIRD)}
    ).json()
    assert a1["completed_by"] != a2["completed_by"]

    task = label_studio.request("GET", f"/api/tasks/{tid}").json()
    emails = {
        a["completed_by"]["email"]: a["result"][0]["value"]["choices"] for a in task["annotations"]
    }
    assert emails == {label_studio.username: ["A"], "second@curate.test": [WEIRD]}

    upd = label_studio.request(
        "PATCH", f"/api/annotations/{a1['id']}/", json={"result": _choice(WEIRD)}
    ).json()
    assert (
        upd["id"] == a1["id"]
        and upd["updated_at"] > a1["updated_at"]
        and upd["created_at"] == a1["created_at"]
    )

    export = label_studio.request(
        "GET", f"/api/projects/{project['id']}/export", params={"exportType": "JSON"}
    ).json()
    assert [len(t["annotations"]) for t in export] == [2]


def test_webhooks_reach_localhost(label_studio, ls_project):
    received: list[tuple[dict, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        project = ls_project(TEXT_CONFIG)
        label_studio.request(
            "POST",
            "/api/webhooks/",
            json={
                "project": project["id"],
                "url": f"http://127.0.0.1:{httpd.server_port}/hook",
                "send_payload": True,
                "send_for_all_actions": False,
                "actions": ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"],
                "headers": {"X-Curate-Secret": "s3cret"},
            },
        )
        [tid] = label_studio.request(
            "POST",
            f"/api/projects/{project['id']}/import",
            params={"return_task_ids": "true"},
            json=[_task("x", "s1")],
        ).json()["task_ids"]
        ann = label_studio.request(
            "POST", f"/api/tasks/{tid}/annotations/", json={"result": _choice("A")}
        ).json()
        # without Redis LS posts the webhook inside the annotation request: already delivered
        assert [b["action"] for _, b in received] == ["ANNOTATION_CREATED"]
        label_studio.request(
            "PATCH", f"/api/annotations/{ann['id']}/", json={"result": _choice(WEIRD)}
        )
        assert [b["action"] for _, b in received] == ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"]
        headers, body = received[-1]
        assert headers["X-Curate-Secret"] == "s3cret"
        assert set(body) == {"action", "annotation", "task", "project"}
        assert body["annotation"]["id"] == ann["id"] and body["task"]["id"] == tid
        assert body["annotation"]["result"] == _choice(WEIRD)
        assert body["task"]["data"]["sample_id"] == "s1"
    finally:
        httpd.shutdown()


@needs_browser
def test_browser_shows_prediction(label_studio, ls_project, artifacts_dir):
    project = ls_project(TEXT_CONFIG)
    tids = label_studio.request(
        "POST",
        f"/api/projects/{project['id']}/import",
        params={"return_task_ids": "true"},
        json=[_task("hello", "s1"), _task("second text", "s2")],
    ).json()["task_ids"]
    shot = artifacts_dir / "text_task.png"
    info = screenshot_task(label_studio, project["id"], tids[1], shot)
    assert info["text_visible"], info
    assert "second text" in info["text"]
    assert info["selected_choices"] == [WEIRD], info
    assert shot.stat().st_size > 10_000
    # opening the task in the UI must not create an annotation server-side
    assert label_studio.request("GET", f"/api/tasks/{tids[1]}").json()["annotations"] == []


@needs_browser
def test_browser_images(label_studio, ls_project, artifacts_dir):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (220, 30, 30)).save(buf, "PNG")
    data_uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    project = ls_project(IMAGE_CONFIG)
    label_studio.add_local_storage(project["id"], "images")
    Image.new("RGB", (80, 60), (30, 30, 220)).save(label_studio.files_root / "images" / "blue.png")

    def pred(v):
        return [{"model_version": "m", "score": 0.5, "result": _choice(v, "image")}]

    tids = label_studio.request(
        "POST",
        f"/api/projects/{project['id']}/import",
        params={"return_task_ids": "true"},
        json=[
            {"data": {"image": data_uri}, "predictions": pred("cat")},
            {"data": {"image": "/data/local-files/?d=images/blue.png"}, "predictions": pred("dog")},
        ],
    ).json()["task_ids"]
    for tid, size, label in zip(tids, [(64, 48), (80, 60)], ["cat", "dog"], strict=True):
        info = screenshot_task(
            label_studio, project["id"], tid, artifacts_dir / f"image_{label}.png"
        )
        assert not info["media_error"], info
        assert [(i["loaded"], i["width"], i["height"]) for i in info["images"]] == [
            (True, *size)
        ], info
        assert info["selected_choices"] == [label]
