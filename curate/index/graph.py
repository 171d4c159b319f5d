"""The kNN graph artifact: every sample's k nearest neighbours, built once per pipeline run.

Every similarity-based check (duplicates, leakage, outliers, redundancy) and the predict
stage's fold grouping read this graph instead of searching again. On disk
(``graph/knn.parquet``) a row holds ``sample_id``, ``neighbor_ids`` (the neighbours'
sample ids, most similar first; null where there are fewer than k) and ``similarities``
(cosine). In memory neighbours are row positions of the same manifest order.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import DataError
from curate.index.allknn import ivf_graph
from curate.index.config import IndexConfig
from curate.index.search import IndexSpec, build_index, recall_at_k, search_neighbours
from curate.progress import progress

#: Rows read per batch when loading embeddings from Parquet or .npy.
READ_BATCH = 65_536


@dataclass
class KnnGraph:
    """``ids`` (n, k) neighbour row positions (-1: none) and their cosine ``sims`` (n, k)."""

    ids: np.ndarray
    sims: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return self.ids.shape[1]


def choose_method(n: int, cfg: IndexConfig) -> str:
    """``exact`` up to ``cfg.exact_max_rows`` rows, the approximate index above (``auto``)."""
    if cfg.method != "auto":
        return cfg.method
    return "exact" if n <= cfg.exact_max_rows else cfg.approximate


def build_graph(X: np.ndarray, cfg: IndexConfig, seed: int = 0) -> KnnGraph:
    """Build the kNN graph of ``X`` (L2-normalised float32 rows), choosing the method by size:
    exact search, the list-major IVF graph with neighbour descent (``ivf``), or HNSW.

    With an approximate method, recall@k against exact search on ``cfg.recall_queries`` seeded
    queries goes into ``stats`` so the cost of the approximation is visible in the metrics.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    method = choose_method(n, cfg)
    stats: dict[str, Any] = {"rows": n, "dim": int(X.shape[1]) if n else 0, "k": cfg.k}
    stats["method"] = method
    if n == 0:
        return KnnGraph(np.empty((0, cfg.k), np.int64), np.empty((0, cfg.k), np.float32), stats)
    if method == "ivf":
        with progress("kNN graph (ivf)", n * (1 + cfg.refine_iters)) as bar:
            ids, sims, info = ivf_graph(
                X,
                cfg.k,
                nlist=cfg.ivf_nlist,
                nprobe=cfg.ivf_nprobe,
                train_per_list=cfg.ivf_train_per_list,
                refine_iters=cfg.refine_iters,
                seed=seed,
                on_rows=bar.advance,
            )
        stats.update(info)
        stats["build_seconds"] = round(info["train_seconds"] + info["assign_seconds"], 3)
        stats["search_seconds"] = round(info["lists_seconds"] + info["refine_seconds"], 3)
    else:
        spec = IndexSpec(
            method=method,
            hnsw_m=cfg.hnsw_m,
            hnsw_ef_construction=cfg.hnsw_ef_construction,
            hnsw_ef_search=cfg.hnsw_ef_search,
        )
        start = time.perf_counter()
        index = build_index(X, spec, seed=seed)
        stats["build_seconds"] = round(time.perf_counter() - start, 3)
        if method == "hnsw":
            stats.update(hnsw_m=cfg.hnsw_m, hnsw_ef_search=cfg.hnsw_ef_search)
        start = time.perf_counter()
        with progress(f"kNN graph ({method})", n) as bar:
            ids, sims = search_neighbours(
                index, X, cfg.k, batch=cfg.batch_size, on_batch=bar.advance
            )
        stats["search_seconds"] = round(time.perf_counter() - start, 3)
        del index
    if method == "exact":
        stats["recall_at_k"] = 1.0
    else:
        start = time.perf_counter()
        recall, used = recall_at_k(X, sims, cfg.recall_queries, seed=seed)
        stats["recall_at_k"] = round(recall, 4)
        stats["recall_queries"] = used
        stats["recall_seconds"] = round(time.perf_counter() - start, 3)
    return KnnGraph(ids, sims, stats)


def graph_table(sample_ids: pa.Array | pa.ChunkedArray, graph: KnnGraph) -> pa.Table:
    """The on-disk form: neighbour positions become the neighbours' sample ids."""
    if isinstance(sample_ids, pa.ChunkedArray):
        sample_ids = sample_ids.combine_chunks()
    n, k = graph.ids.shape
    flat = graph.ids.reshape(-1)
    names = sample_ids.take(pa.array(np.where(flat >= 0, flat, 0)))
    names = pc.if_else(pa.array(flat >= 0), names, pa.nulls(len(flat), pa.string()))
    sims = np.where(graph.ids >= 0, graph.sims, np.nan).astype(np.float32).reshape(-1)
    table = pa.table(
        {
            "sample_id": sample_ids,
            "neighbor_ids": pa.FixedSizeListArray.from_arrays(names, k),
            "similarities": pa.FixedSizeListArray.from_arrays(pa.array(sims), k),
        }
    )
    meta = {k_: v for k_, v in graph.stats.items() if isinstance(v, int | float | str)}
    return table.replace_schema_metadata({"knn": json.dumps(meta)})


def graph_from_table(table: pa.Table) -> KnnGraph:
    """Inverse of :func:`graph_table`: neighbour sample ids back to row positions."""
    n = table.num_rows
    ids_col = table.column("neighbor_ids").combine_chunks()
    k = ids_col.type.list_size
    positions = pc.index_in(ids_col.flatten(), value_set=table.column("sample_id").combine_chunks())
    ids = positions.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64).reshape(n, k)
    sims_flat = table.column("similarities").combine_chunks().flatten()
    sims = sims_flat.to_numpy(zero_copy_only=False).astype(np.float32).reshape(n, k)
    sims = np.where(ids >= 0, sims, -np.inf).astype(np.float32)
    meta = (table.schema.metadata or {}).get(b"knn")
    return KnnGraph(ids, sims, json.loads(meta) if meta else {})


def read_embedding_matrix(path: str | Path, column: str = "embedding") -> np.ndarray:
    """An (n, d) float32 matrix from a Parquet list column or a .npy file, read in batches.

    The matrix is allocated once and filled batch by batch, so the peak is the matrix plus
    one batch rather than several whole-table copies.
    """
    path = Path(path)
    if path.suffix == ".npy":
        src = np.load(path, mmap_mode="r")
        if src.ndim != 2:
            raise DataError(f"{path} holds an array of shape {src.shape}; expected (rows, dim).")
        out = np.empty(src.shape, np.float32)
        for start in range(0, len(src), READ_BATCH):
            out[start : start + READ_BATCH] = src[start : start + READ_BATCH]
        return out
    pf = pq.ParquetFile(path)
    n = pf.metadata.num_rows
    out: np.ndarray | None = None
    start = 0
    for batch in pf.iter_batches(batch_size=READ_BATCH, columns=[column]):
        values = batch.column(0).flatten().to_numpy(zero_copy_only=False)
        rows = batch.num_rows
        block = values.reshape(rows, -1) if rows else values.reshape(0, 0)
        if out is None:
            out = np.empty((n, block.shape[1]), np.float32)
        out[start : start + rows] = block
        start += rows
    return out if out is not None else np.empty((0, 0), np.float32)
