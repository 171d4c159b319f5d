"""Review push throughput: ``curate review push`` (chunked, resumable) vs Label Studio's own
single-request import of the same tasks, into a real Label Studio server.

Run from the repository root:

    .venv/bin/python benchmarks/review_push.py [--rows 10000] [--repeats 3]
        [--tuning-chunks 500,1000,2500] [--tuning-repeats 1] [--chunk-size N] [--no-tuning]

A throw-away Label Studio is started in a temporary directory (``running_label_studio`` from
``tests/integration/server.py``; ~40 s), unless ``LABEL_STUDIO_URL`` and
``LABEL_STUDIO_API_KEY`` are set, in which case that server is used.

Tuning / evaluation split: ``review.chunk_size`` (1,000) was chosen on the first 10,000 texts of
``../shared/data/banking77/train.csv``. The *tuning part* re-runs that choice there: per repeat
the baseline once and curate at every ``--tuning-chunks`` size; the choice is the chunk size
with the highest median tasks/s, a smaller one within 5% of it preferred (a finer resume point).
The *evaluation part* scores curate's default (``ReviewConfig().chunk_size``, or
``--chunk-size``) against the baseline on the first ``--rows`` texts of
``../shared/data/noisy_agnews/train_10k.parquet`` (longer news texts, never used to choose),
``--repeats`` times, alternating which method runs first. The verdict line (``verdict``) names
the baseline, gives both tasks/s side by side and holds when curate reaches ``TARGET`` (0.8)
of the baseline's tasks/s. Data are read, never copied into the project. Figures are printed
and written to ``benchmarks/results/review_push.json``.
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

DATA = REPO.parent / "shared/data"
#: name -> (file, text column, label column). banking77 is where chunk_size was chosen.
DATASETS = {
    "banking77": ("banking77/train.csv", "text", "category"),
    "agnews": ("noisy_agnews/train_10k.parquet", "text", "label"),
}
TUNING_DATA = "banking77"
EVAL_DATA = "agnews"
RESULTS = REPO / "benchmarks/results/review_push.json"
TARGET = 0.8
#: A smaller tuning chunk within this share of the fastest one's tasks/s is preferred.
TIE = 0.05


def choose_chunk(rates: dict[int, float]) -> int:
    """The tuning choice: the smallest chunk size whose tasks/s is within ``TIE`` of the best."""
    best = max(rates.values())
    return min(c for c, r in rates.items() if r >= (1 - TIE) * best)


def verdict(evaluation: dict | None, chunk: int, eval_data: str, tuning_choice: int | None) -> dict:
    """curate's tasks/s against the baseline's (medians, same run): met at ``TARGET``.

    ``evaluation`` holds ``tasks_per_s`` for "baseline" and "curate"; a missing one is NOT met.
    In-sample when the evaluation data is where the chunk size was chosen.
    """
    if eval_data == TUNING_DATA:
        sample = (f"in-sample: YES (chunk_size chosen on {TUNING_DATA}'s first 10,000 texts, "
                  "the data scored here)")  # fmt: skip
    else:
        sample = (f"in-sample: no (chunk_size chosen on {TUNING_DATA}'s first 10,000 texts; "
                  f"scored on {eval_data}, never used to choose)")  # fmt: skip
    if tuning_choice is None:
        sample += "; tuning part not run"
    else:
        same = "is" if tuning_choice == chunk else "is NOT"
        sample += f"; this run's tuning choice is {tuning_choice}, the scored chunk size {same} it"
    tps = (evaluation or {}).get("tasks_per_s", {})
    if not tps.get("baseline") or not tps.get("curate"):
        which = "baseline" if not tps.get("baseline") else "curate"
        return dict(holds=False, line=f"verdict: NOT met: no {which} figures from this run; "
                    f"{sample}")  # fmt: skip
    ratio = tps["curate"] / tps["baseline"]
    holds = ratio >= TARGET
    line = (f"verdict ({eval_data}, chunk size {chunk}): curate push_queue {tps['curate']:.1f} "
            f"tasks/s vs baseline (Label Studio single-request import, same run) "
            f"{tps['baseline']:.1f} tasks/s = {ratio:.2f}; target >= {TARGET} -> "
            f"{'met' if holds else 'NOT met'}; {sample}")  # fmt: skip
    return dict(holds=holds, ratio=ratio, line=line)


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


def run_part(url, key, workspace, classes, rows, chunks, repeats, run_id, part, keep) -> list:
    """``repeats`` rounds of the baseline once and curate at every chunk size (first method
    alternating); the unchanged queue is re-pushed after the first curate run of a round."""
    out: list[dict] = []
    for r in range(repeats):
        order = ["baseline", *chunks] if r % 2 == 0 else [*chunks, "baseline"]
        result: dict = {"repeat": r + 1, "order": [str(m) for m in order], "curate": {}}
        for method in order:
            title = f"bench-{run_id}-{part}-{method}-{r + 1}"
            if method == "baseline":
                res = run_baseline(url, key, workspace, classes, title)
            else:
                res = run_curate(workspace, title, method)
            res.update(check_counts(url, key, res["project_id"], rows, f"{part} {method}"))
            if method == "baseline":
                result["baseline"] = res
            else:
                result["curate"][method] = res
            name = "baseline" if method == "baseline" else f"curate chunk {method}"
            print(
                f"  {part} repeat {r + 1} {name:<18} {res['seconds']:7.2f} s "
                f"({res['requests']} requests)",
                flush=True,
            )
        if part == "evaluation":
            rep = run_repush(workspace)
            pid = result["curate"][chunks[-1]]["project_id"]
            rep.update(check_counts(url, key, pid, rows, "re-push"))
            result["repush"] = rep
            print(f"  {part} repeat {r + 1} re-push            {rep['seconds']:7.2f} s", flush=True)
        out.append(result)
        if not keep:
            delete_project(url, key, result["baseline"]["project_id"])
            for res in result["curate"].values():
                delete_project(url, key, res["project_id"])
    return out


def summarise(repeats: list[dict], rows: int, chunk: int) -> dict:
    base_s = statistics.median(r["baseline"]["seconds"] for r in repeats)
    cur_s = statistics.median(r["curate"][chunk]["seconds"] for r in repeats)
    return {
        "rows": rows,
        "chunk_size": chunk,
        "median_s": {"baseline": base_s, "curate": cur_s},
        "tasks_per_s": {"baseline": rows / base_s, "curate": rows / cur_s},
        "ratio": base_s / cur_s,
    }


def main() -> None:
    from curate.config import ReviewConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="evaluation repeats")
    parser.add_argument("--chunk-size", type=int, default=ReviewConfig().chunk_size)
    parser.add_argument("--tuning-chunks", default="500,1000,2500")
    parser.add_argument("--tuning-repeats", type=int, default=1)
    parser.add_argument("--no-tuning", action="store_true", help="evaluation part only")
    parser.add_argument("--eval-data", choices=sorted(DATASETS), default=EVAL_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--keep-projects", action="store_true", help="do not delete the projects afterwards"
    )
    args = parser.parse_args()
    os.environ["DVC_NO_ANALYTICS"] = "1"
    load_start = os.getloadavg()
    run_id = time.strftime("%H%M%S")
    tuning_chunks = [int(c) for c in args.tuning_chunks.split(",")]
    tuning: dict | None = None
    with tempfile.TemporaryDirectory(prefix="curate-review-push-") as tmpdir:
        tmp = Path(tmpdir)
        with label_studio_server(tmp) as (url, key, server_desc):
            if not args.no_tuning:
                ws, classes = build_workspace(
                    tmp / "tune", TUNING_DATA, args.rows, args.chunk_size, args.seed
                )
                rows = pq.read_metadata(ws / layout.REVIEW_QUEUE).num_rows
                reps = run_part(url, key, ws, classes, rows, tuning_chunks, args.tuning_repeats,
                                run_id, "tuning", args.keep_projects)  # fmt: skip
                per_chunk = {c: summarise(reps, rows, c) for c in tuning_chunks}
                rates = {c: v["tasks_per_s"]["curate"] for c, v in per_chunk.items()}
                tuning = {"data": TUNING_DATA, "rows": rows, "per_chunk": per_chunk,
                          "choice": choose_chunk(rates), "per_repeat": reps}  # fmt: skip
            ws, classes = build_workspace(
                tmp / "eval", args.eval_data, args.rows, args.chunk_size, args.seed
            )
            rows = pq.read_metadata(ws / layout.REVIEW_QUEUE).num_rows
            repeats = run_part(url, key, ws, classes, rows, [args.chunk_size], args.repeats,
                               run_id, "evaluation", args.keep_projects)  # fmt: skip
    load_end = os.getloadavg()

    evaluation = summarise(repeats, rows, args.chunk_size)
    rep_s = statistics.median(r["repush"]["seconds"] for r in repeats)
    first = repeats[0]["curate"][args.chunk_size]
    found = verdict(evaluation, args.chunk_size, args.eval_data, tuning and tuning["choice"])
    summary = {
        "server": server_desc,
        "versions": label_studio_version(),
        "load_average_start": load_start,
        "load_average_end": load_end,
        "tuning": tuning,
        "evaluation": {
            **evaluation,
            "data": args.eval_data,
            "repeats": args.repeats,
            "repush_median_s": rep_s,
            "curate_chunks": first["report"]["chunks"],
            "per_repeat": repeats,
        },  # fmt: skip
        "target": TARGET,
        "verdict": found,
    }
    print()
    print(f"{server_desc}; {summary['versions']}")
    if tuning is not None:
        print(
            f"\ntuning part ({TUNING_DATA}, first {tuning['rows']:,} texts, "
            f"{args.tuning_repeats} repeat(s); the data chunk_size was chosen on):"
        )
        for c, v in tuning["per_chunk"].items():
            mark = "  <- choice" if c == tuning["choice"] else ""
            print(
                f"  chunk {c:>5}: curate {v['median_s']['curate']:6.2f} s "
                f"({v['tasks_per_s']['curate']:6.1f} tasks/s), baseline "
                f"{v['median_s']['baseline']:6.2f} s, ratio {v['ratio']:.2f}{mark}"
            )
        print(
            f"  rule: the highest tasks/s, a smaller chunk within {TIE:.0%} of it preferred; "
            f"default {args.chunk_size}"
        )
    print(
        f"\nevaluation part: {rows:,} {args.eval_data} texts, {len(classes)} classes, "
        f"{args.repeats} repeats, curate chunk size {args.chunk_size} "
        f"({first['report']['chunks']} import chunks)"
    )
    header = f"{'method':<40} {'median s':>9} {'tasks/s':>9} {'ratio':>7} {'requests':>9}"
    print(header)
    print("-" * len(header))
    ev = evaluation
    print(
        f"{'baseline (LS single-request import)':<40} {ev['median_s']['baseline']:9.2f} "
        f"{ev['tasks_per_s']['baseline']:9.1f} {'1.00':>7} "
        f"{repeats[0]['baseline']['requests']:>9}"
    )
    print(
        f"{'curate push_queue':<40} {ev['median_s']['curate']:9.2f} "
        f"{ev['tasks_per_s']['curate']:9.1f} {ev['ratio']:7.2f} {first['requests']:>9}"
    )
    print(
        f"{'curate re-push (unchanged, 0 new tasks)':<40} {rep_s:9.2f} {'-':>9} {'-':>7} "
        f"{repeats[0]['repush']['requests']:>9}"
    )
    print("\nper repeat (seconds; first-run method first):")
    for r in repeats:
        b, c, p = r["baseline"], r["curate"][args.chunk_size], r["repush"]
        print(
            f"  {r['repeat']}: order {' -> '.join(r['order'])}; baseline {b['seconds']:.2f} "
            f"(build {b['build_s']:.2f} + import {b['import_s']:.2f}); curate {c['seconds']:.2f} "
            f"({c['report']['chunks']} chunks); re-push {p['seconds']:.2f}; ratio "
            f"{b['seconds'] / c['seconds']:.2f}"
        )
    print("\nrequests per run:")
    for name, res in (("baseline", repeats[0]["baseline"]), ("curate", first),
                      ("repush", repeats[0]["repush"])):  # fmt: skip
        paths = ", ".join(f"{k} x{v}" for k, v in res["requests_by_path"].items())
        print(f"  {name}: {res['requests']} ({paths})")
    print()
    print(found["line"])
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
