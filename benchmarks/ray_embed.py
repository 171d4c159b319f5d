"""The embed stage on a local Ray cluster (2 actors) vs the local backend, on real texts.

Run from the repository root, alone (the timings compare two runs of the same machine):

    .venv/bin/python benchmarks/ray_embed.py [--rows 17600] [--actors 2]

Data: noisy_agnews from ../shared/data (train_10k then test: 17,600 news texts, the whole
set; ``--rows`` takes the first N). Each backend gets a fresh workspace (``curate init``, the
default ``embed.text.backend: auto``) with an empty embedding cache; the ONNX export and its
agreement gate are built once beforehand into a shared model cache (``$CURATE_MODEL_CACHE``),
so both runs embed with the same int8 model and neither pays for the export. Then ``curate
embed`` runs as a measured child (``common.measured``: wall time, peak RSS of the stage's
process tree as the OS reports it to its parent): once with ``compute.backend: local``, once
with ``ray`` (a local cluster of all CPUs started by the stage, ``--actors`` actors of one CPU).

Reported: wall time, rows/s, rows/s per actor (the figure docs/scaling.md's plan uses), peak
RSS, and the largest difference between the two backends' vectors. Written to
``benchmarks/results/ray_embed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from common import DATA, RESULTS, load_text, measured, write_json

REPO = Path(__file__).resolve().parents[1]


def texts(rows: int) -> pa.Table:
    parts = [pq.read_table(DATA / "noisy_agnews" / f, columns=["text", "label"])
             for f in ("train_10k.parquet", "test.parquet")]  # fmt: skip
    table = pa.concat_tables(parts)
    return table.slice(0, min(rows, table.num_rows))


def workspace(root: Path, data: pa.Table, backend: str, actors: int, env: dict) -> Path:
    from curate.scaffold.infer import infer_data_spec
    from curate.scaffold.workspace import init_workspace

    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)  # its own repository
    pq.write_table(data, root / "data.parquet")
    init_workspace(root, infer_data_spec(root, [str(root / "data.parquet")]))
    spec = {"compute": {"backend": backend, "num_actors": actors, "cpus_per_actor": 1.0}}
    (root / "configs" / "compute.yaml").write_text(yaml.safe_dump(spec))
    for stage in ("ingest", "apply"):
        measured([sys.executable, "-m", "curate", stage], root, root / f"{stage}.log", env)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=17_600)
    parser.add_argument("--actors", type=int, default=2)
    args = parser.parse_args()
    base = RESULTS / "ray_embed"
    if base.exists():
        import shutil

        shutil.rmtree(base)
    base.mkdir(parents=True)
    env = {**os.environ, "CURATE_MODEL_CACHE": str(RESULTS / "models"), "DVC_NO_ANALYTICS": "1",
           "CURATE_REMOTES_DIR": str(base / "remotes")}  # fmt: skip
    os.environ["CURATE_REMOTES_DIR"] = env["CURATE_REMOTES_DIR"]
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    data = texts(args.rows)
    print(f"{data.num_rows:,} noisy_agnews texts; load {load_text()}", flush=True)

    # The export and its gate, once, outside the timings (a warm-up workspace of 1,024 rows).
    warm = workspace(base / "warmup", data.slice(0, 1024), "local", args.actors, env)
    measured([sys.executable, "-m", "curate", "embed"], warm, warm / "embed.log", env)

    results = {}
    for backend in ("local", "ray"):
        root = workspace(base / backend, data, backend, args.actors, env)
        run = measured([sys.executable, "-m", "curate", "embed"], root, root / "embed.log", env)
        summary = json.loads((root / "embeddings" / "summary.json").read_text())
        rows = summary.get("embedded", data.num_rows)
        results[backend] = {
            "wall_s": run["wall_s"],
            "rows_embedded": rows,
            "rows_per_s": rows / run["wall_s"],
            "peak_rss_mib": run["maxrss_kib"] / 1024,
            "embed_s": summary.get("embed_seconds"),
            "backend": (summary.get("backend") or {}).get("backend"),
            "compute": summary.get("compute"),
        }
        print(f"{backend:>5}: {run['wall_s']:7.1f} s  {rows / run['wall_s']:6.1f} rows/s  "
              f"peak RSS {run['maxrss_kib'] / 1024:7.0f} MiB  ({results[backend]['backend']})",
              flush=True)  # fmt: skip
    vectors = {
        b: np.stack(pq.read_table(base / b / "embeddings" / "embeddings.parquet")
                    .column("embedding").to_numpy(zero_copy_only=False))
        for b in results
    }  # fmt: skip
    diff = float(np.abs(vectors["local"] - vectors["ray"]).max())
    ray = results["ray"]
    # Actors actually started (never more than the shards), over the stage's embedding time
    # (which includes starting the cluster and the actors).
    actors = (ray["compute"] or {}).get("num_actors", args.actors)
    ray["rows_per_s_per_actor"] = ray["rows_embedded"] / ray["embed_s"] / actors
    ratio = ray["wall_s"] / results["local"]["wall_s"]
    print(f"ray / local wall time: {ratio:.2f}x; per actor {ray['rows_per_s_per_actor']:.1f} "
          f"rows/s; largest vector difference {diff:.2e}")  # fmt: skip
    out = {"rows": data.num_rows, "actors": args.actors, "results": results, "ratio": ratio}
    write_json("ray_embed.json", {**out, "max_abs_diff": diff})


if __name__ == "__main__":
    main()
