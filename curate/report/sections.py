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
    issues = sorted((r for r in ctx.rows(layout.LABEL_ISSUES) if r["is_label_issue"]),
                    key=lambda r: r["label_score"])[:20]  # fmt: skip
    out.append("<h3>Top label issues</h3><table><tr><th>sample</th><th>input</th><th>given</th>"
               "<th>suggested</th><th>why</th></tr>")  # fmt: skip
    for r in issues:
        out.append(f"<tr><td>{esc(r['sample_id'])}</td><td>{ctx.show(r['sample_id'])}</td>"
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
            f"{ctx.show(m['sample_id'])} <span class='muted'>{esc(m['sample_id'])} "
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
        out.append(f"<tr><td>{esc(r['sample_id'])}</td><td>{ctx.show(r['sample_id'])}</td>"
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
                f"<tr><td>{esc(m['sample_id'])}</td><td>{esc(m['from'])}</td>"
                f"<td>{esc(m['to'])}</td></tr>" for m in moves) + "</table>")  # fmt: skip
    else:
        out.append("<p class='muted'>No review decisions applied yet. Compare any two versions "
                   "with <code>curate diff REV_A REV_B</code>.</p>")  # fmt: skip
    return "\n".join(out)
