"""The whole review loop against a real Label Studio: dvc repro -> push -> annotators ->
pull -> dvc repro (apply), and webhooks delivered by Label Studio to `curate serve`."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
from click.testing import CliRunner

from curate import layout
from curate.cli import main
from curate.review.corrections import CorrectionsLog
from curate.scaffold.demo import build_demo
from curate.scaffold.tools import dvc_command, run_tool
from tests.integration.workspaces import push_state, review_workspace

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def choose(label: str, to_name: str) -> dict:
    return {"from_name": "label", "to_name": to_name, "type": "choices",
            "value": {"choices": [label]}}  # fmt: skip


def remove(to_name: str) -> dict:
    return {"from_name": "action", "to_name": to_name, "type": "choices",
            "value": {"choices": ["remove"]}}  # fmt: skip


def annotate(server, task_id: int, result: list, key: str | None = None, **extra) -> dict:
    body = {"result": result, "was_cancelled": False, "ground_truth": False, "lead_time": 2.0}
    return server.request(
        "POST", f"/api/tasks/{task_id}/annotations/", api_key=key, json={**body, **extra}
    ).json()


def cli(*args: str) -> dict:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def git(root: Path, *args: str) -> None:
    run_tool(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], root, "git")


def test_full_loop_on_the_demo(ls_env, tmp_path) -> None:
    root = tmp_path / "demo"
    build_demo(root, repro=True)
    review_cfg = root / "configs" / "review.yaml"
    text = review_cfg.read_text().replace(
        "project_title: curate review", f"project_title: curate-demo-{secrets.token_hex(4)}"
    )
    review_cfg.write_text(text)
    git(root, "commit", "-qam", "own project title")

    pushed = cli("review", "push", "-w", str(root))
    queue = pq.read_table(root / layout.REVIEW_QUEUE).to_pylist()
    assert pushed["pushed"] == len(queue) > 100
    task_of = push_state(root)["pushed"]
    of_kind = {k: [q for q in queue if q["kind"] == k] for k in {q["kind"] for q in queue}}
    second = ls_env.make_user(f"ann-{secrets.token_hex(3)}@curate.test", "Annot-pw-12345")

    expected_relabel, expected_remove, expected_keep = {}, set(), set()
    labels = [q for q in of_kind["label_issue"] if q["suggested_label"] != q["given_label"]]
    for q in labels[:4]:  # accept the model's suggestion
        annotate(ls_env, task_of[q["sample_id"]], [choose(q["suggested_label"], "image")])
        expected_relabel[q["sample_id"]] = (q["given_label"], q["suggested_label"])
    q = labels[4]  # confirm the given label
    annotate(ls_env, task_of[q["sample_id"]], [choose(q["given_label"], "image")])
    expected_keep.add(q["sample_id"])
    q = labels[5]  # relabel, then change their mind: the update supersedes
    other = next(c for c in "0123456789" if c not in (q["given_label"], q["suggested_label"]))
    first = annotate(ls_env, task_of[q["sample_id"]], [choose(q["suggested_label"], "image")])
    expected_relabel[q["sample_id"]] = (q["given_label"], other)
    for q in of_kind["duplicate_group"][:3]:
        annotate(ls_env, task_of[q["sample_id"]], [remove("image")])
        expected_remove.add(q["sample_id"])
    tie, agreed = of_kind["leakage"][:2]
    annotate(ls_env, task_of[tie["sample_id"]], [remove("image")])
    annotate(ls_env, task_of[tie["sample_id"]], [choose(tie["given_label"], "image")], key=second)
    annotate(ls_env, task_of[agreed["sample_id"]], [remove("image")])
    annotate(ls_env, task_of[agreed["sample_id"]], [remove("image")], key=second)
    expected_remove.add(agreed["sample_id"])
    pool = next(q for q in of_kind["active_learning"] if q["given_label"] is None)
    annotate(ls_env, task_of[pool["sample_id"]], [choose("7", "image")])
    skipped = next(q for q in of_kind["outlier"] if q["given_label"] is not None)
    annotate(ls_env, task_of[skipped["sample_id"]], [], was_cancelled=True)

    pulled = cli("review", "pull", "-w", str(root))
    assert pulled["added"] == 4 + 1 + 1 + 3 + 4 + 1 + 1
    assert pulled["superseding"] == 0 and pulled["conflicts"] == [tie["sample_id"]]
    ls_env.request("PATCH", f"/api/annotations/{first['id']}/",
                   json={"result": [choose(other, "image")]})  # fmt: skip
    updated = cli("review", "pull", "-w", str(root))  # the update is a new row
    assert (updated["added"], updated["superseding"]) == (1, 1)
    again = cli("review", "pull", "-w", str(root))
    assert again["added"] == 0 and again["already_logged"] == 15

    git(root, "add", "review/corrections")
    git(root, "commit", "-qm", "review decisions")
    version_1 = pq.read_table(root / layout.MANIFEST)
    run_tool(dvc_command("repro"), root, "run dvc repro")

    changelog = json.loads((root / layout.CHANGELOG).read_text())
    relabelled = {i["sample_id"]: (i["from"], i["to"]) for i in changelog["relabelled"]["items"]}
    assert relabelled == expected_relabel
    assert set(changelog["removed"]["items"]) == expected_remove
    assert set(changelog["kept"]["items"]) == expected_keep
    assert changelog["labelled_from_pool"]["items"] == [
        {"sample_id": pool["sample_id"], "label": "7", "split": "train"}
    ]
    assert [c["sample_id"] for c in changelog["conflicts"]["items"]] == [tie["sample_id"]]
    assert changelog["rejected"]["count"] == changelog["unknown_samples"]["count"] == 0
    assert changelog["log_entries"] == 16

    version_2 = {r["sample_id"]: r for r in pq.read_table(root / layout.MANIFEST).to_pylist()}
    assert version_2.keys() == {r["sample_id"] for r in version_1.to_pylist()} - expected_remove
    for sid, (_, new) in expected_relabel.items():
        assert version_2[sid]["label"] == new
    assert (version_2[pool["sample_id"]]["label"], version_2[pool["sample_id"]]["split"]) == (
        "7", "train")  # fmt: skip
    removed = pq.read_table(root / layout.REMOVED).to_pylist()
    assert {r["sample_id"] for r in removed} == expected_remove
    assert all("removed in review by" in r["removal_reason"] for r in removed)
    decided = set(expected_relabel) | expected_remove | expected_keep | {pool["sample_id"]}
    requeued = {q["sample_id"] for q in pq.read_table(root / layout.REVIEW_QUEUE).to_pylist()}
    assert not (decided | {tie["sample_id"]}) & requeued
    lock = (root / "dvc.lock").read_text() + (root / "review" / "push_state.json").read_text()
    assert ls_env.api_key not in lock and second not in lock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhooks_from_label_studio_reach_curate_serve(ls_env, tmp_path, monkeypatch) -> None:
    root = review_workspace(tmp_path / "ws", 5)
    cli("review", "push", "-w", str(root))
    task_of = push_state(root)["pushed"]
    secret = secrets.token_hex(24)
    monkeypatch.setenv("CURATE_WEBHOOK_SECRET", secret)
    port = _free_port()
    env = {**os.environ, "CURATE_WEBHOOK_SECRET": secret}
    curate = [sys.executable, "-m", "curate"]
    serve = subprocess.Popen(
        [*curate, "serve", "-w", str(root), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and serve.poll() is None, serve.stdout.read()
            time.sleep(0.2)
        hook = cli("review", "webhook", f"http://127.0.0.1:{port}/webhook", "-w", str(root))
        assert hook["actions"] == ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"]
        assert secret not in json.dumps(hook)

        a = annotate(ls_env, task_of["s00000"], [choose("plain", "text")])
        annotate(ls_env, task_of["s00001"], [remove("text")])
        ls_env.request("PATCH", f"/api/annotations/{a['id']}/",
                       json={"result": [choose("it's fine", "text")]})  # fmt: skip
        log = CorrectionsLog(root / layout.CORRECTIONS)
        deadline = time.monotonic() + 30
        while log.read().num_rows < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        rows = log.read().to_pylist()
        assert [(r["sample_id"], r["decision"], r["new_label"], r["source"]) for r in rows] == [
            ("s00000", "keep", None, "webhook"),
            ("s00001", "remove", None, "webhook"),
            ("s00000", "relabel", "it's fine", "webhook"),
        ]
        assert rows[2]["supersedes"] == rows[0]["entry_id"]
        # Polling afterwards finds nothing new: webhook and pull log identical entries.
        assert cli("review", "pull", "-w", str(root))["added"] == 0
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert secret not in (root / layout.PUSH_STATE).read_text()
