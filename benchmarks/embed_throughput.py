"""Text-embedding throughput: curate's embed stage (`curate init` + `dvc repro embed`) with each
text backend (``torch``, ``onnx``, ``onnx-int8``, ``auto``) against plain sentence-transformers,
on short and long texts, plus agreement, label quality and the incremental case.

Run from the repository root:

    .venv/bin/python benchmarks/embed_throughput.py [--rows N] [--long-rows N]
                                                    [--quality-rows N]

Datasets (``../shared/data``, never copied into the project):

* ``agnews`` (short): ``noisy_agnews/train_10k.parquet``, a seeded sample of ``--rows`` rows
  (default 3,000, ``random_state=0``);
* ``twentynews`` (long posts): ``twentynews/train.parquet``, the first ``--long-rows`` rows
  (default 2,000).

Everything measured runs in its own fresh child process (see ``measured``), so each peak-memory
figure belongs to that one step. Per dataset: the *baseline*, a plain
``SentenceTransformer.encode(texts, batch_size=64, normalize_embeddings=True)`` in fp32 (which
truncates each text at the model's 256-word-piece window), then one workspace per backend
setting (``curate init``, ``embed.text.backend`` set in ``configs/embed.yaml``) running
``dvc repro embed`` only, so the peak RSS is the embed stage's (ingest runs before it in the same
command; it is far smaller). rows/s is ``rows_per_second`` of ``embeddings/summary.json`` (time
inside the embedder). The ONNX exports are built, and their agreement gates measured, once
before the measured runs in a shared ``$CURATE_MODEL_CACHE`` in the temporary directory (printed
as "export time once"), so every measured run reuses them.

Same work: curate embeds a long text as the mean of its chunks (on the first 2,000 twentynews
posts that is about 3.2x the baseline's word pieces), so the speed comparison runs curate with
``embed.text.max_chunks: 1`` (the first window only, what the baseline reads). One more row runs
``auto`` with the default chunking, to show the cost of reading whole posts (rows/s and word
pieces/s).

Agreement: each ONNX setting's vectors against the ``torch`` workspace's (same config, same
rows): mean cosine and mean overlap of the 10 nearest neighbours within the dataset; the gate
figures recorded in ``embeddings/summary.json`` are printed beside them. Quality: the label
check's AUPRC on all of ``noisy_agnews`` (gold labels) with fp32 ``torch`` vectors against
``auto`` vectors, through ``label_issues.run_case`` (curate's reference model and label check on
given embeddings, seed 0). Incremental: 100 new rows appended to the ``auto`` agnews workspace,
``dvc repro embed`` again.

Figures are printed and written to ``benchmarks/results/embed_throughput.json``; verdict lines
(``verdicts``) close the run, each against the plain baseline of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
import pandas as pd
from common import DATA, baseline_model, child_env, load_sample, measured, write_json
from embed_throughput_report import KNN_K, NEW_ROWS, SETTINGS, print_table, verdicts

DEFAULT_DATA = DATA / "noisy_agnews/train_10k.parquet"
LONG_DATA = DATA / "twentynews/train.parquet"
RESULTS = common.RESULTS / "embed_throughput.json"


def worker_result(run: dict) -> dict:
    """The JSON a worker printed on its ``RESULT`` line."""
    line = next(s for s in reversed(run["stdout"]) if s.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


# --- child-process bodies ---------------------------------------------------------------------


def baseline_worker(data: Path) -> None:
    """What a user would write by hand. Prints one RESULT line."""
    import resource

    t0 = time.perf_counter()
    texts = pd.read_parquet(data, columns=["text"])["text"].tolist()
    t_read = time.perf_counter()
    model = baseline_model(device="cpu")
    t_load = time.perf_counter()
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
    t_enc = time.perf_counter()
    out = {
        "rows": len(texts),
        "dim": int(vectors.shape[1]),
        "read_s": t_read - t0,
        "load_s": t_load - t_read,  # import sentence_transformers + build the model
        "encode_s": t_enc - t_load,
        # Peak RSS of this process (no children), KiB on Linux.
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print("RESULT " + json.dumps(out))


def export_worker(texts_file: Path) -> None:
    """Build each ONNX export and measure its agreement gate once (on ``texts_file``'s texts),
    in the shared ``$CURATE_MODEL_CACHE``. Prints one RESULT line."""
    from curate.embed import onnx_backend
    from curate.embed.text import bundled_model_path

    texts = pd.read_parquet(texts_file, columns=["text"])["text"].tolist()
    model = bundled_model_path()
    root = onnx_backend.export_root("unused")
    out = {}
    for backend in ("onnx", "onnx-int8"):
        t0 = time.perf_counter()
        export = onnx_backend.ensure_export(model, backend, root)
        t1 = time.perf_counter()
        gate = onnx_backend.ensure_gate(export, model, texts)
        t2 = time.perf_counter()
        out[backend] = {
            "export_s": t1 - t0,
            "gate_s": t2 - t1,
            "model_mib": export.onnx_path.stat().st_size / 2**20,
            "gate": gate.to_dict() if gate else None,
        }
    print("RESULT " + json.dumps(out))


def quality_worker(rows: int | None, workdir: Path, seed: int = 0) -> None:
    """Label-check AUPRC on noisy_agnews (gold labels) with fp32 torch vectors and with auto
    vectors, through ``label_issues.run_case``. Prints one RESULT line."""
    import label_issues as li
    import pyarrow as pa

    from curate.config import TextEmbedConfig
    from curate.data.content import content_hash
    from curate.embed import embed_manifest, to_matrix
    from curate.embed.text import TextEmbedder

    df = load_sample(DATA / "noisy_agnews/train_10k.parquet", "label", rows, seed)
    texts, labels = df.text.tolist(), df.label.tolist()
    truth = (df.label != df.gold_label).to_numpy()
    hashes = [content_hash(t.encode("utf-8")) for t in texts]
    ids = [f"agnews-train-{i}" for i in range(len(texts))]
    manifest = pa.table({"sample_id": ids, "content_hash": hashes, "input": texts})
    args = argparse.Namespace(embed_sample=64, settings=False)
    out = {"rows": len(texts), "seed": seed, "true_errors": int(truth.sum())}
    for setting in ("torch", "auto"):
        embedder = TextEmbedder(TextEmbedConfig(backend=setting), batch_size=64, root=workdir)
        table, stats = embed_manifest(manifest, embedder, common.RESULTS / "cache/embeddings")
        X = to_matrix(table.column("embedding"))
        case = li.Case("agnews", texts, labels, truth, X, hashes)
        res = li.run_case(case, seed, args)
        row = next(m for m in res["methods"] if m["method"] == "curate default")
        base = next(m for m in res["methods"] if m["method"].startswith("baseline script"))
        out[setting] = {
            "backend": embedder.backend,
            "embedded": stats.embedded,
            "cached": stats.cached,
            "auprc": row["auprc"],
            "auroc": row["auroc"],
            "f1": row["f1"],
            "top_k": row["top_k"],
            "plain_logreg_cleanlab_auprc": base["auprc"],
            "vectors": X,
        }
    a, b = out["torch"].pop("vectors"), out["auto"].pop("vectors")
    out["auto"]["mean_cosine_vs_torch"] = float(np.sum(a * b, axis=1).mean())
    print("RESULT " + json.dumps(out))


# --- the measured runs ------------------------------------------------------------------------


def word_pieces(texts: list[str], max_chunks: int) -> int:
    """Word pieces the model reads over ``texts`` (special tokens excluded): a text that fits
    the window whole, a longer one in full-window chunks as curate plans them, at most
    ``max_chunks`` of them (``max_chunks`` 1: the first window, what the baseline reads)."""
    from tokenizers import Tokenizer

    from curate.config import TextEmbedConfig
    from curate.embed.text import bundled_model_path, chunk_starts

    cfg = TextEmbedConfig()
    tok = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    window = cfg.max_seq_length - 2  # [CLS] ... [SEP]
    total = 0
    for e in tok.encode_batch(texts, add_special_tokens=False):
        n = len(e.ids)
        starts, _ = chunk_starts(n, window, cfg.chunk_overlap, max_chunks)
        total += n if n <= window else len(starts) * window
    return total


def make_workspace(tmp: Path, tag: str, df: pd.DataFrame, opts: list[str], text: dict) -> Path:
    """``curate init`` on a copy of ``df``, with ``embed.text`` settings overridden."""
    import yaml

    ws = tmp / f"ws-{tag}"
    (ws / "data").mkdir(parents=True)
    copy = ws / "data/train.parquet"
    df.to_parquet(copy, index=False)
    measured(["curate", "init", str(ws), "--data", str(copy), *opts], ws, tmp / f"init-{tag}.log")
    cfg_path = ws / "configs/embed.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["embed"]["text"].update(text)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return ws


def repro_embed(ws: Path, tag: str, cache: Path, pieces: int | None = None) -> dict:
    cmd = [sys.executable, "-m", "dvc", "repro", "embed"]
    run = measured(cmd, ws, ws.parent / f"repro-{tag}.log", child_env(cache))
    summary = json.loads((ws / "embeddings/summary.json").read_text())
    out = {
        "rows": summary["rows"],
        "embedded": summary["embedded"],
        "cached": summary["cached"],
        "backend": (summary.get("backend") or {}).get("backend", "?"),
        # embed_seconds: time inside the embedder on new rows (encoding only); load_seconds:
        # loading the model; seconds: curate's whole embed step (cache lookup, backend choice,
        # load, encode, normalise) -- none of them the stage's I/O or dvc.
        "embed_s": summary["embed_seconds"],
        "load_s": summary["load_seconds"],
        "step_s": summary["seconds"],
        "rows_per_s": summary["rows_per_second"],
        "rows_per_s_incl_load": summary["embedded"] / summary["seconds"],
        "wall_s": run["wall_s"],  # the whole `dvc repro embed`: ingest + embed + dvc
        "peak_rss_mib": run["maxrss_kib"] / 1024,
        "summary": summary,
    }
    if pieces is not None:
        out["word_pieces"] = pieces
        out["word_pieces_per_s"] = pieces / summary["embed_seconds"]
    return out


def run_baseline(tmp: Path, tag: str, data: Path, pieces: int) -> dict:
    worker = [sys.executable, str(Path(__file__).resolve()), "--baseline-worker", str(data)]
    run = measured(worker, tmp, tmp / f"baseline-{tag}.log")
    b = worker_result(run)
    return {
        "rows": b["rows"],
        "embedded": b["rows"],
        "encode_s": b["encode_s"],
        "load_s": b["load_s"],
        "rows_per_s": b["rows"] / b["encode_s"],
        "rows_per_s_incl_load": b["rows"] / (b["load_s"] + b["encode_s"]),
        "word_pieces": pieces,
        "word_pieces_per_s": pieces / b["encode_s"],
        "wall_s": run["wall_s"],  # whole child: interpreter start, imports, read, load, encode
        "peak_rss_mib": run["maxrss_kib"] / 1024,
        "peak_rss_mib_self": b["maxrss_kib"] / 1024,
    }


def vectors_of(ws: Path) -> tuple[list[str], np.ndarray]:
    t = pd.read_parquet(ws / "embeddings/embeddings.parquet")
    return t.sample_id.tolist(), np.stack(t.embedding.to_numpy()).astype(np.float32)


def agreement(ref_ws: Path, ws: Path) -> dict:
    """Mean cosine and mean kNN@10 overlap (within the dataset) of ``ws``'s vectors against
    ``ref_ws``'s, rows matched by sample id."""
    from curate.embed.onnx_backend import knn_overlap

    ids_a, a = vectors_of(ref_ws)
    ids_b, b = vectors_of(ws)
    pos = {s: i for i, s in enumerate(ids_b)}
    b = b[[pos[s] for s in ids_a]]
    cos = np.sum(a * b, axis=1)
    overlap, k = knn_overlap(a, b, KNN_K)
    return {"mean_cosine": float(cos.mean()), "min_cosine": float(cos.min()),
            "knn_overlap": overlap, "k": k, "rows": len(a)}  # fmt: skip


def run_dataset(
    tmp: Path, name: str, df: pd.DataFrame, cache: Path, opts: list[str]
) -> tuple[dict, dict[str, Path]]:
    """Baseline and every backend setting on one dataset; curate reads what the baseline reads
    (``max_chunks`` 1), plus ``auto`` with the default chunking where the texts are long."""
    from curate.config import TextEmbedConfig

    src = tmp / f"{name}.parquet"
    df.to_parquet(src, index=False)
    texts = df.text.tolist()
    first = word_pieces(texts, 1)
    whole = word_pieces(texts, TextEmbedConfig().max_chunks)
    out: dict = {"rows": len(df), "word_pieces_first_window": first, "word_pieces_whole": whole}
    print(f"[{name}] baseline: plain sentence-transformers ...", file=sys.stderr)
    out["baseline"] = run_baseline(tmp, name, src, first)
    out["curate"], wss = {}, {}
    for setting in SETTINGS:
        print(f"[{name}] curate {setting}: dvc repro embed ...", file=sys.stderr)
        tag = f"{name}-{setting}"
        ws = make_workspace(tmp, tag, df, opts, {"backend": setting, "max_chunks": 1})
        wss[setting] = ws
        out["curate"][setting] = repro_embed(ws, tag, cache, first)
    if whole > first:
        print(f"[{name}] curate auto, default chunking ...", file=sys.stderr)
        tag = f"{name}-auto-chunked"
        ws = make_workspace(tmp, tag, df, opts, {"backend": "auto"})
        out["curate_default_chunking"] = repro_embed(ws, tag, cache, whole)
    out["agreement"] = {s: agreement(wss["torch"], wss[s]) for s in SETTINGS if s != "torch"}
    return out, wss


def run_benchmark(args) -> dict:
    load_before = os.getloadavg()  # other work on the machine skews every figure below
    short = pd.read_parquet(args.data)
    if args.rows is not None and args.rows < len(short):
        short = short.sample(n=args.rows, random_state=0).reset_index(drop=True)
    long = pd.read_parquet(args.long_data).head(args.long_rows).reset_index(drop=True)
    result: dict = {
        "cpu_count": os.cpu_count(),
        "loadavg_1_5_15_before": load_before,
        "data": {"agnews": str(args.data), "twentynews": str(args.long_data)},
    }
    with tempfile.TemporaryDirectory(prefix="curate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cache = tmp / "models"
        texts_file = tmp / "gate-texts.parquet"
        short[["text"]].to_parquet(texts_file, index=False)
        print("exports: building onnx and onnx-int8 once ...", file=sys.stderr)
        worker = [sys.executable, str(Path(__file__).resolve()), "--export-worker", str(texts_file)]
        run = measured(worker, tmp, tmp / "exports.log", child_env(cache))
        result["exports"] = worker_result(run)

        opts = [o for c in ("gold_label", "group") if c in short for o in ("--metadata-column", c)]
        sets = {}
        sets["agnews"], wss = run_dataset(tmp, "agnews", short, cache, opts)
        sets["twentynews"], _ = run_dataset(
            tmp, "twentynews", long, cache, ["--id-column", "id", "--no-label"]
        )
        result["datasets"] = sets

        print(f"[agnews] curate auto incremental: +{NEW_ROWS} rows ...", file=sys.stderr)
        ws = wss["auto"]
        new = short.drop_duplicates("text").head(NEW_ROWS).copy()
        new["text"] = "update: " + new["text"]
        pd.concat([short, new], ignore_index=True).to_parquet(
            ws / "data/train.parquet", index=False
        )
        result["incremental"] = repro_embed(ws, "agnews-incremental", cache)
        result["loadavg_1_5_15_after_timed"] = os.getloadavg()

        if args.quality_rows != 0:
            print("quality: label check with fp32 torch and auto vectors ...", file=sys.stderr)
            worker = [sys.executable, str(Path(__file__).resolve()), "--quality-worker",
                      str(tmp / "quality")]  # fmt: skip
            if args.quality_rows is not None:
                worker += ["--quality-rows", str(args.quality_rows)]
            (tmp / "quality").mkdir()
            run = measured(worker, tmp, tmp / "quality.log", child_env(cache))
            result["quality"] = worker_result(run)
            result["quality"]["wall_s"] = run["wall_s"]
    result["loadavg_1_5_15_after"] = os.getloadavg()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--data", type=Path, default=DEFAULT_DATA, help="short texts (Parquet, 'text' column)")
    add("--rows", type=int, default=3000, help="seeded sample of the short data (default 3000)")
    add("--long-data", type=Path, default=LONG_DATA, help="long texts ('id' and 'text' columns)")
    add("--long-rows", type=int, default=2000, help="first N rows of the long data (default 2000)")
    add("--quality-rows", type=int, help="noisy_agnews rows, quality row (default all; 0: skip)")
    add("--output", type=Path, default=RESULTS, help=f"JSON figures (default: {RESULTS})")
    parser.add_argument("--baseline-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--export-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quality-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_worker:
        return baseline_worker(args.baseline_worker)
    if args.export_worker:
        return export_worker(args.export_worker)
    if args.quality_worker:
        return quality_worker(args.quality_rows, args.quality_worker)
    for path in (args.data, args.long_data):
        if not path.is_file():
            parser.error(f"data file {path} not found")
    args.data, args.long_data = args.data.resolve(), args.long_data.resolve()
    result = run_benchmark(args)
    print_table(result)
    result["verdicts"] = verdicts(result)
    print()
    for v in result["verdicts"]:
        print(v["line"])
    write_json(args.output, result, default=None)
    print(f"\nfigures written to {args.output}")


if __name__ == "__main__":
    main()
