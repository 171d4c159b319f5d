"""ONNX backends of the text model: offline export, int8 quantisation, integrity and agreement.

``embed.text.backend`` picks how the sentence-transformers model runs: ``torch`` (the model as
sentence-transformers runs it), ``onnx`` (the same graph exported to ONNX, fp32, run by
onnxruntime) or ``onnx-int8`` (that graph with its matrix products quantised to int8 weights and
dynamically quantised activations). ``auto`` takes ``onnx-int8`` when it passes the agreement
gate below, else ``onnx``, else ``torch``.

**Export.** The first time a backend is needed, a child process (it imports torch; the
embedding process itself never does) exports the model from its local folder — nothing is
downloaded — with ``torch.onnx.export``, fuses the transformer graph with onnxruntime's
optimiser where the architecture allows (BERT-style models, like the bundled one), and for
``onnx-int8`` quantises it. The files go to ``<export root>/<model files' sha256>/<backend>/``,
built in a temporary folder and renamed into place only when complete, with ``export.json``
recording each file's sha256. Every use checks those digests: a missing, truncated or damaged
export is removed and built again, never loaded.

**Agreement gate.** Once per export, on a seeded sample of the texts of the first run that
uses it (``GATE_SAMPLE``, or all of them when fewer), a child process
embeds the sample with the torch model (fp32, the reference) and with the backend, and records
the mean cosine between the two vectors of each text and the mean overlap of each text's
``GATE_K`` nearest neighbours within the sample. It passes at mean cosine >= ``MIN_COSINE`` and
overlap >= ``MIN_OVERLAP``. The record is kept next to the export (``gates/<sample digest>.json``)
and reused; its figures go to ``embeddings/summary.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from curate.artifacts import file_lock
from curate.errors import EmbeddingError

BACKENDS = ("torch", "onnx", "onnx-int8")
#: ``auto`` tries these in order and takes the first that passes the gate (fastest first).
AUTO_ORDER = ("onnx-int8", "onnx")
#: Bump when the export or quantisation recipe changes: exports and cached vectors are rebuilt.
RECIPE = "2"
#: Feed-forward output projections of these transformer layers stay fp32 in the int8 model.
#: Their inputs (after GELU) have the widest activation range, and dynamic int8 quantisation of
#: the first layer's moved nearest neighbours most (benchmarks/README.md, embed_throughput).
FP32_FFN_LAYERS = (0,)
#: Agreement gate: sample size (all the texts when fewer), neighbours, thresholds.
GATE_SAMPLE = 1024
GATE_K = 10
MIN_COSINE = 0.99
MIN_OVERLAP = 0.90
#: Environment variable that overrides ``embed.text.export_dir`` (one export for many
#: workspaces on a machine, e.g. a test run).
EXPORT_ENV = "CURATE_MODEL_CACHE"
#: Word pieces per onnxruntime call (batch rows x longest row): short texts go in large
#: batches, long windows in small ones, so little time is spent on padding. 512 was the fastest
#: of 512-8192 on banking77 (3,000 short queries) and on twentynews rows 2,000-2,300 (long
#: posts), the int8 model, 2 cores (rows outside the benchmark's samples).
TOKENS_PER_BATCH = 512


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_hash(model_path: Path) -> str:
    """sha256 over the model folder's files (relative path and content), hidden files skipped."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(model_path).rglob("*") if p.is_file()):
        rel = path.relative_to(model_path).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        digest.update(f"{rel}\0{_sha256(path)}\n".encode())
    return digest.hexdigest()


def export_root(configured: str, root: str | Path = ".") -> Path:
    """The export folder: ``$CURATE_MODEL_CACHE`` if set, else ``embed.text.export_dir``
    (relative to the workspace root)."""
    env = os.environ.get(EXPORT_ENV)
    path = Path(env) if env else Path(configured)
    return path if path.is_absolute() else Path(root) / path


def threads() -> int:
    """Threads for onnxruntime: ``OMP_NUM_THREADS`` when set, else every core allowed."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def runtime_available() -> str | None:
    """None when onnxruntime and tokenizers import; else why not (one line)."""
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as exc:
        return f"{exc.name or 'onnxruntime'} is not installed ({exc})"
    return None


def _ort_version() -> str:
    try:
        return version("onnxruntime")
    except PackageNotFoundError:
        return "missing"


# --- Export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """A complete, verified export of one model for one backend."""

    dir: Path
    backend: str
    model_hash: str
    #: Seconds the export took when this call built it; 0.0 when it was reused.
    seconds: float = 0.0

    @property
    def onnx_path(self) -> Path:
        return self.dir / "model.onnx"

    @property
    def key(self) -> str:
        """What the vectors depend on: model files, backend, recipe, onnxruntime version."""
        return (
            f"{self.backend}/model-sha256={self.model_hash[:16]}/recipe={RECIPE}/"
            f"onnxruntime={_ort_version()}"
        )


def export_dir(root: Path, digest: str, backend: str) -> Path:
    return root / digest[:16] / f"{backend}-r{RECIPE}"


def verify(path: Path) -> bool:
    """True when ``path`` holds a complete export whose files match ``export.json``."""
    info = path / "export.json"
    try:
        record = json.loads(info.read_text())
        files = record["files"]
        if not files or "model.onnx" not in files:
            return False
        for name, meta in files.items():
            f = path / name
            if not f.is_file() or f.stat().st_size != meta["bytes"] or _sha256(f) != meta["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def _child(args: list[str], what: str) -> None:
    """Run this module in a child process; raise EmbeddingError with its output's tail."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "curate.embed.onnx_build", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise EmbeddingError(
            f"{what} failed (exit {proc.returncode}):\n{tail}\nSet embed.text.backend to "
            "'torch' in configs/embed.yaml to embed without ONNX."
        )


def ensure_export(model_path: Path, backend: str, root: Path, digest: str | None = None) -> Export:
    """The verified export of ``model_path`` for ``backend`` under ``root``, built (in a child
    process) when missing, incomplete or damaged."""
    if backend not in ("onnx", "onnx-int8"):
        raise ValueError(backend)
    digest = digest or model_hash(model_path)
    final = export_dir(root, digest, backend)
    if verify(final):
        return Export(final, backend, digest)
    with file_lock(final.parent / f".{final.name}.lock"):
        if verify(final):  # built by another process while this one waited
            return Export(final, backend, digest)
        if final.exists():
            shutil.rmtree(final)  # incomplete or damaged: never used, built again
        tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        start = time.perf_counter()
        try:
            _child(
                ["export", "--model", str(model_path), "--backend", backend, "--out", str(tmp)],
                f"exporting the text model {model_path} to {backend}",
            )
            if not verify(tmp):
                raise EmbeddingError(
                    f"the {backend} export of {model_path} in {tmp} did not verify after it was "
                    "written (disk full?). Free space and re-run, or set embed.text.backend to "
                    "'torch'."
                )
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Export(final, backend, digest, round(time.perf_counter() - start, 3))


# --- Agreement gate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """Agreement of a backend's vectors with the fp32 torch model's on a sample of texts."""

    backend: str
    sample: int
    sample_digest: str
    mean_cosine: float
    min_cosine: float
    knn_overlap: float
    k: int
    passed: bool
    min_mean_cosine: float = MIN_COSINE
    min_knn_overlap: float = MIN_OVERLAP
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def reason(self) -> str:
        """Why it failed, in one clause."""
        why = []
        if self.mean_cosine < self.min_mean_cosine:
            why.append(f"mean cosine {self.mean_cosine:.4f} < {self.min_mean_cosine}")
        if self.knn_overlap < self.min_knn_overlap:
            why.append(f"kNN@{self.k} overlap {self.knn_overlap:.4f} < {self.min_knn_overlap}")
        return "; ".join(why) or "passed"


def gate_sample(texts: Sequence[str], seed: int = 0) -> list[str]:
    """A seeded sample of distinct texts (sorted first, so the order of rows does not matter)."""
    distinct = sorted(set(texts))
    if len(distinct) <= GATE_SAMPLE:
        return distinct
    pick = np.random.default_rng(seed).choice(len(distinct), GATE_SAMPLE, replace=False)
    return [distinct[i] for i in sorted(pick)]


def _digest(texts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()[:16]


def knn_overlap(a: np.ndarray, b: np.ndarray, k: int = GATE_K) -> tuple[float, int]:
    """Mean overlap of each row's k nearest neighbours (itself excluded) under ``a`` and ``b``."""
    n = len(a)
    k = min(k, n - 1)
    if k < 1:
        return 1.0, 0
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -np.inf)
    np.fill_diagonal(sb, -np.inf)
    na = np.argpartition(-sa, k - 1, axis=1)[:, :k]
    nb = np.argpartition(-sb, k - 1, axis=1)[:, :k]
    hits = [len(set(x.tolist()) & set(y.tolist())) for x, y in zip(na, nb, strict=True)]
    return float(np.mean(hits) / k), k


def score_gate(backend: str, texts: Sequence[str], ref: np.ndarray, got: np.ndarray) -> Gate:
    cos = np.sum(ref * got, axis=1)
    overlap, k = knn_overlap(ref, got)
    mean_cos = float(cos.mean()) if len(cos) else 1.0
    return Gate(
        backend=backend,
        sample=len(texts),
        sample_digest=_digest(texts),
        mean_cosine=round(mean_cos, 5),
        min_cosine=round(float(cos.min()) if len(cos) else 1.0, 5),
        knn_overlap=round(overlap, 5),
        k=k,
        passed=mean_cos >= MIN_COSINE and overlap >= MIN_OVERLAP,
    )


def _gate_records(export: Export) -> list[Gate]:
    records = []
    for path in sorted((export.dir / "gates").glob("*.json")):
        try:
            records.append(Gate(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
    return records


def ensure_gate(export: Export, model_path: Path, texts: Sequence[str] | None) -> Gate | None:
    """The gate record of ``export``: measured once, on a sample of ``texts`` in a child process,
    the first time the export is used, then reused by every later run (so a growing dataset
    never switches ``auto`` to another backend, which would re-embed every row). None when there
    is no record and no texts to measure on."""
    records = _gate_records(export)
    if records:
        return max(records, key=lambda g: g.sample)
    sample = gate_sample(texts) if texts else []
    if not sample:
        return None
    gates = export.dir / "gates"
    gates.mkdir(exist_ok=True)
    with file_lock(gates / ".lock"):
        records = _gate_records(export)  # measured by another process while this one waited
        if records:
            return max(records, key=lambda g: g.sample)
        digest = _digest(sample)
        target = gates / f"{digest}.json"
        texts_file = gates / f".{digest}.texts-{os.getpid()}.json"
        texts_file.write_text(json.dumps(sample))
        try:
            _child(
                ["gate", "--model", str(model_path), "--dir", str(export.dir), "--backend",
                 export.backend, "--texts", str(texts_file), "--out", str(target)],
                f"the agreement gate of the {export.backend} text model",
            )  # fmt: skip
        finally:
            texts_file.unlink(missing_ok=True)
        return Gate(**json.loads(target.read_text()))
