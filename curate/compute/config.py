"""Settings of where the heavy stages run (section ``compute``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from curate.settings import check_range

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config


@dataclass(frozen=True)
class ComputeConfig:
    """Where the heavy stages (embed, knn) run. local: in the stage's own process. ray: on a
    Ray cluster (install the extra: pip install "curate[ray]"), writing the same artifacts as
    local. See docs/scaling.md."""

    #: local (the default; needs no Ray) or ray.
    backend: Literal["local", "ray"] = "local"
    #: The cluster to join, e.g. ray://head:10001; null: $RAY_ADDRESS, else a local cluster
    #: started for the stage.
    address: str | None = None
    #: Embedding actors, each loading the model once.
    num_actors: int = 2
    #: CPUs reserved by each actor.
    cpus_per_actor: float = 1.0
    #: Rows per block sent to a worker: embedding batches, and kNN query shards (rounded up to
    #: whole index.batch_size batches for exact search, at least 32,768 rows for ivf).
    shard_rows: int = 4096

    def validate(self, cfg: Config) -> None:
        check_range("compute.num_actors", self.num_actors, self.num_actors >= 1, ">= 1")
        check_range("compute.cpus_per_actor", self.cpus_per_actor, self.cpus_per_actor > 0, "> 0")
        check_range("compute.shard_rows", self.shard_rows, self.shard_rows >= 1, ">= 1")
