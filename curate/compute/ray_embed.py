"""The embed stage on a Ray cluster (``compute.backend: ray``).

The driver (the stage's process) does what the local backend does around the model: it fits the
embedder on the manifest (for the text model this chooses the backend and builds the ONNX
export and its agreement gate once, in their cache folder), reads the content-hash cache, and
lists the distinct contents that are not in it. Only those rows go to Ray Data, in shards of
``compute.shard_rows`` rows, through an actor pool (``map_batches`` with a callable class,
``compute.num_actors`` actors of ``compute.cpus_per_actor`` CPUs). Each actor builds the
embedder once with curate's own factory, takes over the driver's fitted state (the resolved
text backend and its export, the tabular scaling), checks that its identity is the driver's,
and embeds its shards in the local backend's chunks of :data:`curate.embed.CHUNK_ROWS` rows, so
with the default ``shard_rows`` (a multiple of it) the model sees the same batches as locally.
That matters for the int8 text model, whose activations are quantised per batch: other shard
sizes give slightly different vectors, with a :class:`ShardBatchesWarning`. The pool starts no
more actors than there are shards.

Every row carries its position; the results are put back in that order, every position exactly
once (a lost or doubled row fails the stage), written to the cache as they arrive, and the
artifact is assembled exactly as the local backend assembles it. A worker that dies is
restarted and its shard retried (:data:`MAX_RESTARTS`, :data:`MAX_TASK_RETRIES`); when the
stage fails anyway it writes nothing, and the previous artifact stays as it was.

Actors read the files the driver names (the workspace's images, the ONNX export): on a
multi-machine cluster those folders must be on storage every node sees, at the same path.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from curate.compute import ray_cluster
from curate.embed import CHUNK_ROWS, FLUSH_ROWS, EmbedStats, _check_batch, assemble
from curate.embed.cache import EmbeddingCache, from_matrix, to_matrix
from curate.errors import CurateError, EmbeddingError
from curate.progress import progress

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config
    from curate.embed.base import Embedder

#: Restarts of an actor whose worker process died, and retries of the shard it was embedding.
#: Bounded, so that a worker that dies every time (out of memory) fails the stage.
MAX_RESTARTS = 3
MAX_TASK_RETRIES = 3
#: The column carrying each row's position in the list of contents to embed.
POS = "__curate_pos"
#: What ``fit`` (and the text model's backend choice) leaves on an embedder, by embedder name:
#: an actor's embedder takes these over from the driver's instead of fitting again.
FITTED = {"text": ("backend", "export"), "tabular": ("_numeric", "_categories")}


class ShardBatchesWarning(UserWarning):
    """``compute.shard_rows`` batches the int8 text model differently from the local backend,
    so its vectors differ slightly from the local backend's."""


def fitted_state(embedder: Embedder) -> dict[str, Any]:
    """The driver embedder's fitted state, to hand to the actors."""
    return {name: getattr(embedder, name) for name in FITTED.get(embedder.name, ())}


def limit_threads(cpus: float) -> int:
    """Make the math libraries of this process use as many threads as the CPUs it reserved
    (at least one): onnxruntime and OpenMP read ``OMP_NUM_THREADS``, torch is set directly."""
    n = max(1, math.floor(cpus))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(n)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    if "torch" in sys.modules:  # already imported: the variables above come too late for it
        sys.modules["torch"].set_num_threads(n)
    return n


class EmbedBatches:
    """The callable class of the actor pool: one embedder per actor, built once."""

    def __init__(self, cfg: Config, identity: str, fitted: dict[str, Any], cpus: float) -> None:
        from curate.embed import make_embedder

        self.threads = limit_threads(cpus)
        embedder = make_embedder(cfg)
        for name, value in fitted.items():
            setattr(embedder, name, value)
        export = getattr(embedder, "export", None)
        if export is not None and not export.onnx_path.is_file():
            raise EmbeddingError(
                f"the ONNX export {export.dir} built by the stage is not readable on Ray worker "
                f"node {os.uname().nodename}. Put embed.text.export_dir (or $CURATE_MODEL_CACHE) "
                "on storage every node sees, at the same path, or set embed.text.backend: torch."
            )
        if embedder.identity != identity:
            raise EmbeddingError(
                f"the embedder built on Ray worker node {os.uname().nodename} is "
                f"{embedder.identity!r}, not the stage's {identity!r}: its vectors would not "
                "match. Install the same curate and model versions on every node."
            )
        embedder.prepare()
        if "torch" in sys.modules:  # imported by prepare() (torch backend, image module)
            sys.modules["torch"].set_num_threads(self.threads)
        self.embedder = embedder

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.drop_columns([POS])
        parts = []
        for start in range(0, rows.num_rows, CHUNK_ROWS):
            chunk = rows.slice(start, CHUNK_ROWS)
            out = np.asarray(self.embedder.embed(chunk), dtype=np.float32)
            _check_batch(out, chunk.num_rows, self.embedder)
            parts.append(out)
        hashes = rows.column("content_hash").to_pylist()
        # The text embedder's chunk plan of each long text, so the driver need not re-tokenise.
        plans = getattr(self.embedder, "_plans", {})
        plan = [plans.get(h, (0, False)) for h in hashes]
        return pa.table(
            {
                POS: batch.column(POS),
                "content_hash": pa.array(hashes, pa.string()),
                "vector": from_matrix(np.concatenate(parts)),
                "chunks": pa.array([n for n, _ in plan], pa.int32()),
                "capped": pa.array([c for _, c in plan], pa.bool_()),
            }
        )


def embed_on_ray(
    manifest: pa.Table, embedder: Embedder, cfg: Config
) -> tuple[pa.Table, EmbedStats, dict]:
    """Like :func:`curate.embed.embed_manifest`, the new contents embedded on the cluster.

    Returns ``(table, stats, compute)``: the same table and statistics as the local backend,
    and what ran where (for the stage summary).
    """
    start = time.perf_counter()
    cache_dir = cfg.path(cfg.embed.cache_dir)
    embedder.fit(manifest)  # the text model's backend, export and gate: built here, once
    hashes = manifest.column("content_hash").to_pylist()
    first_row: dict[str, int] = {}
    for i, h in enumerate(hashes):
        first_row.setdefault(h, i)
    cache = EmbeddingCache(cache_dir, embedder.identity) if embedder.cacheable else None
    vectors = cache.load(set(first_row)) if cache else {}
    n_cached = len(vectors)
    todo = [h for h in first_row if h not in vectors]

    compute = cfg.compute
    if (
        todo
        and getattr(embedder, "backend", None) == "onnx-int8"
        and compute.shard_rows % CHUNK_ROWS
    ):
        warnings.warn(
            f"compute.shard_rows ({compute.shard_rows}) is not a multiple of {CHUNK_ROWS}: the "
            "int8 text model quantises its activations per batch, so its vectors depend slightly "
            "on which texts share a batch, and shards of this size batch them differently from "
            f"the local backend. Set compute.shard_rows to a multiple of {CHUNK_ROWS} (the "
            "default 4096 is) for exactly the local backend's vectors.",
            ShardBatchesWarning,
            stacklevel=2,
        )
    actors = min(compute.num_actors, max(1, math.ceil(len(todo) / compute.shard_rows)))
    where: dict[str, Any] = {
        "backend": "ray",
        "num_actors": actors if todo else 0,
        "cpus_per_actor": compute.cpus_per_actor,
        "shard_rows": compute.shard_rows,
    }
    embed_seconds = 0.0
    if todo:
        rows = manifest.take(pa.array([first_row[h] for h in todo], pa.int64()))
        rows = rows.append_column(POS, pa.array(np.arange(len(todo), dtype=np.int64)))
        t0 = time.perf_counter()
        with ray_cluster.connected(compute) as ray:
            where["nodes"] = sum(1 for n in ray.nodes() if n.get("Alive"))
            new = _run_pool(ray, rows, embedder, cfg, cache, actors)
        embed_seconds = time.perf_counter() - t0
        vectors.update(zip(todo, new, strict=True))

    table, stats = assemble(
        manifest, embedder, vectors, hashes,
        unique=len(first_row), cached=n_cached, embedded=len(todo), cache_dir=cache_dir,
        seconds=time.perf_counter() - start,
        load_seconds=0.0,  # the model loads in the actors, inside ``embed_seconds``
        embed_seconds=embed_seconds,
    )  # fmt: skip
    return table, stats, where


def _run_pool(
    ray: Any,
    rows: pa.Table,
    embedder: Embedder,
    cfg: Config,
    cache: EmbeddingCache | None,
    actors: int,
) -> np.ndarray:
    """Vectors of ``rows`` (in their order), embedded by the actor pool; new vectors are
    added to the cache as they arrive, so an interrupted run keeps them."""
    compute = cfg.compute
    shard = compute.shard_rows
    shards = [rows.slice(s, shard) for s in range(0, rows.num_rows, shard)]
    ray.data.DataContext.get_current().enable_progress_bars = False  # curate's line reports
    kwargs: dict[str, Any] = {
        "fn_constructor_kwargs": {
            "cfg": cfg,
            "identity": embedder.identity,
            "fitted": fitted_state(embedder),
            "cpus": compute.cpus_per_actor,
        },
        "batch_size": shard,
        "batch_format": "pyarrow",
        "compute": ray.data.ActorPoolStrategy(size=actors),  # no idle actor loading a model
        "num_cpus": compute.cpus_per_actor,
    }
    retries = {"max_restarts": MAX_RESTARTS, "max_task_retries": MAX_TASK_RETRIES}
    data = ray.data.from_arrow(shards)
    try:
        with warnings.catch_warnings():  # passing actor options this way is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            ds = data.map_batches(EmbedBatches, **kwargs, **retries)
    except TypeError:  # a Ray that no longer takes them: its own default (retry without end)
        ds = data.map_batches(EmbedBatches, **kwargs)
    results = _Results(rows.num_rows, cache)
    try:
        with progress(f"embedding ({embedder.name}) on Ray", total=rows.num_rows) as bar:
            for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                results.take(batch)
                bar.advance(batch.num_rows)
    except Exception as exc:
        cause = _curate_cause(exc)
        if cause is not None:  # an embedder's own error on a worker: say it as it is
            raise type(cause)(*cause.args) from exc
        if not isinstance(exc, ray.exceptions.RayError):
            raise
        lines = str(exc).strip().splitlines()
        raise EmbeddingError(
            f"embedding on the Ray cluster failed: {type(exc).__name__}: "
            f"{lines[-1] if lines else ''}. The previous embeddings are left as they were and "
            "the vectors already computed are in the cache, so a re-run embeds only the rest. "
            "Check the workers' logs, or set compute.backend: local in configs/compute.yaml."
        ) from exc
    out = results.finish()
    _record_plans(embedder, rows.column("content_hash").to_pylist(), results.plans)
    return out


class _Results:
    """The pool's output put back in row order: every position exactly once, new vectors
    flushed to the cache every :data:`curate.embed.FLUSH_ROWS` rows."""

    def __init__(self, n: int, cache: EmbeddingCache | None) -> None:
        self.n, self.cache = n, cache
        self.vectors: np.ndarray | None = None
        self.seen = np.zeros(n, dtype=bool)
        self.doubled = 0
        #: (chunks, capped) of each long text, by content hash.
        self.plans: dict[str, tuple[int, bool]] = {}
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def take(self, batch: pa.Table) -> None:
        pos = batch.column(POS).to_numpy()
        unique = np.unique(pos)
        if len(unique) != len(pos) or self.seen[pos].any():
            self.doubled += len(pos) - len(unique) + int(self.seen[unique].sum())
            return
        vectors = to_matrix(batch.column("vector"))
        if self.vectors is None:
            self.vectors = np.zeros((self.n, vectors.shape[1]), np.float32)
        self.seen[pos] = True
        self.vectors[pos] = vectors
        columns = (batch.column(c).to_pylist() for c in ("content_hash", "chunks", "capped"))
        for h, chunks, capped in zip(*columns, strict=True):
            if chunks:
                self.plans[h] = (chunks, capped)
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        if self.pending_rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.cache and self.pending:
            table = pa.concat_tables(self.pending)
            self.cache.add(
                table.column("content_hash").to_pylist(), to_matrix(table.column("vector"))
            )
        self.pending, self.pending_rows = [], 0

    def finish(self) -> np.ndarray:
        self.flush()
        missing = int((~self.seen).sum())
        if missing or self.doubled or self.vectors is None:
            raise EmbeddingError(
                f"the Ray cluster returned {self.n - missing} of {self.n} rows to embed "
                f"({missing} missing, {self.doubled} returned twice); no artifact was written. "
                "Re-run the stage, or set compute.backend: local in configs/compute.yaml."
            )
        return self.vectors


def _curate_cause(exc: BaseException) -> CurateError | None:
    """The curate error a worker raised, if that is what ``exc`` wraps (Ray wraps a worker's
    exception in its own error types, keeping it as ``cause`` or the exception's cause)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, CurateError) and type(exc).__module__.startswith("curate."):
            return exc
        exc = getattr(exc, "cause", None) or exc.__cause__
    return None


def _record_plans(embedder: Embedder, hashes: list[str], plans: dict) -> None:
    """Tell the driver's text embedder what the actors embedded and how each long text was
    chunked, as if it had embedded them itself (its chunk counts then re-tokenise only the
    contents that came from the cache)."""
    if hasattr(embedder, "_plans") and hasattr(embedder, "_embedded"):
        embedder._plans.update(plans)
        embedder._embedded.update(hashes)
