"""Reading pipeline artifacts back, with a clear error when a stage has not run yet."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.errors import DataError


def read_artifact(path: str | Path, produced_by: str, columns: list[str] | None = None) -> pa.Table:
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path} does not exist; it is produced by the '{produced_by}' stage. Run "
            f"`dvc repro {produced_by}` (or `curate {produced_by}`) first."
        )
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(
            f"{path} is not a readable Parquet file ({exc}). Re-run `dvc repro {produced_by}`."
        ) from None


def read_manifest(path: str | Path) -> pa.Table:
    """The current dataset version (``manifest/manifest.parquet``, written by apply)."""
    return read_artifact(path, "apply")


def require_aligned(artifact: pa.Table, manifest: pa.Table, path: str, produced_by: str) -> None:
    """A per-sample artifact must cover exactly the manifest's samples, in its order; a stale
    one (the data changed since its stage ran) is a clear error, not a crash further on."""
    if not artifact.column("sample_id").equals(manifest.column("sample_id")):
        raise DataError(
            f"{path} does not match the current manifest (different samples): the data changed "
            f"since the '{produced_by}' stage ran. Run `dvc repro` so it catches up."
        )


def read_embeddings(path: str | Path, manifest: pa.Table):
    """The embed stage's vectors as an (n, d) float32 matrix in manifest order (read in
    batches), after checking they cover exactly the manifest's samples."""
    from curate.index.graph import read_embedding_matrix

    ids = read_artifact(path, "embed", columns=["sample_id"])
    require_aligned(ids, manifest, str(path), "embed")
    return read_embedding_matrix(path)


def read_graph(path: str | Path, manifest: pa.Table):
    """The knn stage's graph (:class:`curate.index.KnnGraph`) in manifest order."""
    from curate.index.graph import graph_from_table

    table = read_artifact(path, "knn")
    require_aligned(table, manifest, str(path), "knn")
    return graph_from_table(table)
