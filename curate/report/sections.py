"""The built-in stages' report sections (each stage's ``report_section`` hook calls one).

Every function takes the hook's :class:`curate.pipeline.stage.Context` and returns an HTML
fragment (``<h2>`` first) or None; every piece of dataset content goes through ``esc``.
"""

from __future__ import annotations

import csv

from curate import layout
from curate.pipeline.stage import Context
from curate.report.page import bars, esc, heatmap, noise_bracket


def _guess(label, confidence: float | None) -> str:
    """The model's guess and its confidence; a dash without a model (an unlabelled pool)."""
    return "–" if confidence is None else f"{esc(label)} ({confidence:.2f})"


def label_section(ctx: Context) -> str:
    label = ctx.json(layout.LABEL_SUMMARY)
    out = ["<h2>Label issues</h2>"]
    out += noise_bracket(label.get("noise_bracket"))
    noise = label.get("noise_matrix") or {}
    if isinstance(noise, dict) and noise:
        classes = list(noise)
        matrix = [[(noise[g] or {}).get(t, 0.0) for t in classes] for g in classes]
        out.append(heatmap("Estimated joint P(given = row, true = column); off the diagonal: "
                           "label noise", classes, matrix, "{:.3f}",
                           f"<code>{layout.LABEL_SUMMARY}</code> (noise_matrix)"))  # fmt: skip
    out.append(noise_per_class(ctx))
    issues = sorted((r for r in ctx.rows(layout.LABEL_ISSUES) if r["is_label_issue"]),
                    key=lambda r: r["label_score"])[:20]  # fmt: skip
    out.append("<h3>Top label issues</h3><table><tr><th>sample</th><th>input</th><th>given</th>"
               "<th>suggested</th><th>why</th></tr>")  # fmt: skip
    for r in issues:
        out.append(f"<tr><td>{ctx.link(r['sample_id'])}</td><td>{ctx.show(r['sample_id'])}</td>"
                   f"<td>{esc(r['given_label'])}</td><td>{esc(r['suggested_label'])}</td>"
                   f"<td>{esc(r['reason'])}</td></tr>")  # fmt: skip
    out.append("</table>")
    return "\n".join(out)


def duplicates_section(ctx: Context) -> str:
    groups: dict[str, list[dict]] = {}
    for r in ctx.rows(layout.DUPLICATES, ["sample_id", "split", "group_id", "is_kept"]):
        if r.get("group_id"):
            groups.setdefault(r["group_id"], []).append(r)
    out = ["<h2>Example duplicate groups</h2><table><tr><th>group</th><th>members</th></tr>"]
    for gid, members in list(groups.items())[:8]:
        cells = " ".join(
            f"{ctx.show(m['sample_id'])} <span class='muted'>{ctx.link(m['sample_id'])} "
            f"({esc(m['split'])}{', kept' if m['is_kept'] else ''})</span>"
            for m in members[:5]
        )
        out.append(f"<tr><td>{esc(gid)}</td><td>{cells}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def outliers_section(ctx: Context) -> str | None:
    rows = [r for r in ctx.rows(layout.OUTLIERS) if r.get("is_outlier_issue")]
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: r["outlier_score"])[:10]
    out = ["<h2>Outliers</h2><table><tr><th>sample</th><th>input</th><th>split</th>"
           "<th>mean similarity to its neighbours</th></tr>"]  # fmt: skip
    for r in rows:
        out.append(f"<tr><td>{ctx.link(r['sample_id'])}</td><td>{ctx.show(r['sample_id'])}</td>"
                   f"<td>{esc(r.get('split'))}</td>"
                   f"<td class='num'>{1 - r['knn_distance']:.3f}</td></tr>")  # fmt: skip
    out.append("</table>")
    return "\n".join(out)


def analysis_section(ctx: Context) -> str:
    clusters = ctx.rows(layout.FAILURE_CLUSTERS)[:10]
    analysis = ctx.json(layout.ANALYSIS_SUMMARY)
    out = ["<h2>Failure clusters (by severity)</h2>"]
    out.append(bars([(f"cluster {c['cluster']} ({c['size']})", max(c["severity"], 0.0),
                      f"error rate {c['error_rate']:.2f}; {c['confused_given'] or '–'} → "
                      f"{c['confused_predicted'] or '–'}") for c in clusters]))  # fmt: skip
    if analysis:
        out.append(f"<p>Overall error rate {analysis.get('error_rate', 0):.3f}; top 3 clusters "
                   f"{analysis.get('top3_error_rate', 0):.3f}.</p>")  # fmt: skip
    return "\n".join(out)


def candidates_section(ctx: Context) -> str:
    candidates = ctx.rows(layout.ACTIVE_LEARNING)
    out = [f"<h2>Active-learning candidates ({len(candidates)})</h2><table><tr><th>rank</th>"
           "<th>input</th><th>model's guess</th><th>why</th></tr>"]  # fmt: skip
    for r in candidates[:20]:
        out.append(f"<tr><td class='num'>{r['rank']}</td><td>{ctx.show(r['sample_id'])}</td>"
                   f"<td>{_guess(r['predicted_label'], r['confidence'])}</td>"
                   f"<td>{esc(r['reasons'])}</td></tr>")  # fmt: skip
    out.append("</table>")
    return "\n".join(out)


def evaluation_section(ctx: Context) -> str | None:
    preds = ctx.path(layout.EVALUATION_PREDICTIONS)
    if not preds.is_file():
        return None
    with preds.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return None
    classes = sorted({r["actual"] for r in rows} | {r["predicted"] for r in rows})
    index = {c: i for i, c in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for r in rows:
        matrix[index[r["actual"]]][index[r["predicted"]]] += 1
    return "<h2>Evaluation</h2>" + heatmap(
        "Confusion matrix on the evaluation split (rows: actual)", classes, matrix, "{}",
        f"<code>{layout.EVALUATION_PREDICTIONS}</code> (a DVC plot: <code>dvc plots show</code>)",
    )  # fmt: skip


def changes_section(ctx: Context) -> str:
    changelog = ctx.json(layout.CHANGELOG)
    out = ["<h2>Changes in this version (review decisions)</h2>"]
    if changelog.get("samples_reviewed"):
        out.append("<table><tr><th>decision</th><th>samples</th></tr>")
        for key in ("relabelled", "labelled_from_pool", "removed", "kept", "conflicts"):
            out.append(f"<tr><td>{esc(key)}</td><td class='num'>"
                       f"{esc(changelog.get(key, {}).get('count', 0))}</td></tr>")  # fmt: skip
        out.append("</table>")
        moves = changelog.get("relabelled", {}).get("items", [])[:20]
        if moves:
            out.append("<table><tr><th>sample</th><th>from</th><th>to</th></tr>" + "".join(
                f"<tr><td>{ctx.link(m['sample_id'])}</td><td>{esc(m['from'])}</td>"
                f"<td>{esc(m['to'])}</td></tr>" for m in moves) + "</table>")  # fmt: skip
    else:
        out.append("<p class='muted'>No review decisions applied yet. Compare any two versions "
                   "with <code>curate diff REV_A REV_B</code>.</p>")  # fmt: skip
    return "\n".join(out)


def _label_of(ctx: Context, sid: str) -> str:
    return esc((ctx.samples.get(sid) or {}).get("label"))


def _split_of(ctx: Context, sid: str) -> str:
    return esc((ctx.samples.get(sid) or {}).get("split"))


def leakage_section(ctx: Context) -> str | None:
    """Leaked pairs side by side (split and label of each), and leaked rows per class."""
    rows = [r for r in ctx.rows(layout.LEAKAGE) if r.get("is_leakage_issue")]
    if not rows:
        return None
    order = {"test": 0, "validation": 1, "unlabeled": 2, "train": 3}
    rows.sort(key=lambda r: (order.get(r["split"], 9), r["leakage_score"], r["sample_id"]))
    out = [f"<h2>Leakage ({len(rows):,} samples duplicated across splits)</h2>",
           "<table><tr><th>sample</th><th>split</th><th>label</th><th>input</th>"
           "<th>duplicates</th><th>split</th><th>label</th><th>input</th></tr>"]  # fmt: skip
    seen: set[frozenset[str]] = set()
    shown = 0
    for r in rows:
        for other in r["leaks_with"][:1]:
            pair = frozenset((r["sample_id"], other))
            if pair in seen:
                continue
            seen.add(pair)
            out.append(
                f"<tr><td>{ctx.link(r['sample_id'])}</td><td>{esc(r['split'])}</td>"
                f"<td>{_label_of(ctx, r['sample_id'])}</td><td>{ctx.show(r['sample_id'])}</td>"
                f"<td>{ctx.link(other)}</td><td>{_split_of(ctx, other)}</td>"
                f"<td>{_label_of(ctx, other)}</td><td>{ctx.show(other)}</td></tr>"
            )
            shown += 1
        if shown >= 20:
            break
    out.append("</table>")
    per_class: dict[str, int] = {}
    for r in rows:
        if r["split"] != "train":
            label = (ctx.samples.get(r["sample_id"]) or {}).get("label")
            per_class[str(label)] = per_class.get(str(label), 0) + 1
    top = sorted(per_class.items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    if top:
        out.append("<h3>Leaked evaluation and pool rows per class (top 15)</h3>")
        out.append(bars([(c, n, f"{n:,}") for c, n in top]))
    out.append(f"<p class='muted'>All pairs: <code>{layout.LEAKAGE}</code>.</p>")
    return "\n".join(out)


def noise_per_class(ctx: Context) -> str:
    """Bars of the flagged share per class (the 15 noisiest)."""
    per_class = ctx.json(layout.LABEL_SUMMARY).get("per_class") or {}
    top = sorted(((c, v.get("noise_rate") or 0.0, v.get("n", 0)) for c, v in per_class.items()),
                 key=lambda x: (-x[1], x[0]))[:15]  # fmt: skip
    top = [t for t in top if t[1] > 0]
    if not top:
        return ""
    return "<h3>Flagged labels per class (the 15 highest shares)</h3>" + bars(
        [(c, rate, f"{100 * rate:.1f}% of {n:,}") for c, rate, n in top]
    )


def redundancy_section(ctx: Context) -> str | None:
    """What the keep set drops, per class."""
    rows = ctx.rows(layout.REDUNDANCY, ["sample_id", "in_keep_set", "is_semantic_duplicate"])
    summary = ctx.json(layout.REDUNDANCY_SUMMARY)
    if not rows or not summary:
        return None
    per_class: dict[str, list[int]] = {}
    for r in rows:
        label = str((ctx.samples.get(r["sample_id"]) or {}).get("label"))
        slot = per_class.setdefault(label, [0, 0, 0])
        slot[0] += 1
        slot[1] += not r["in_keep_set"]
        slot[2] += bool(r["is_semantic_duplicate"])
    out = [f"<h2>Redundancy (keep set: {summary.get('kept', 0):,} of "
           f"{summary.get('training_samples', 0):,} training rows)</h2>",
           f"<p>Pruning {summary.get('pruned', 0):,} rows keeps "
           f"{100 * summary.get('keep_fraction', 0):.0f}% of the training data: semantic "
           f"duplicates first ({summary.get('semantic_duplicates', 0):,}), then by difficulty "
           f"({esc(summary.get('keep'))} kept first). Per class, most pruned first:</p>",
           "<table><tr><th>class</th><th>training rows</th><th>pruned</th>"
           "<th>semantic duplicates</th></tr>"]  # fmt: skip
    top = sorted(per_class.items(), key=lambda kv: (-kv[1][1] / max(kv[1][0], 1), kv[0]))[:15]
    for label, (n, pruned, dup) in top:
        out.append(f"<tr><td>{esc(label)}</td><td class='num'>{n:,}</td>"
                   f"<td class='num'>{pruned:,}</td><td class='num'>{dup:,}</td></tr>")  # fmt: skip
    out.append(f"</table><p class='muted'>Every row's rank: <code>{layout.REDUNDANCY}</code> "
               "(keep_rank, in_keep_set).</p>")  # fmt: skip
    return "\n".join(out)
