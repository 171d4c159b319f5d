"""kNN graph and near-duplicate check at scale: curate vs Datalab, sklearn and exact faiss.

Run from the repository root (see benchmarks/README.md for the details):

    .venv/bin/python benchmarks/knn_scale.py --part speed [--sizes 20000,100000] [--timeout 1800]
    .venv/bin/python benchmarks/knn_scale.py --part scale [--rows 1000000]
                                             [--method ivf|hnsw|exact] [--nprobe N] [--nlist N]
                                             [--ef-search N] [--hnsw-m N] [--train-per-list N]
                                             [--refine-iters N]
    .venv/bin/python benchmarks/knn_scale.py --part sweep [--rows 200000]
    common: [--threshold T] [--copy-cos LO,HI] [--near-rate R] [--exact-rate R] [--seed S]

Data: a seeded synthetic mixture shaped like real sentence embeddings (384-d, L2-normalised),
calibrated so that its nearest-neighbour similarities resemble all-MiniLM-L6-v2 embeddings of
banking77 (printed side by side; see ``make_data``), with planted duplicates whose originals
are known: ``--near-rate`` (2%) of the rows are near copies of another row and
``--exact-rate`` (0.5%) exact copies. A near copy's cosine to its original is drawn uniformly
from [t - (1 - t), 1 - 0.05 (1 - t)], t being the threshold (0.96-0.999 at t = 0.98): about
half of them are below the threshold and must not be reported, the rest above it.
The threshold is curate's default for embeddings (``near_duplicate_threshold(DuplicatesConfig(),
"embedding")``, 0.98) unless ``--threshold`` is given; every method cuts at that cosine.

Seeds: the index defaults (exact up to 10,000 rows; above, the ``ivf`` graph of
``curate.index.allknn``: about 4 sqrt(n) k-means lists, nprobe 8 (16 above 200,000 rows), 16
training rows per list, 3 neighbour-descent rounds) were chosen with ``sweep`` and ``scale``
on data seed ``TUNING_SEED`` (0); ``speed`` and ``scale`` report on the held-out ``EVAL_SEED``
(1) by default, and their verdict says which.

Scoring, the same for every method: a method's output is a set of direct pairs (row, row). The
truth is every pair at cosine >= t, found by blocked numpy brute force in the parent (no method's
code). *Recall*: the share of true pairs the method reports; *precision*: the share of its pairs
at cosine >= t; and per band of planted pairs (below t, [t, mid), [mid, 1), exact copies) the
share reported. Sharing a (possibly chained) group is not a hit. Scoring is outside the timings.

* **speed**: per size, each method in its own child process (peak memory = that child's
  ``ru_maxrss``; loading the data included, generating it not): curate
  ``build_graph(X, IndexConfig())`` + ``find_near_duplicates`` (the ``near_duplicate`` check;
  its pairs are the graph edges at >= t it groups, ``near_duplicate_pairs``, and its
  ``linked_to`` links are scored too); cleanlab
  ``Datalab(...).find_issues(features=X, issue_types={"near_duplicate": {"threshold": r}})``
  with r chosen so that its cut is cosine >= t (``datalab_relative_threshold``; its default
  radius is scored from the same run's graph); sklearn
  ``NearestNeighbors(n_neighbors=11, algorithm="brute", metric="cosine")`` + pairs at >= t;
  faiss ``IndexFlatIP`` + ``range_search`` at t (exact, no k limit). Prints for every method
  whether its search is exact or approximate, wall time, peak RSS, recall and precision, the
  time ratios, and a verdict at 100k+ rows naming its baselines and whether it is in-sample.
* **scale**: curate alone at 1,000,000 rows: ``build_graph`` (default ``IndexConfig()`` unless
  overridden), the ``near_duplicate`` check, the graph artifact (``graph_table`` +
  ``write_parquet``), with recall@10 against exact search (``graph.stats`` and an independent
  numpy cross-check on other seeded queries) and the planted pairs above t found as edges.
* **sweep**: approximate-index settings (IVF graph nprobe / nlist / descent rounds, HNSW) at
  ``--rows`` (200,000),
  each run like **scale**, to pick defaults that meet recall@10 >= 0.95 in time.

Figures are printed and written to ``benchmarks/results/knn_scale.json`` (git-ignored), one
entry per part and index overrides (``scale``, ``scale --method ivf``, ...), which a new run of
the same replaces. Datalab needs the project's ``bench`` extra (``pip install -e '.[dev,bench]'``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
from common import int_list, json_child, write_json
from knn_scale_data import (
    DIM,
    EPS,
    EVAL_SEED,
    QUERIES,
    TUNING_SEED,
    all_pairs_truth,
    banking77_profile,
    default_threshold,
    make_data,
    nn_profile,
    score_results,
    unplanted_queries,
)
from knn_scale_report import (
    in_sample_note,
    print_profiles,
    print_speed_table,
    scale_row,
    scale_targets,
    speed_verdict,
)
from knn_scale_runners import RUNNERS, peak_rss_mib

RESULTS = common.RESULTS / "knn_scale.json"


# --- Child processes ------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    """Child-process body: load the data, run one method, print one JSON line."""
    data = Path(args.data)
    t0 = time.perf_counter()
    if args.worker == "curate":  # the pipeline's reader; the baselines do not import curate
        from curate.index import read_embedding_matrix

        X = read_embedding_matrix(data / "X.npy")
    else:
        X = np.load(data / "X.npy")
    load_s = time.perf_counter() - t0
    pairs, exact, labels = (np.load(data / f"{k}.npy") for k in ("pairs", "exact", "labels"))
    out = {"method": args.worker, "rows": len(X), "load_s": load_s}
    out.update(RUNNERS[args.worker](X, pairs, exact, labels, args))
    out.setdefault("peak_rss_mib", peak_rss_mib())
    print(json.dumps(out, default=float))


def child(method: str, data: Path, args: argparse.Namespace, extra: list[str]) -> dict:
    """Run one method's worker in a fresh child process (see ``common.json_child``: its peak
    RSS is its own, not this parent's) and return the JSON it printed."""
    cmd = [sys.executable, __file__, "--worker", method]
    cmd += ["--data", str(data), "--part", args.part, "--seed", str(args.seed)]
    cmd += ["--threshold", str(args.threshold), *extra]
    print(f"  running {method} ...", file=sys.stderr, flush=True)
    out = json_child(cmd, timeout=args.timeout)
    return out if "method" in out else {"method": method, **out}


def override_flags(args: argparse.Namespace) -> list[str]:
    flags = []
    names = ("method", "nprobe", "nlist", "ef_search", "hnsw_m", "train_per_list", "refine_iters")
    for name in names:
        value = getattr(args, name)
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags


# --- Orchestration --------------------------------------------------------------------------


def generate(rows: int, args: argparse.Namespace, tmp: Path) -> tuple[Path, dict]:
    """Write the synthetic data to ``tmp`` (X.npy memmap, pairs, exact, labels)."""
    data = tmp / f"n{rows}"
    data.mkdir()
    t0 = time.perf_counter()
    X = np.lib.format.open_memmap(data / "X.npy", mode="w+", dtype=np.float32, shape=(rows, DIM))
    pairs, exact, labels = make_data(X, args.near_rate, args.exact_rate, args.copy_cos, args.seed)
    for name, arr in (("pairs", pairs), ("exact", exact), ("labels", labels)):
        np.save(data / f"{name}.npy", arr)
    gen_s = time.perf_counter() - t0
    profile = nn_profile(X, unplanted_queries(rows, pairs, args.seed))
    X.flush()
    del X
    info = {"generate_s": gen_s, "near_copies": int((~exact).sum())}
    info["exact_copies"] = int(exact.sum())
    print(
        f"generated {rows:,} x {DIM} in {gen_s:.1f} s: {info['near_copies']:,} near copies, "
        f"{info['exact_copies']:,} exact copies",
        file=sys.stderr,
    )
    return data, {**info, "profile": profile}


def calibration(args: argparse.Namespace) -> dict:
    """banking77 vs the generator at banking77's size (no planted copies)."""
    ref = banking77_profile()
    X = np.empty((10_003, DIM), np.float32)
    make_data(X, 0.0, 0.0, seed=args.seed)
    rng = np.random.default_rng(0)
    syn = nn_profile(X, np.sort(rng.choice(len(X), QUERIES, replace=False)))
    return {"banking77": ref, "synthetic_10003": syn}


def reference_profiles(cal: dict) -> list[tuple[str, dict | None]]:
    return [
        ("banking77 train, MiniLM (10,003 rows)", cal["banking77"]),
        ("synthetic, 10,003 rows, no copies", cal["synthetic_10003"]),
    ]


def part_speed(args: argparse.Namespace, tmp: Path) -> dict:
    out: dict = {"calibration": calibration(args), "sizes": {}}
    generated = {rows: generate(rows, args, tmp) for rows in args.sizes}
    mine = [
        (f"synthetic, {n:,} rows, rows in no planted pair", g[1]["profile"])
        for n, g in generated.items()
    ]
    print_profiles([*reference_profiles(out["calibration"]), *mine])
    t = args.threshold
    for rows, (data, info) in generated.items():
        # The truth: every pair at cosine >= t, by numpy brute force (not timed, no method's code).
        t0 = time.perf_counter()
        truth, nn1 = all_pairs_truth(np.load(data / "X.npy"), t)
        info["truth_s"] = time.perf_counter() - t0
        info["median_nn_distance"] = float(np.median(1.0 - nn1.astype(np.float64)))
        (data / "truth.json").write_text(
            json.dumps({"median_nn_distance": info["median_nn_distance"]})
        )
        results = [child(method, data, args, override_flags(args)) for method in RUNNERS]
        bands = score_results(data, results, t, truth)
        info["planted_bands"] = bands["counts"]
        info["true_pairs"] = int(np.sum(truth[1] >= t + EPS))
        out["sizes"][rows] = {"data": info, "results": results}
        print_speed_table(rows, info, bands, results, args)
        if rows >= 100_000:
            print(speed_verdict(rows, results, args))
    return out


def part_scale(args: argparse.Namespace, tmp: Path, rows: int, configs: list[list[str]]) -> dict:
    cal = calibration(args)
    data, info = generate(rows, args, tmp)
    mine = (f"synthetic, {rows:,} rows, rows in no planted pair", info["profile"])
    print_profiles([*reference_profiles(cal), mine])
    print(
        f"\n{rows:,} rows x {DIM}: {info['near_copies']:,} near copies "
        f"(cosine {args.copy_cos[0]}-{args.copy_cos[1]}) + {info['exact_copies']:,} exact "
        f"(generated in {info['generate_s']:.0f} s); threshold cosine >= {args.threshold}"
    )
    print(
        f"{'settings':<34} {'load':>5} {'train':>6} {'search':>6} {'recall':>6} {'check':>6} "
        f"{'write':>6} {'total s':>8} {'peak MiB':>8} {'recall@10':>9} {'x-check':>7} "
        f"{'planted':>7}",
        flush=True,
    )
    results = []
    for flags in configs:
        r = child("curate", data, args, flags)
        r["flags"] = " ".join(flags) or "IndexConfig() defaults"
        if "graph_stats" in r:
            score_results(data, [r], args.threshold, None)
        results.append(r)
        print(scale_row(r), flush=True)
        if len(configs) == 1:
            print(scale_targets(r) + ". " + in_sample_note(args))
    print(
        "train = index build (IVF graph: k-means + list assignment; HNSW: insertion); search = "
        "IVF graph: lists + descent rounds, HNSW: queries; recall = graph.stats' own "
        "recall@10 measurement (inside build_graph); total = load + graph + check + write; "
        "x-check = recall@10 by numpy brute force on 1000 other seeded queries; planted = share "
        f"of the planted pairs at cosine >= {args.threshold} that are direct graph edges at "
        "that cosine (no all-pairs truth at this size); seed "
        f"{args.seed} ({'the tuning seed' if args.seed == TUNING_SEED else 'held out'})"
    )
    return {"calibration": cal, "data": info, "results": results}


def sweep_configs(rows: int) -> list[list[str]]:
    """The IVF graph around its defaults (nprobe, lists, descent rounds), and HNSW."""
    root = int(math.sqrt(rows))
    ivf = [["--method", "ivf", "--nprobe", str(p)] for p in (4, 8, 16)]
    ivf += [["--method", "ivf", "--refine-iters", str(r)] for r in (0, 2, 4)]
    ivf += [["--method", "ivf", "--nlist", str(c * root)] for c in (4, 1)]
    hnsw = [["--method", "hnsw", "--ef-search", "128"]]
    return ivf + hnsw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["speed", "scale", "sweep"], default="speed")
    parser.add_argument("--sizes", default="20000,100000", help="speed: comma-separated rows")
    parser.add_argument("--rows", type=int, help="scale: 1,000,000; sweep: 200,000")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    parser.add_argument("--near-rate", type=float, default=0.02)
    parser.add_argument("--exact-rate", type=float, default=0.005)
    parser.add_argument(
        "--threshold", type=float, help="near-duplicate cosine (default: curate's for embeddings)"
    )
    parser.add_argument(
        "--copy-cos",
        help="LO,HI cosine of near copies to their original (default: from the "
        "threshold t, [t + 0.2 (1 - t), 1 - 0.1 (1 - t)], i.e. 0.96-0.995 at t = 0.95)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help=f"data seed (default: {TUNING_SEED} for sweep, the tuning seed; "
        f"{EVAL_SEED} for speed and scale, held out)",
    )
    parser.add_argument("--method", choices=["auto", "exact", "ivf", "hnsw"])
    parser.add_argument("--nprobe", type=int)
    parser.add_argument("--nlist", type=int)
    parser.add_argument("--ef-search", type=int)
    parser.add_argument("--hnsw-m", type=int)
    parser.add_argument("--train-per-list", type=int)
    parser.add_argument("--refine-iters", type=int)
    parser.add_argument("--worker", choices=list(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    args.sizes = int_list(args.sizes)
    if args.seed is None:
        args.seed = TUNING_SEED if args.part == "sweep" else EVAL_SEED
    if args.threshold is None:
        args.threshold = default_threshold()
    if args.copy_cos is None:
        gap = 1 - args.threshold
        args.copy_cos = (round(args.threshold - gap, 6), round(1 - 0.05 * gap, 6))
    else:
        args.copy_cos = tuple(float(c) for c in args.copy_cos.split(","))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="knn_scale-") as tmp:
        if args.part == "speed":
            result = part_speed(args, Path(tmp))
        elif args.part == "scale":
            result = part_scale(args, Path(tmp), args.rows or 1_000_000, [override_flags(args)])
        else:
            rows = args.rows or 200_000
            result = part_scale(args, Path(tmp), rows, sweep_configs(rows))
    load = os.getloadavg()
    print(
        f"\nload average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"on {os.cpu_count()} CPUs; whole run {time.perf_counter() - started:.0f} s"
    )
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    # One entry per part and index overrides: "scale" (defaults), "scale --method ivf", ...
    saved[" ".join([args.part, *override_flags(args)])] = {
        "args": vars(args),
        "load_avg": load,
        **result,
    }
    write_json(RESULTS, saved)


if __name__ == "__main__":
    main()
