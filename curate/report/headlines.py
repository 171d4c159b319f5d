"""The built-in stages' headline findings: the report's first screen.

Each function takes the hook's :class:`curate.pipeline.stage.Context` and returns
:class:`~curate.pipeline.stage.Headline` s: one sentence each, with its number and what to do.
``impact`` ranks them across stages: roughly the share of the data a finding affects, above 1
for leaked evaluation rows (they make the reported score itself wrong).
"""

from __future__ import annotations

from curate import layout
from curate.pipeline.stage import Context, Headline
from curate.report.page import esc

#: Words for the splits in sentences.
SPLIT_WORDS = {"train": "training", "validation": "validation", "test": "test"}


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(metrics: dict, key: str) -> str:
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    return f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""


def evaluation_headlines(ctx: Context) -> list[Headline]:
    """Leaked evaluation rows, and the score with and without them."""
    m = ctx.json(layout.EVALUATION)
    if m.get("accuracy") is None:
        return []
    split = esc(m.get("split", "test"))
    rows = m.get("eval_rows")
    leaked = m.get("leaked_rows") or 0
    raw = f"accuracy <b>{m['accuracy']:.3f}</b>{_ci(m, 'accuracy')}"
    if leaked and m.get("accuracy_without_leaks") is not None:
        share = m.get("leak_share") or leaked / max(rows or 1, 1)
        on_leaked = m.get("accuracy_leaked")
        on_leaked = (
            f" (it scores {on_leaked:.3f} on the leaked rows)" if on_leaked is not None else ""
        )
        text = (
            f"<b>{_pct(share)} of the {split} split ({leaked:,} of {rows:,} rows) has a near "
            f"duplicate in the training data.</b> Its {raw} overstates what the model does on "
            f"new data: <b>{m['accuracy_without_leaks']:.3f}</b>"
            f"{_ci(m, 'accuracy_without_leaks')} without the leaked rows{on_leaked}. Remove or "
            "move the leaked rows (Leakage, below) before trusting the score."
        )
        return [Headline(1.0 + share, text)]
    clean = (f"; no {split} row duplicates the training data" if "leaked_rows" in m
             else "")  # fmt: skip
    text = f"The reference model's {raw} on the {split} split ({rows:,} rows){clean}."
    return [Headline(0.05, text)]


def leakage_headlines(ctx: Context) -> list[Headline]:
    """Leakage across the other boundaries (train-test is the evaluation's headline)."""
    boundaries = (ctx.json(layout.DUPLICATES_SUMMARY).get("leakage") or {}).get("boundaries") or {}
    evaluated = ctx.json(layout.EVALUATION).get("leaked_rows") is not None
    out = []
    for name, b in boundaries.items():
        if not b.get("groups") or (name == "train-test" and evaluated):
            continue
        share_key = next((k for k in b if k.startswith("fraction_of_")), None)
        share = b.get(share_key) or 0.0
        where = share_key.removeprefix("fraction_of_") if share_key else "split"
        out.append(Headline(0.5 + share if where in ("test", "validation") else share, (
            f"<b>{_pct(share)} of the {esc(SPLIT_WORDS.get(where, where))} rows</b> "
            f"duplicate rows across the {esc(name)} boundary ({_n(b['groups'], 'group')}). Keep "
            "each group on one side (Leakage, below)."
        )))  # fmt: skip
    return out


def label_headlines(ctx: Context) -> list[Headline]:
    """The label-noise bracket (overall and on the evaluation split) and the most confused
    class pairs."""
    from curate.checks.label import bracket_text

    s = ctx.json(layout.LABEL_SUMMARY)
    out = []
    bracket = s.get("noise_bracket") or {}
    overall = bracket.get("overall") or {}
    text = bracket_text(overall)
    if text:
        test = (bracket.get("per_split") or {}).get("test") or {}
        on_test = f" (test split: {esc(bracket_text(test))})" if bracket_text(test) else ""
        issues = s.get("issues", 0)
        text = text[:1].upper() + text[1:]
        out.append(Headline((overall["lower"] + overall["upper"]) / 2, (
            f"<b>{esc(text)} of the {overall.get('n', 0):,} labels are wrong</b>{on_test}. "
            f"{_n(issues, 'label issue')} flagged; the review queue holds them worst first."
        )))  # fmt: skip
    pairs = [p for p in s.get("confused_pairs") or [] if p.get("joint_probability")][:3]
    if pairs:
        shown = "; ".join(
            f"{esc(p['classes'][0])} ↔ {esc(p['classes'][1])} ({_pct(p['joint_probability'])}"
            f" of labels)"
            for p in pairs
        )
        out.append(Headline(sum(p["joint_probability"] for p in pairs), (
            f"Most confused classes: {shown}. Check their definitions or merge them."
        )))  # fmt: skip
    return out


def duplicates_headlines(ctx: Context) -> list[Headline]:
    s = ctx.json(layout.DUPLICATES_SUMMARY)
    manifest = ctx.json(layout.MANIFEST_SUMMARY)
    near, exact = s.get("near_duplicate") or {}, s.get("exact_duplicate") or {}
    rows = manifest.get("rows") or 0
    extra = max(near.get("samples_in_groups", 0) - near.get("groups", 0), 0)
    if not rows or not extra:
        return []
    groups = _n(near.get("groups", 0), "group")
    copies = _n(exact.get("copies", 0), "exact copy", "exact copies")
    return [Headline(extra / rows, (
        f"<b>{_pct(extra / rows)} of the rows ({extra:,}) are copies</b> of another row "
        f"({groups}, {copies}). The "
        "duplicates check keeps one per group; review the groups whose labels differ."
    ))]  # fmt: skip


def outlier_headlines(ctx: Context) -> list[Headline]:
    s = ctx.json(layout.OUTLIERS_SUMMARY)
    rows = ctx.json(layout.MANIFEST_SUMMARY).get("rows") or 0
    n = s.get("outliers") or 0
    if not n or not rows:
        return []
    return [Headline(0.5 * n / rows, (
        f"{n:,} outliers ({_pct(n / rows)}) are unlike their nearest neighbours: off-topic, "
        "corrupt or mislabelled rows are often among them (Outliers, below)."
    ))]  # fmt: skip


def analysis_headlines(ctx: Context) -> list[Headline]:
    s = ctx.json(layout.ANALYSIS_SUMMARY)
    clusters = ctx.rows(layout.FAILURE_CLUSTERS)
    overall = s.get("error_rate")
    labelled = s.get("labelled") or 0
    if not clusters or overall is None or not labelled:
        return []
    c = clusters[0]
    if c["error_rate"] <= overall:
        return []
    confused = ""
    if c.get("confused_given"):
        confused = (f"; mostly {esc(c['confused_given'])} predicted as "
                    f"{esc(c['confused_predicted'])}")  # fmt: skip
    return [Headline((c["error_rate"] - overall) * c["size"] / labelled, (
        f"The weakest failure cluster ({c['size']:,} rows) has error rate "
        f"<b>{c['error_rate']:.2f}</b> against {overall:.2f} overall{confused}. Label or "
        "augment more data like it (Failure clusters, below)."
    ))]  # fmt: skip


def changes_headlines(ctx: Context) -> list[Headline]:
    c = ctx.json(layout.CHANGELOG)
    if not c.get("samples_reviewed"):
        return []
    counts = {k: (c.get(k) or {}).get("count", 0) for k in
              ("relabelled", "removed", "labelled_from_pool", "kept")}  # fmt: skip
    return [Headline(0.01, (
        f"The last review round decided {c['samples_reviewed']:,} samples: "
        f"{counts['relabelled']:,} relabelled, {counts['removed']:,} removed, "
        f"{counts['labelled_from_pool']:,} labelled from the pool, {counts['kept']:,} kept."
    ))]  # fmt: skip
