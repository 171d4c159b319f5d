"""Verdict lines and tables of ``embed_throughput.py``, each against the baseline of the same
run."""

from __future__ import annotations

#: ``auto``'s rows/s must reach these multiples of the plain baseline's (same work).
SPEED_BARS = {"agnews": 2.0, "twentynews": 1.5}
SETTINGS = ("torch", "onnx", "onnx-int8", "auto")
NEW_ROWS = 100
KNN_K = 10
#: ``auto``'s vectors against fp32 torch's, and its label-check AUPRC against fp32's.
MIN_COSINE = 0.99
MIN_OVERLAP = 0.90
MAX_AUPRC_GAP = 0.01
#: ``auto``'s embed-stage peak RSS may exceed the baseline's by at most this many MiB.
RSS_MARGIN_MIB = 150.0
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
