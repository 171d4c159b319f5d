"""The methods ``knn_scale.py`` compares, each run in a child process of its own on the same
data: curate's kNN graph and near-duplicate check, cleanlab Datalab given the same cosine,
sklearn's exact top-10 and exact faiss."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from common import datalab_issues, import_datalab, peak_rss_mib
from knn_scale_data import (
    QUERIES,
    exact_top,
)


def pair_keys(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Unordered pairs ``a[i]-b[i]`` (self-pairs dropped) as sorted unique int64 keys."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    keep = a != b
    a, b = a[keep], b[keep]
    return np.unique(np.minimum(a, b) * n + np.maximum(a, b))


def save_found(data: Path, name: str, keys: np.ndarray) -> None:
    """A method's reported pairs, for the parent to score (outside the timed section)."""
    np.save(data / f"found-{name}.npy", keys)


def index_config(args: argparse.Namespace):
    from dataclasses import replace

    from curate.config import IndexConfig

    cfg = IndexConfig()
    overrides = {
        "method": args.method,
        "ivf_nprobe": args.nprobe,
        "ivf_nlist": args.nlist,
        "hnsw_ef_search": args.ef_search,
        "hnsw_m": args.hnsw_m,
        "ivf_train_per_list": args.train_per_list,
        "refine_iters": args.refine_iters,
    }
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})


def run_curate(X, pairs, exact, labels, args) -> dict:
    import pyarrow as pa

    from curate.artifacts import write_parquet
    from curate.checks.near_duplicate import find_near_duplicates, near_duplicate_pairs
    from curate.config import DuplicatesConfig
    from curate.index import build_graph, graph_table

    n = len(X)
    cfg = index_config(args)
    ids = [f"s{i}" for i in range(n)]
    hashes = list(ids)  # exact copies share their original's content hash, as in a manifest
    for src, dst in pairs[exact]:
        hashes[dst] = hashes[src]
    t0 = time.perf_counter()
    graph = build_graph(X, cfg, seed=args.seed)
    t1 = time.perf_counter()
    result = find_near_duplicates(
        ids,
        X,
        graph,
        content_hashes=hashes,
        labels=[f"c{v}" for v in labels],
        splits=["train"] * n,
        cfg=DuplicatesConfig(threshold=args.threshold),
    )
    t2 = time.perf_counter()
    out: dict = {"graph_s": t1 - t0, "check_s": t2 - t1}
    if args.part != "speed":
        with tempfile.TemporaryDirectory() as tmp:
            write_parquet(graph_table(pa.array(ids, pa.string()), graph), Path(tmp) / "knn.parquet")
            out["graph_mib"] = (Path(tmp) / "knn.parquet").stat().st_size / 2**20
        out["write_s"] = time.perf_counter() - t2
    out["total_s"] = time.perf_counter() - t0
    out["peak_rss_mib"] = peak_rss_mib()  # before the scoring and cross-check below
    # Scored: the pairs the check groups (graph edges at >= threshold), like every method's
    # direct pairs; content-hash links are left out (the baselines have no hashes).
    a, b, _ = near_duplicate_pairs(graph, args.threshold)
    save_found(Path(args.data), "curate", pair_keys(a, b, n))
    # The check's own output: each member's direct link (``linked_to``), scored the same way.
    table = result.table
    member = table.column("group_id").is_valid().to_numpy(zero_copy_only=False)
    linked = np.array(table.column("linked_to").to_pylist(), dtype=object)[member]
    rows = np.flatnonzero(member)
    targets = np.array([int(s[1:]) for s in linked], np.int64)
    save_found(Path(args.data), "curate-links", pair_keys(rows, targets, n))
    out["flagged"] = int(table.column("is_near_duplicate_issue").to_numpy().sum())
    out["summary"] = result.summary
    out["graph_stats"] = graph.stats
    out["search"] = (
        "exact" if graph.stats["method"] == "exact" else f"approx. {graph.stats['method'].upper()}"
    )
    out["config"] = {k: getattr(cfg, k) for k in ("method", "ivf_nlist", "ivf_nprobe")}
    out["config"].update(hnsw_m=cfg.hnsw_m, hnsw_ef_search=cfg.hnsw_ef_search)
    out["config"].update(refine_iters=cfg.refine_iters, exact_max_rows=cfg.exact_max_rows)
    if args.part != "speed":
        # Independent cross-check of recall@k: numpy brute force on other seeded queries.
        q = np.sort(np.random.default_rng(12345).choice(n, min(QUERIES, n), replace=False))
        t3 = time.perf_counter()
        true_i, true_s = exact_top(X, q, graph.k)
        hits = [len(set(graph.ids[r]) & set(t)) for r, t in zip(q, true_i, strict=True)]
        # Ties at the k-th similarity (exact copies) make id sets ambiguous: also by value.
        by_sim = (graph.sims[q] >= true_s[:, -1:] - 1e-5).sum(axis=1).clip(max=graph.k)
        out["recall_ids_check"] = float(np.sum(hits) / true_i.size)
        out["recall_sims_check"] = float(by_sim.sum() / true_i.size)
        out["check_queries_s"] = time.perf_counter() - t3
    return out


def datalab_relative_threshold(threshold: float, median_nn_distance: float) -> float:
    """Datalab's ``near_duplicate`` ``threshold`` that cuts at cosine >= ``threshold``.

    Datalab (cleanlab 2.x, ``NearDuplicateIssueManager``) keeps a neighbour when its cosine
    distance (its default metric above 3 dimensions) is ``< threshold * median``, the median
    being that of every row's distance to its nearest neighbour in its own k = 10 graph. So
    cosine >= t is distance <= 1 - t: ``(1 - t) / median``, nudged up by a relative 1e-6 so
    that ``<`` keeps distances equal to 1 - t.
    """
    return (1.0 - threshold) / median_nn_distance * (1 + 1e-6)


def run_cleanlab(X, pairs, exact, labels, args) -> dict:
    import_datalab()  # outside the timed section
    n = len(X)
    truth = json.loads((Path(args.data) / "truth.json").read_text())
    relative = datalab_relative_threshold(args.threshold, truth["median_nn_distance"])
    t0 = time.perf_counter()
    lab = datalab_issues(X, "near_duplicate", {"threshold": relative}, labels=labels)
    issues = lab.get_issues("near_duplicate")
    t1 = time.perf_counter()
    out = {"total_s": t1 - t0, "peak_rss_mib": peak_rss_mib()}
    info = lab.get_info("near_duplicate")
    sets = info["near_duplicate_sets"]
    a = np.concatenate([np.full(len(s), i) for i, s in enumerate(sets)]).astype(np.int64)
    b = np.concatenate(list(sets)).astype(np.int64)
    save_found(Path(args.data), "cleanlab", pair_keys(a, b, n))
    median = float(info["median_distance_to_nearest_neighbor"])
    # Its default cut (threshold 0.13 x median) on the same run's graph (cosine distances).
    graph = info["statistics"]["weighted_knn_graph"].tocoo()
    keep = graph.data < 0.13 * median
    save_found(
        Path(args.data),
        "cleanlab-default",
        pair_keys(graph.row[keep], graph.col[keep].astype(np.int64), n),
    )
    out.update(
        search="exact, top-10",
        metric=str(info["metric"]),
        flagged=int(issues["is_near_duplicate_issue"].sum()),
        median_nn_distance=median,
        relative_threshold=float(info["threshold"]),
        implied_cosine=1 - float(info["threshold"]) * median,
        default_implied_cosine=1 - 0.13 * median,
    )
    return out


def run_sklearn(X, pairs, exact, labels, args) -> dict:
    from sklearn.neighbors import NearestNeighbors

    n = len(X)
    t0 = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=11, algorithm="brute", metric="cosine").fit(X)
    dist, idx = nn.kneighbors(X)
    rows = np.repeat(np.arange(n), idx.shape[1]).reshape(idx.shape)
    keep = (1 - dist >= args.threshold) & (idx != rows)
    a, b = rows[keep], idx[keep]
    t1 = time.perf_counter()
    out = {"total_s": t1 - t0, "peak_rss_mib": peak_rss_mib(), "search": "exact, top-10"}
    save_found(Path(args.data), "sklearn", pair_keys(a, b, n))
    out["flagged"] = int(len(np.unique(np.concatenate([a, b]))))
    return out


def run_faiss(X, pairs, exact, labels, args) -> dict:
    """Exact search as a faiss user writes it: a flat inner-product index, range search."""
    import faiss

    n = len(X)
    t0 = time.perf_counter()
    index = faiss.IndexFlatIP(X.shape[1])
    index.add(X)
    # Inner product on L2-normalised rows is the cosine; range search keeps sims > radius.
    lims, _, nbrs = index.range_search(X, float(np.nextafter(np.float32(args.threshold), 0)))
    rows = np.repeat(np.arange(n), np.diff(lims).astype(np.int64))
    t1 = time.perf_counter()
    out = {"total_s": t1 - t0, "peak_rss_mib": peak_rss_mib(), "search": "exact, all in range"}
    keys = pair_keys(rows, nbrs, n)
    save_found(Path(args.data), "faiss", keys)
    out["flagged"] = int(len(np.unique(np.concatenate([keys // n, keys % n]))))
    return out


RUNNERS = {
    "curate": run_curate,
    "cleanlab": run_cleanlab,
    "sklearn": run_sklearn,
    "faiss": run_faiss,
}


#: What each method's search is, for the tables (curate's depends on the size).
SPEED_LABELS = {
    "curate": "curate kNN graph + near_duplicate check",
    "cleanlab": "cleanlab Datalab near_duplicate (same cosine)",
    "sklearn": "sklearn NearestNeighbors brute, top-10",
    "faiss": "faiss IndexFlatIP range_search",
}
