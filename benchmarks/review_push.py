"""Review push throughput: ``curate review push`` (chunked, resumable) vs Label Studio's own
single-request import of the same tasks, into a real Label Studio server.

Run from the repository root:

    .venv/bin/python benchmarks/review_push.py [--rows 10000] [--repeats 3] [--chunk-size 1000]

A throw-away Label Studio is started in a temporary directory (``running_label_studio`` from
``tests/integration/server.py``; ~40 s), unless ``LABEL_STUDIO_URL`` and
``LABEL_STUDIO_API_KEY`` are set, in which case that server is used. The review workspace
holds the first ``--rows`` texts of ``../shared/data/banking77/train.csv`` (read, never
copied into the project). Figures are printed as a table and written to
``benchmarks/results/review_push.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402

from curate import layout  # noqa: E402
from curate.review.commands import push_queue  # noqa: E402
from curate.review.tasks import labeling_config, task_for  # noqa: E402

DATA = REPO.parent / "shared/data/banking77/train.csv"
RESULTS = REPO / "benchmarks/results/review_push.json"
TARGET = 0.8


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
def build_workspace(root: Path, rows: int, chunk_size: int, seed: int) -> tuple[Path, list[str]]:
    """A review workspace like ``tests/integration/workspaces.review_workspace``, with the
    first ``rows`` banking77 texts. Returns the workspace and the sorted class list."""
    frame = pd.read_csv(DATA)
    classes = sorted(frame["category"].unique().tolist())
    frame = frame.head(rows)
    n = len(frame)
    rng = np.random.default_rng(seed)
    index = {c: i for i, c in enumerate(classes)}
    given = frame["category"].tolist()
    # a class other than the given one: shift by 1..76 positions
    shift = rng.integers(1, len(classes), size=n)
    suggested = [
        classes[(index[g] + int(s)) % len(classes)] for g, s in zip(given, shift, strict=True)
    ]
    confidence = np.round(rng.uniform(0.5, 1.0, size=n), 6).tolist()
    ids = [f"b77-{i:05d}" for i in range(n)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--keep-projects", action="store_true", help="do not delete the projects afterwards"
    )
    args = parser.parse_args()
    os.environ["DVC_NO_ANALYTICS"] = "1"
    load_start = os.getloadavg()
    run_id = time.strftime("%H%M%S")
    repeats: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="curate-review-push-") as tmpdir:
        tmp = Path(tmpdir)
        workspace, classes = build_workspace(tmp / "ws", args.rows, args.chunk_size, args.seed)
        rows = pq.read_metadata(workspace / layout.REVIEW_QUEUE).num_rows
        with label_studio_server(tmp) as (url, key, server_desc):
            for r in range(args.repeats):
                order = ["baseline", "curate"] if r % 2 == 0 else ["curate", "baseline"]
                result: dict = {"repeat": r + 1, "order": order}
                for method in order:
                    title = f"bench-{run_id}-{method}-{r + 1}"
                    if method == "baseline":
                        res = run_baseline(url, key, workspace, classes, title)
                    else:
                        res = run_curate(workspace, title, args.chunk_size)
                    res.update(check_counts(url, key, res["project_id"], rows, method))
                    result[method] = res
                    print(
                        f"  repeat {r + 1} {method:8s} {res['seconds']:7.2f} s "
                        f"({res['requests']} requests)",
                        flush=True,
                    )
                rep = run_repush(workspace)
                counts = check_counts(url, key, result["curate"]["project_id"], rows, "re-push")
                rep.update(counts)
                result["repush"] = rep
                print(f"  repeat {r + 1} re-push   {rep['seconds']:7.2f} s", flush=True)
                repeats.append(result)
                if not args.keep_projects:
                    for method in ("baseline", "curate"):
                        delete_project(url, key, result[method]["project_id"])
    load_end = os.getloadavg()

    def med(method: str) -> float:
        return statistics.median(r[method]["seconds"] for r in repeats)

    base_s, cur_s, rep_s = med("baseline"), med("curate"), med("repush")
    base_tps, cur_tps = rows / base_s, rows / cur_s
    ratio = cur_tps / base_tps
    chunks = repeats[0]["curate"]["report"]["chunks"]
    summary = {
        "rows": rows,
        "chunk_size": args.chunk_size,
        "repeats": args.repeats,
        "server": server_desc,
        "versions": label_studio_version(),
        "load_average_start": load_start,
        "load_average_end": load_end,
        "median_s": {"baseline": base_s, "curate": cur_s, "repush": rep_s},
        "tasks_per_s": {"baseline": base_tps, "curate": cur_tps},
        "ratio": ratio,
        "target": TARGET,
        "meets_target": ratio >= TARGET,
        "curate_chunks": chunks,
        "per_repeat": repeats,
    }
    print()
    print(
        f"review push: {rows:,} banking77 texts, 77 classes, {args.repeats} repeats, "
        f"curate chunk size {args.chunk_size} ({chunks} import chunks); {server_desc}; "
        f"{summary['versions']}"
    )
    print()
    header = f"{'method':<40} {'median s':>9} {'tasks/s':>9} {'ratio':>7} {'requests':>9}"
    print(header)
    print("-" * len(header))
    print(
        f"{'baseline (LS single-request import)':<40} {base_s:9.2f} {base_tps:9.1f} "
        f"{'1.00':>7} {repeats[0]['baseline']['requests']:>9}"
    )
    print(
        f"{'curate push_queue':<40} {cur_s:9.2f} {cur_tps:9.1f} {ratio:7.2f} "
        f"{repeats[0]['curate']['requests']:>9}"
    )
    print(
        f"{'curate re-push (unchanged, 0 new tasks)':<40} {rep_s:9.2f} {'-':>9} {'-':>7} "
        f"{repeats[0]['repush']['requests']:>9}"
    )
    print()
    print("per repeat (seconds; first-run method first):")
    for r in repeats:
        b, c, p = r["baseline"], r["curate"], r["repush"]
        print(
            f"  {r['repeat']}: order {' -> '.join(r['order'])}; baseline {b['seconds']:.2f} "
            f"(build {b['build_s']:.2f} + import {b['import_s']:.2f}); curate {c['seconds']:.2f} "
            f"({c['report']['chunks']} chunks); re-push {p['seconds']:.2f}; ratio "
            f"{b['seconds'] / c['seconds']:.2f}"
        )
    print()
    print("requests per run:")
    for method in ("baseline", "curate", "repush"):
        paths = ", ".join(f"{k} x{v}" for k, v in repeats[0][method]["requests_by_path"].items())
        print(f"  {method}: {repeats[0][method]['requests']} ({paths})")
    print()
    verdict = "meets" if ratio >= TARGET else "BELOW"
    print(f"ratio curate/baseline tasks/s = {ratio:.2f} ({verdict} the target {TARGET})")
    print(
        "load average (1/5/15 min): start "
        + " / ".join(f"{x:.2f}" for x in load_start)
        + "; end "
        + " / ".join(f"{x:.2f}" for x in load_end)
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
