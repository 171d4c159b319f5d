"""Reading a sharded Parquet source on the Ray cluster: one task per shard, the tables put
back together in shard order (the same rows, in the same order, as reading them here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from curate.compute.ray_cluster import connected

if TYPE_CHECKING:  # pragma: no cover
    from curate.compute.config import ComputeConfig


def ray_shard_reader(cfg: ComputeConfig) -> Callable[[list[Path]], pa.Table]:
    """A ``shard_reader`` for :func:`curate.data.sources.read_source` that reads the shards
    in parallel on the cluster (each worker must see the files: a shared file system or an
    object-store path, see docs/scaling.md)."""

    def read(files: list[Path]) -> pa.Table:
        with connected(cfg) as ray:

            @ray.remote(num_cpus=cfg.cpus_per_actor, max_retries=3)
            def read_one(path: str) -> pa.Table:
                import pyarrow.parquet as pq

                return pq.read_table(path)

            refs = [read_one.remote(str(f)) for f in files]  # ray.get keeps this order
            tables = ray.get(refs)
        return pa.concat_tables(tables, promote_options="default")

    return read
