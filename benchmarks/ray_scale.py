"""The kNN graph and the near-duplicate check on a local Ray cluster vs the local backend.

Run from the repository root, alone (the timings compare two runs of the same machine):

    .venv/bin/python benchmarks/ray_scale.py [--rows 1000000] [--seed 1] [--shard-rows 4096]
                                             [--cpus N] [--timeout 3600]

Data: ``knn_scale.py``'s seeded synthetic embeddings (384-d, L2-normalised, shaped like
all-MiniLM-L6-v2 sentence embeddings) with planted duplicates whose originals are known
(2% near copies, 0.5% exact copies; ``knn_scale_data.make_data``), written once as a .npy.

Two child processes on the same data, one after the other, each timed from loading the
matrix to the check's result (``common.json_child``; the data generation is outside):

* **local**: ``build_graph(X, IndexConfig())`` (what the knn stage runs) + the
  ``near_duplicate`` check + the graph artifact written (``graph_table`` + ``write_parquet``);
* **ray**: the same with ``build_graph_on_ray(X, IndexConfig(), ComputeConfig(backend="ray"))``
  (what the knn stage runs with ``compute.backend: ray``) on a local Ray cluster of ``--cpus``
  CPUs (all of them by default) started inside the child; the cluster's start-up is timed
  apart and reported beside the ratio.

Reported for both: wall time (load + graph + check + write), peak RSS of the process (and for
Ray the peak RSS of every worker process, whose figure counts the pages of the shared object
store it read), recall@10 (the graph's own measurement against exact search on 1000 seeded
queries) and the planted-duplicate recall (share of the planted pairs at cosine >= the
threshold that are direct graph edges at that cosine, scored in the parent). For Ray, the
per-worker throughput of every pass (rows per second per worker: rows / (pass seconds x
workers)) that a larger plan can be extrapolated from.

Figures are printed and written to ``benchmarks/results/ray_scale.json`` (git-ignored), one
entry per row count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import common
from common import json_child, peak_rss_mib, write_json

RESULTS = common.RESULTS / "ray_scale.json"
#: Acceptance at 1,000,000 rows.
TARGETS = {"recall_at_10": 0.95, "planted_recall": 0.95, "ray_over_local": 1.5}


# --- Child processes ---------------------------------------------------------------------------


def _worker_peaks() -> dict[str, float]:
    """Peak RSS (VmHWM, MiB) of this machine's Ray worker processes, by pid and title."""
    peaks = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        if not cmdline.startswith("ray::"):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                title = cmdline.split("\0")[0]
                peaks[f"{entry.name} {title}"] = int(line.split()[1]) / 1024
    return peaks


def worker(args: argparse.Namespace) -> None:
    """Child-process body: one backend on the data; prints one JSON line."""
    import numpy as np
    import pyarrow as pa

    from curate.artifacts import write_parquet
    from curate.checks.near_duplicate import find_near_duplicates, near_duplicate_pairs
    from curate.config import DuplicatesConfig, IndexConfig
    from curate.index import build_graph, graph_table, read_embedding_matrix

    data = Path(args.data)
    out: dict = {"backend": args.worker}
    ray = None
    if args.worker == "ray":
        import ray

        from curate.compute.config import ComputeConfig
        from curate.compute.ray_knn import build_graph_on_ray

        t = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")  # fmt: skip
        out["cluster_start_s"] = time.perf_counter() - t
        out["workers"] = int(ray.cluster_resources()["CPU"])
        compute = ComputeConfig(backend="ray", shard_rows=args.shard_rows, cpus_per_actor=1.0)
    t0 = time.perf_counter()
    X = read_embedding_matrix(data / "X.npy")
    n = len(X)
    pairs, exact = np.load(data / "pairs.npy"), np.load(data / "exact.npy")
    labels = np.load(data / "labels.npy")
    ids = [f"s{i}" for i in range(n)]
    hashes = list(ids)  # exact copies share their original's content hash, as in a manifest
    for src, dst in pairs[exact]:
        hashes[dst] = hashes[src]
    t1 = time.perf_counter()
    if ray is None:
        graph = build_graph(X, IndexConfig(), seed=args.seed)
    else:
        graph = build_graph_on_ray(X, IndexConfig(), compute, seed=args.seed)
    t2 = time.perf_counter()
    result = find_near_duplicates(
        ids,
        X,
        graph,
        content_hashes=hashes,
        labels=[f"c{v}" for v in labels],
        splits=["train"] * n,
        cfg=DuplicatesConfig(threshold=args.threshold),
    )
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_parquet(graph_table(pa.array(ids, pa.string()), graph), Path(tmp) / "knn.parquet")
    t4 = time.perf_counter()
    out.update(load_s=t1 - t0, graph_s=t2 - t1, check_s=t3 - t2, write_s=t4 - t3)
    out["total_s"] = t4 - t0
    out["peak_rss_mib"] = peak_rss_mib()
    if ray is not None:
        out["worker_peak_rss_mib"] = _worker_peaks()
        ray.shutdown()
    a, b, _ = near_duplicate_pairs(graph, args.threshold)
    from knn_scale_runners import pair_keys, save_found

    save_found(data, args.worker, pair_keys(a, b, n))
    out["flagged"] = int(result.table.column("is_near_duplicate_issue").to_numpy().sum())
    out["graph_stats"] = graph.stats
    print(json.dumps(out, default=float))


def child(backend: str, data: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", backend, "--data", str(data)]
    cmd += ["--seed", str(args.seed), "--threshold", str(args.threshold)]
    cmd += ["--shard-rows", str(args.shard_rows), "--cpus", str(args.cpus)]
    print(f"  running {backend} ...", file=sys.stderr, flush=True)
    out = json_child(cmd, timeout=args.timeout)
    return out if "backend" in out else {"backend": backend, **out}


# --- Figures ---------------------------------------------------------------------------------


def throughput(r: dict) -> dict[str, float]:
    """Rows per second per worker of each distributed pass of the graph."""
    s = r["graph_stats"]
    rows, workers = s["rows"], r.get("workers", 1)
    passes = {"graph search": s["search_seconds"]}
    if s["method"] == "ivf":
        passes = {
            "list assignment": s["assign_seconds"],
            "IVF lists": s["lists_seconds"],
            "descent round (each)": s["refine_seconds"] / max(1, s["refine_iters"]),
            "graph search (lists + rounds)": s["search_seconds"],
        }
    return {name: rows / (sec * workers) for name, sec in passes.items() if sec > 0}


def report(rows: int, info: dict, results: list[dict], args: argparse.Namespace) -> dict:
    print(
        f"\n{rows:,} x {info['dim']} synthetic vectors (seed {args.seed}): "
        f"{info['near_copies']:,} near + {info['exact_copies']:,} exact planted copies; "
        f"threshold cosine >= {args.threshold}"
    )
    head = f"{'backend':<8} {'load':>6} {'graph':>7} {'check':>6} {'write':>6} {'total s':>8}"
    print(f"{head} {'peak MiB':>9} {'recall@10':>9} {'planted':>8}  method")
    for r in results:
        if "graph_stats" not in r:
            print(f"{r['backend']:<8} failed or timed out: {r}")
            continue
        s = r["graph_stats"]
        print(
            f"{r['backend']:<8} {r['load_s']:6.1f} {r['graph_s']:7.1f} {r['check_s']:6.1f} "
            f"{r['write_s']:6.1f} {r['total_s']:8.1f} {r['peak_rss_mib']:9.0f} "
            f"{s['recall_at_k']:9.4f} {r['score']['planted_recall']:8.4f}  {s['method']}"
        )
    verdict: dict = {}
    if all("graph_stats" in r for r in results):
        local, ray = results
        ratio = ray["total_s"] / local["total_s"]
        with_start = (ray["total_s"] + ray["cluster_start_s"]) / local["total_s"]
        print(
            f"ray / local wall time: {ratio:.2f}x ({with_start:.2f}x with the cluster's "
            f"start-up of {ray['cluster_start_s']:.1f} s); {ray['workers']} workers, "
            f"{ray['graph_stats']['shards']} shards per pass"
        )
        peaks = ray["worker_peak_rss_mib"]
        if peaks:
            print(
                f"ray worker processes: {len(peaks)}, peak RSS max {max(peaks.values()):.0f} MiB "
                f"(counts the object-store pages each read), driver {ray['peak_rss_mib']:.0f} MiB"
            )
        print("per-worker throughput (rows/s per worker) of the distributed passes:")
        for name, value in throughput(ray).items():
            print(f"  {name:<32} {value:12,.0f}")
        s = ray["graph_stats"]
        print(
            f"  driver-side (serial) seconds: k-means {s.get('train_seconds', 0):.1f}, "
            f"recall@10 measurement {s.get('recall_seconds', 0):.1f}"
        )
        verdict = {
            "ray_over_local": ratio,
            "ray_over_local_with_start": with_start,
            "recall_at_10": s["recall_at_k"],
            "planted_recall": ray["score"]["planted_recall"],
            "throughput_rows_per_s_per_worker": throughput(ray),
        }
        ok = (
            verdict["recall_at_10"] >= TARGETS["recall_at_10"]
            and verdict["planted_recall"] >= TARGETS["planted_recall"]
            and ratio <= TARGETS["ray_over_local"]
        )
        print(
            f"targets (at 1,000,000 rows): recall@10 >= 0.95, planted >= 0.95, ray <= 1.5x local: "
            f"{'met' if ok else 'NOT met'} at {rows:,} rows"
        )
        verdict["targets_met"] = ok
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, help="data and index seed (default: held-out 1)")
    parser.add_argument("--threshold", type=float, help="near-duplicate cosine (curate's)")
    parser.add_argument("--shard-rows", type=int, default=4096, help="compute.shard_rows")
    parser.add_argument("--cpus", type=int, default=os.cpu_count(), help="Ray cluster CPUs")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per child")
    parser.add_argument("--worker", choices=["local", "ray"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from knn_scale_data import DIM, EVAL_SEED, default_threshold, make_data, planted_bands, score

    if args.seed is None:
        args.seed = EVAL_SEED
    if args.threshold is None:
        args.threshold = default_threshold()
    if args.worker:
        worker(args)
        return
    import numpy as np

    started = time.perf_counter()
    gap = 1 - args.threshold
    copy_cos = (round(args.threshold - gap, 6), round(1 - 0.05 * gap, 6))
    with tempfile.TemporaryDirectory(prefix="ray_scale-") as tmp:
        data = Path(tmp)
        t = time.perf_counter()
        X = np.lib.format.open_memmap(
            data / "X.npy", mode="w+", dtype=np.float32, shape=(args.rows, DIM)
        )
        pairs, exact, labels = make_data(X, 0.02, 0.005, copy_cos, args.seed)
        X.flush()
        for name, arr in (("pairs", pairs), ("exact", exact), ("labels", labels)):
            np.save(data / f"{name}.npy", arr)
        info = {"dim": DIM, "generate_s": time.perf_counter() - t}
        info.update(near_copies=int((~exact).sum()), exact_copies=int(exact.sum()))
        print(f"generated {args.rows:,} rows in {info['generate_s']:.0f} s", file=sys.stderr)
        del X
        results = [child(backend, data, args) for backend in ("local", "ray")]
        X = np.load(data / "X.npy", mmap_mode="r")
        planted = planted_bands(X, pairs, exact, args.threshold)
        for r in results:
            found = data / f"found-{r['backend']}.npy"
            if found.exists():
                r["score"] = score(np.load(found), X, planted, None, args.threshold)
        info["planted_bands"] = planted["counts"]
        verdict = report(args.rows, info, results, args)
    load = os.getloadavg()
    print(
        f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on "
        f"{os.cpu_count()} CPUs; whole run {time.perf_counter() - started:.0f} s"
    )
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved[str(args.rows)] = {"args": vars(args), "data": info, "results": results,
                             "verdict": verdict, "load_avg": load}  # fmt: skip
    write_json(RESULTS, saved)


if __name__ == "__main__":
    main()
