"""Independent jobs (the reference model's fits, one per member and fold) as Ray tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from curate.compute.ray_cluster import connected

if TYPE_CHECKING:  # pragma: no cover
    from curate.compute.config import ComputeConfig


def ray_job_runner(cfg: ComputeConfig) -> Callable[..., list[Any]]:
    """A ``run_jobs`` for :func:`curate.model.reference.reference_pred_probs`: every job a task
    of ``compute.cpus_per_actor`` CPUs (retried if its worker dies), results in job order."""

    def run(jobs: list[Callable[[], Any]], done: Callable[[], None]) -> list[Any]:
        with connected(cfg) as ray:

            @ray.remote(num_cpus=cfg.cpus_per_actor, max_retries=3)
            def call(job: Callable[[], Any]) -> Any:
                return job()

            refs = [call.remote(job) for job in jobs]
            position = {ref: i for i, ref in enumerate(refs)}
            results: list[Any] = [None] * len(refs)
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    results[position[ref]] = ray.get(ref)
                    done()
        return results

    return run
