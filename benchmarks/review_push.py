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
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common
from common import REPO, int_list, write_json

sys.path.insert(0, str(REPO))

import pyarrow.parquet as pq  # noqa: E402
from review_push_runs import (  # noqa: E402
    DATASETS,
    build_workspace,
    check_counts,
    delete_project,
    label_studio_server,
    label_studio_version,
    run_baseline,
    run_curate,
    run_repush,
)

from curate import layout  # noqa: E402

TUNING_DATA = "banking77"
EVAL_DATA = "agnews"
RESULTS = common.RESULTS / "review_push.json"
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
    tuning_chunks = int_list(args.tuning_chunks)
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
    write_json(RESULTS, summary, default=str, end="")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
