"""Settings of the kNN graph (section ``index``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from curate.settings import check_range

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config


@dataclass(frozen=True)
class IndexConfig:
    """kNN graph over the embeddings, built once by the knn stage and reused by the duplicate,
    leakage, outlier and redundancy checks and by predict's fold grouping."""

    #: Neighbours per sample kept in the graph.
    k: int = 10
    #: ``auto``: exact up to ``exact_max_rows`` rows, ``approximate`` above; or force one of
    #: ``exact``, ``ivf``, ``hnsw``.
    method: Literal["auto", "exact", "ivf", "hnsw"] = "auto"
    #: Exact search up to here: 1.7 s at 10,000 x 384 on 2 cores, 5.5 s at 20,000 and 32 s
    #: at 50,000, where the ``ivf`` graph takes 0.5 / 1.1 / 2.8 s (recall@10 >= 0.99).
    exact_max_rows: int = 10_000
    #: Approximate graph: ``ivf`` (k-means lists scored list by list as matrix products, then
    #: neighbour descent) or ``hnsw``; its recall@k vs exact search is measured and written to
    #: the metrics. On benchmarks/knn_scale.py's tuning seed at 200,000 rows ivf reached
    #: recall@10 0.964 in 18.7 s (graph + check), HNSW 0.997 in 76.7 s.
    approximate: Literal["ivf", "hnsw"] = "ivf"
    #: IVF k-means lists; ``null``: about 4 sqrt(rows).
    ivf_nlist: int | None = None
    #: IVF lists each row is scored against (more: higher recall, slower); ``null``: 8 up to
    #: 200,000 rows, 16 above.
    ivf_nprobe: int | None = None
    #: k-means training vectors per IVF list (a seeded sample).
    ivf_train_per_list: int = 16
    #: Neighbour-descent rounds after the IVF pass (each re-scores every row against its
    #: neighbours' neighbours and reverse neighbours; 0: the IVF candidates alone).
    refine_iters: int = 3
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    #: HNSW candidates per query: higher recall, slower.
    hnsw_ef_search: int = 128
    #: Seeded queries on which an approximate graph's recall@k vs exact search is measured.
    recall_queries: int = 1000
    #: Queries per search batch (bounds memory).
    batch_size: int = 4096

    def validate(self, cfg: Config) -> None:
        check_range("index.k", self.k, self.k >= 1, ">= 1")
        check_range("index.exact_max_rows", self.exact_max_rows, self.exact_max_rows >= 0, ">= 0")
        check_range(
            "index.ivf_nprobe",
            self.ivf_nprobe,
            self.ivf_nprobe is None or self.ivf_nprobe >= 1,
            ">= 1 or null",
        )
        check_range(
            "index.ivf_train_per_list",
            self.ivf_train_per_list,
            self.ivf_train_per_list >= 1,
            ">= 1",
        )
        check_range("index.refine_iters", self.refine_iters, self.refine_iters >= 0, ">= 0")
        check_range("index.batch_size", self.batch_size, self.batch_size >= 1, ">= 1")
        check_range("index.recall_queries", self.recall_queries, self.recall_queries >= 1, ">= 1")
        check_range(
            "index.ivf_nlist",
            self.ivf_nlist,
            self.ivf_nlist is None or self.ivf_nlist >= 1,
            ">= 1 or null",
        )
