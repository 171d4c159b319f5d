"""What ``review_push.py`` measures, one push at a time: a workspace with a review queue, the
baseline (the Label Studio SDK a user would call) and curate's push and re-push, each counting
its HTTP requests, and the Label Studio server they run against."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import requests
import yaml
from common import DATA

from curate import layout
from curate.review.commands import push_queue
from curate.review.tasks import labeling_config, task_for

#: name -> (file, text column, label column). banking77 is where chunk_size was chosen.
DATASETS = {
    "banking77": ("banking77/train.csv", "text", "category"),
    "agnews": ("noisy_agnews/train_10k.parquet", "text", "label"),
}


# -- request counting ---------------------------------------------------------------------
class RequestCounter:
    """Counts the HTTP requests the SDK sends (``httpx.Client.send``), by method and path."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    @contextlib.contextmanager
    def counting(self):
        import httpx

        original = httpx.Client.send
        counter = self

        def send(client, request, *args, **kwargs):
            path = request.url.path
            key = f"{request.method} {path}"
            counter.calls[key] += 1
            return original(client, request, *args, **kwargs)

        self.calls = Counter()
        httpx.Client.send = send
        try:
            yield self
        finally:
            httpx.Client.send = original

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def grouped(calls: Counter[str]) -> dict[str, int]:
    """``POST /api/projects/12/import`` -> ``POST /api/projects/{id}/import``."""
    out: Counter[str] = Counter()
    for key, n in calls.items():
        parts = ["{id}" if p.isdigit() else p for p in key.split("/")]
        out["/".join(parts)] += n
    return dict(sorted(out.items()))


# -- workspace ----------------------------------------------------------------------------
def build_workspace(
    root: Path, dataset: str, rows: int, chunk_size: int, seed: int
) -> tuple[Path, list[str]]:
    """A review workspace like ``tests/integration/workspaces.review_workspace``, with the
    first ``rows`` texts of ``dataset``. Returns the workspace and the sorted class list."""
    name, text_col, label_col = DATASETS[dataset]
    path = DATA / name
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    frame = frame.rename(columns={text_col: "text", label_col: "category"})
    classes = sorted(frame["category"].unique().tolist())
    frame = frame.head(rows)
    n = len(frame)
    rng = np.random.default_rng(seed)
    index = {c: i for i, c in enumerate(classes)}
    given = frame["category"].tolist()
    # a class other than the given one: shift by 1..len(classes) - 1 positions
    shift = rng.integers(1, len(classes), size=n)
    suggested = [
        classes[(index[g] + int(s)) % len(classes)] for g, s in zip(given, shift, strict=True)
    ]
    confidence = np.round(rng.uniform(0.5, 1.0, size=n), 6).tolist()
    ids = [f"{dataset}-{i:05d}" for i in range(n)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "configs").mkdir(exist_ok=True)
    data = {"sources": [{"path": "data.csv"}], "modality": "text", "input_column": "text"}
    (root / "configs" / "data.yaml").write_text(yaml.safe_dump({"data": data}))
    set_review(root, "curate-bench-setup", chunk_size)
    queue = pa.table(
        {
            "rank": list(range(1, n + 1)),
            "sample_id": ids,
            "kind": ["label_issue"] * n,
            "kinds": [["label_issue"]] * n,
            "priority": [round(1 - i / (n + 1), 6) for i in range(n)],
            "reasons": [
                f"model predicts {s!r} with {c:.2f}; given {g!r}"
                for s, c, g in zip(suggested, confidence, given, strict=True)
            ],
            "input": frame["text"].astype(str).tolist(),
            "split": ["train"] * n,
            "given_label": given,
            "suggested_label": suggested,
            "suggested_confidence": confidence,
        }
    )
    (root / "review").mkdir(exist_ok=True)
    pq.write_table(queue, root / layout.REVIEW_QUEUE)
    (root / "predictions").mkdir(exist_ok=True)
    predictions = pa.table({"sample_id": ids}).replace_schema_metadata(
        {"classes": json.dumps(classes)}
    )
    pq.write_table(predictions, root / layout.PRED_PROBS)
    return root, classes


def set_review(root: Path, title: str, chunk_size: int) -> None:
    """A new project title (so the next push creates a fresh project) and no push record."""
    settings = {"project_title": title, "chunk_size": chunk_size, "retries": 2}
    (root / "configs" / "review.yaml").write_text(yaml.safe_dump({"review": settings}))
    (root / layout.PUSH_STATE).unlink(missing_ok=True)


# -- measurements -------------------------------------------------------------------------
def project_counts(url: str, key: str, pid: int) -> tuple[int, int]:
    resp = requests.get(
        f"{url}/api/projects/{pid}", headers={"Authorization": f"Token {key}"}, timeout=120
    )
    resp.raise_for_status()
    body = resp.json()
    return int(body.get("task_number") or 0), int(body.get("total_predictions_number") or 0)


def delete_project(url: str, key: str, pid: int) -> None:
    requests.delete(
        f"{url}/api/projects/{pid}/", headers={"Authorization": f"Token {key}"}, timeout=600
    )


def check_counts(url: str, key: str, pid: int, rows: int, what: str) -> dict:
    tasks, predictions = project_counts(url, key, pid)
    if tasks != rows or predictions != rows:
        sys.exit(
            f"{what}: project {pid} holds {tasks} tasks and {predictions} predictions; "
            f"expected {rows} of each"
        )
    return {"tasks": tasks, "predictions": predictions}


def run_baseline(url: str, key: str, workspace: Path, classes: list[str], title: str) -> dict:
    """Label Studio's own import: one project, then ONE import request with every task."""
    from label_studio_sdk import LabelStudio

    # timeout raised from the SDK's 60 s default (one request carries every task);
    # max_retries=0 so a slow request is never sent twice
    client = LabelStudio(base_url=url, api_key=key, timeout=1800, max_retries=0)
    queue = pq.read_table(workspace / layout.REVIEW_QUEUE)
    counter = RequestCounter()
    with counter.counting():
        # the project is created untimed (curate's timing includes its own creation)
        config = labeling_config("text", classes)
        pid = int(client.projects.create(title=title, label_config=config).id)
        t0 = time.perf_counter()
        tasks = [task_for(row, "text", row["input"], "curate") for row in queue.to_pylist()]
        t_build = time.perf_counter()
        client.projects.import_tasks(id=pid, request=tasks)
        t_end = time.perf_counter()
    return {
        "project_id": pid,
        "seconds": t_end - t0,
        "build_s": t_build - t0,
        "import_s": t_end - t_build,
        "requests": counter.total,
        "requests_by_path": grouped(counter.calls),
    }


def run_curate(workspace: Path, title: str, chunk_size: int) -> dict:
    set_review(workspace, title, chunk_size)
    counter = RequestCounter()
    with counter.counting():
        t0 = time.perf_counter()
        report = push_queue(workspace)
        seconds = time.perf_counter() - t0
    return {
        "project_id": int(report["project_id"]),
        "seconds": seconds,
        "report": report,
        "requests": counter.total,
        "requests_by_path": grouped(counter.calls),
    }


def run_repush(workspace: Path) -> dict:
    counter = RequestCounter()
    with counter.counting():
        t0 = time.perf_counter()
        report = push_queue(workspace)
        seconds = time.perf_counter() - t0
    if report["pushed"] != 0:
        sys.exit(f"re-push created {report['pushed']} tasks; expected 0")
    return {
        "seconds": seconds,
        "report": report,
        "requests": counter.total,
        "requests_by_path": grouped(counter.calls),
    }


@contextlib.contextmanager
def label_studio_server(tmp: Path):
    url = os.environ.get("LABEL_STUDIO_URL")
    key = os.environ.get("LABEL_STUDIO_API_KEY")
    if url and key:
        yield url.rstrip("/"), key, "existing server (LABEL_STUDIO_URL)"
        return
    from tests.integration.server import running_label_studio

    base = tmp / "label_studio"
    base.mkdir()
    print("starting a throw-away Label Studio ...", flush=True)
    with running_label_studio(base) as server:
        print(f"  up at {server.url} after {server.startup_s:.0f} s", flush=True)
        os.environ["LABEL_STUDIO_URL"] = server.url
        os.environ["LABEL_STUDIO_API_KEY"] = server.api_key
        try:
            desc = f"throw-away server (startup {server.startup_s:.0f} s)"
            yield server.url, server.api_key, desc
        finally:
            os.environ.pop("LABEL_STUDIO_URL", None)
            os.environ.pop("LABEL_STUDIO_API_KEY", None)


def label_studio_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("label-studio", "label-studio-sdk"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)
