"""Content-addressed embedding cache.

Vectors are stored per embedder identity as Parquet shards of ``(content_hash, vector)``.
New vectors go into a new shard written atomically, so an interrupted run keeps every shard it
finished and the next run embeds only what is still missing. Shards carry Parquet page
checksums; a shard that cannot be read back (truncated or damaged on disk, wrong columns,
non-finite or mis-sized vectors) is removed with a warning, and its rows, now missing from the
cache, are embedded again.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.artifacts import atomic_path, write_json


class CorruptShardWarning(UserWarning):
    """An embedding-cache shard could not be read back; it was removed and gets rebuilt."""


def _read_shard(path: Path) -> tuple[list[str], np.ndarray]:
    """A shard's content hashes and vectors; raises if the file is not a sound shard."""
    table = pq.read_table(path, page_checksum_verification=True)
    if set(table.column_names) != {"content_hash", "vector"}:
        raise ValueError(f"columns {table.column_names}, expected content_hash and vector")
    hashes = table.column("content_hash").to_pylist()
    vectors = to_matrix(table.column("vector"))
    if len(hashes) != len(vectors) or any(not isinstance(h, str) for h in hashes):
        raise ValueError("content hashes and vectors do not line up")
    if len(vectors) and (vectors.shape[1] == 0 or not np.isfinite(vectors).all()):
        raise ValueError("empty or non-finite vectors")
    return hashes, vectors


class EmbeddingCache:
    def __init__(self, root: str | Path, identity: str) -> None:
        key = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
        self.dir = Path(root) / key
        self.identity = identity

    def load(self, wanted: set[str]) -> dict[str, np.ndarray]:
        """Cached vectors for the content hashes in ``wanted``."""
        found: dict[str, np.ndarray] = {}
        if not self.dir.is_dir():
            return found
        for shard in sorted(self.dir.glob("shard-*.parquet")):
            try:
                hashes, vectors = _read_shard(shard)
            except Exception as exc:  # noqa: BLE001 - any unreadable shard is rebuilt
                warnings.warn(
                    f"embedding cache shard {shard} is corrupt ({type(exc).__name__}: {exc}); "
                    "removed it, and its rows will be embedded again.",
                    CorruptShardWarning,
                    stacklevel=2,
                )
                shard.unlink(missing_ok=True)
                continue
            for i, h in enumerate(hashes):
                if h in wanted:
                    found[h] = vectors[i]
        return found

    def add(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Store a new shard."""
        if not hashes:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        info = self.dir / "identity.json"
        if not info.exists():
            write_json({"identity": self.identity}, info)
        digest = hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]
        table = pa.table(
            {"content_hash": pa.array(hashes, pa.string()), "vector": from_matrix(vectors)}
        )
        with atomic_path(self.dir / f"shard-{digest}.parquet") as tmp:
            # Page checksums let ``load`` tell a damaged shard from a sound one.
            pq.write_table(table, tmp, compression="zstd", write_page_checksum=True)


def from_matrix(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """float32 (n, d) matrix -> Arrow fixed-size-list column."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def to_matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow (fixed-size) list column -> float32 (n, d) matrix."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(n, -1) if n else flat.reshape(0, 0)
