"""Push bookkeeping against an in-memory stand-in for the Label Studio adapter.

The real server is exercised in tests/integration; these tests pin down the retry and resume
rules, including failures a real server rarely produces on demand (a chunk that lands just as
the connection drops).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from curate.config import Config, DataConfig, ReviewConfig, SourceConfig
from curate.errors import ReviewError
from curate.review.labelstudio import TransientError
from curate.review.sync import push


class FakeLabelStudio:
    url = "http://fake:8080"

    def __init__(self, failures=None):
        self.projects: dict[int, dict] = {}
        self.tasks: dict[int, list[dict]] = {}
        self.failures = list(failures or [])  # per import call: None, "before" or "after"
        self.import_calls = 0

    def get_project(self, pid):
        p = self.projects.get(pid)
        return None if p is None else {**p, "task_number": len(self.tasks[pid])}

    def find_project(self, title):
        return next((self.get_project(i) for i, p in self.projects.items()
                     if p["title"] == title), None)  # fmt: skip

    def create_project(self, title, label_config, model_version):
        pid = len(self.projects) + 1
        self.projects[pid] = {"id": pid, "title": title, "label_config": label_config}
        self.tasks[pid] = []
        return self.get_project(pid)

    def update_label_config(self, pid, label_config):
        self.projects[pid]["label_config"] = label_config
        self.config_updates = getattr(self, "config_updates", 0) + 1
        return self.get_project(pid)

    def task_count(self, pid):
        return len(self.tasks[pid])

    def import_tasks(self, pid, tasks):
        self.import_calls += 1
        mode = self.failures.pop(0) if self.failures else None
        if mode == "before":
            raise TransientError("connection reset (nothing stored)")
        if mode == "fatal":
            raise ReviewError("Label Studio refused to import tasks (400: bad data).")
        ids = []
        for t in tasks:
            tid = 1000 + sum(len(v) for v in self.tasks.values())
            self.tasks[pid].append({"id": tid, **t})
            ids.append(tid)
        if mode == "after":
            raise TransientError("connection reset after the server stored the chunk")
        return ids

    def task_keys(self, pid):
        return {t["data"]["sample_id"]: t["id"] for t in self.tasks[pid]}


def make_cfg(tmp_path: Path, **review) -> Config:
    data = DataConfig(sources=(SourceConfig(path="d.csv"),))
    return Config(root=tmp_path, data=data, review=ReviewConfig(chunk_size=10, **review))


def queue(n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "rank": i + 1,
                "sample_id": f"s{i:03d}",
                "kind": "label_issue",
                "kinds": ["label_issue"],
                "priority": 1.0 - i / 1000,
                "reasons": "r",
                "input": f"text {i}",
                "split": "train",
                "given_label": "a",
                "suggested_label": "b",
                "suggested_confidence": 0.8,
            }  # fmt: skip
            for i in range(n)
        ]
    )


def sample_ids(client, pid=1):
    return [t["data"]["sample_id"] for t in client.tasks[pid]]


def test_push_twice_creates_nothing_the_second_time(tmp_path) -> None:
    client, state = FakeLabelStudio(), tmp_path / "state.json"
    first = push(make_cfg(tmp_path), queue(25), ["a", "b"], client, state, sleep=lambda s: None)
    second = push(make_cfg(tmp_path), queue(25), ["a", "b"], client, state, sleep=lambda s: None)
    assert (first["pushed"], first["chunks"]) == (25, 3)
    assert (second["pushed"], second["already_in_project"]) == (0, 25)
    assert sorted(sample_ids(client)) == [f"s{i:03d}" for i in range(25)]
    assert "api" not in json.loads(state.read_text())  # the record holds no key


def test_chunk_that_landed_before_the_connection_dropped_is_not_imported_twice(tmp_path) -> None:
    client = FakeLabelStudio(failures=[None, "after", None])
    report = push(make_cfg(tmp_path), queue(30), ["a", "b"], client, tmp_path / "s.json",
                  sleep=lambda s: None)  # fmt: skip
    ids = sample_ids(client)
    assert len(ids) == len(set(ids)) == 30 and report["tasks_in_project"] == 30
    assert client.import_calls == 3  # the landed chunk was recognised, not re-sent


def test_transient_errors_are_retried_with_backoff(tmp_path) -> None:
    client, waits = FakeLabelStudio(failures=["before", "before"]), []
    push(make_cfg(tmp_path), queue(5), ["a", "b"], client, tmp_path / "s.json",
         sleep=waits.append)  # fmt: skip
    assert waits == [1.0, 2.0] and len(sample_ids(client)) == 5


def test_giving_up_keeps_the_record_and_the_next_push_resumes(tmp_path) -> None:
    state = tmp_path / "s.json"
    client = FakeLabelStudio(failures=[None, "before", "before", "before"])
    with pytest.raises(ReviewError) as err:
        push(make_cfg(tmp_path, retries=3), queue(35), ["a", "b"], client, state,
             sleep=lambda s: None)  # fmt: skip
    message = str(err.value)
    assert "10 tasks are in project 1" in message and "run `curate review push` again" in message
    assert len(json.loads(state.read_text())["pushed"]) == 10
    report = push(make_cfg(tmp_path), queue(35), ["a", "b"], client, state, sleep=lambda s: None)
    assert report["pushed"] == 25 and report["already_in_project"] == 10
    assert sorted(sample_ids(client)) == [f"s{i:03d}" for i in range(35)]


def test_lost_record_is_rebuilt_from_the_server(tmp_path) -> None:
    client, state = FakeLabelStudio(), tmp_path / "s.json"
    push(make_cfg(tmp_path), queue(12), ["a", "b"], client, state, sleep=lambda s: None)
    state.unlink()
    report = push(make_cfg(tmp_path), queue(20), ["a", "b"], client, state, sleep=lambda s: None)
    assert report["record_rebuilt_from_server"] and report["pushed"] == 8
    assert len(sample_ids(client)) == 20


def test_permanent_error_stops_at_once(tmp_path) -> None:
    client = FakeLabelStudio(failures=[None, "fatal"])
    with pytest.raises(ReviewError, match="push stopped: .*400"):
        push(make_cfg(tmp_path), queue(30), ["a", "b"], client, tmp_path / "s.json",
             sleep=lambda s: None)  # fmt: skip
    assert client.import_calls == 2


def test_ctrl_c_between_chunks_keeps_what_was_pushed_and_resumes(tmp_path) -> None:
    class Interrupting(FakeLabelStudio):
        def import_tasks(self, pid, tasks):
            if self.import_calls == 2:
                self.import_calls += 1
                raise KeyboardInterrupt
            return super().import_tasks(pid, tasks)

    client, state = Interrupting(), tmp_path / "s.json"
    with pytest.raises(KeyboardInterrupt):
        push(make_cfg(tmp_path), queue(45), ["a", "b"], client, state, sleep=lambda s: None)
    assert len(json.loads(state.read_text())["pushed"]) == 20
    report = push(make_cfg(tmp_path), queue(45), ["a", "b"], client, state, sleep=lambda s: None)
    assert (report["pushed"], report["already_in_project"]) == (25, 20)
    assert sorted(sample_ids(client)) == [f"s{i:03d}" for i in range(45)]


def test_changed_class_list_updates_the_project_config(tmp_path) -> None:
    client, state = FakeLabelStudio(), tmp_path / "s.json"
    push(make_cfg(tmp_path), queue(3), ["a", "b"], client, state, sleep=lambda s: None)
    push(make_cfg(tmp_path), queue(3), ["a", "b"], client, state, sleep=lambda s: None)
    assert getattr(client, "config_updates", 0) == 0
    push(make_cfg(tmp_path), queue(3), ["a", "b", "c"], client, state, sleep=lambda s: None)
    assert (
        client.config_updates == 1 and '<Choice value="c"/>' in client.projects[1]["label_config"]
    )
