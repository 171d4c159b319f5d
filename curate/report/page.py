"""``report/index.html``: one self-contained page (no network, no scripts) summarising a run.

Sections: the dataset, the counts every registered stage declares, then each stage's own
section (its ``report_section`` hook; the built-in ones are in :mod:`curate.report.sections`):
the estimated noise matrix and the evaluation's confusion matrix as heatmaps (at most
``HEATMAP_CLASSES`` classes each: those with the most off-diagonal mass, so the page stays
small at any class count), the top label issues (text, or an inline thumbnail), example
duplicate groups, outliers, failure clusters as a bar chart, the active-learning candidates,
and what review changed in this version. Every piece of dataset
content goes through ``html.escape``: a sample text containing ``<script>`` is shown as text,
never run.
"""

from __future__ import annotations

import base64
import html
import mimetypes
from collections import Counter
from pathlib import Path
from typing import Any

from curate import layout

#: Most classes a heatmap shows: those with the most off-diagonal mass (the full matrices stay
#: in their artifacts). 15 x 15 cells keep a heatmap readable and a few kilobytes.
HEATMAP_CLASSES = 15
#: Most headline findings on the first screen (ranked by impact).
HEADLINES = 7

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:1200px}h1{margin-bottom:0}h2{border-bottom:1px solid #ddd;padding-bottom:4px;
margin-top:32px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;
padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}th{background:#f4f4f4}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#777}.heat td{width:34px;
text-align:center;font-size:11px}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px
solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}.card b{font-size:22px;
display:block}img.thumb{image-rendering:pixelated;width:48px;height:48px}
ol.headlines li{margin:6px 0;font-size:15px;line-height:1.4}
"""


def _count(value: Any) -> Any:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _thumb(root: Path, value: str) -> str:
    path = root / value
    if not path.is_file():
        return esc(value)
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="thumb" alt="{esc(value)}" src="data:{mime};base64,{data}">'


def top_confused(matrix: list[list[float]], k: int) -> list[int]:
    """Indices of the ``k`` classes with the most off-diagonal mass (row plus column), in their
    original order; ties keep the earlier class."""
    n = len(matrix)
    if n <= k:
        return list(range(n))
    mass = [0.0] * n
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if i != j and v:
                mass[i] += v
                mass[j] += v
    return sorted(sorted(range(n), key=lambda i: -mass[i])[:k])


def heatmap(
    title: str, labels: list[str], matrix: list[list[float]], fmt: str, full: str = ""
) -> str:
    if not labels:
        return ""
    note = ""
    if len(labels) > HEATMAP_CLASSES:
        keep = top_confused(matrix, HEATMAP_CLASSES)
        note = (
            f"<p class='muted heat-note'>Showing the {len(keep)} of {len(labels):,} classes with "
            f"the most off-diagonal mass; the full matrix is in {esc(full)}.</p>"
        )
        labels = [labels[i] for i in keep]
        matrix = [[matrix[i][j] for j in keep] for i in keep]
    peak = max((v for row in matrix for v in row), default=1) or 1
    head = "".join(f"<th>{esc(c)}</th>" for c in labels)
    body = []
    for name, row in zip(labels, matrix, strict=True):
        cells = "".join(
            f'<td style="background:rgba(200,60,40,{min(1.0, v / peak):.2f})">{fmt.format(v)}</td>'
            for v in row
        )
        body.append(f"<tr><th>{esc(name)}</th>{cells}</tr>")
    return (
        f'<h3>{esc(title)}</h3>{note}<table class="heat"><tr><th></th>{head}</tr>'
        f"{''.join(body)}</table>"
    )


def bars(rows: list[tuple[str, float, str]], width: int = 520) -> str:
    if not rows:
        return ""
    peak = max(v for _, v, _ in rows) or 1
    h = 22
    parts = []
    for i, (label, value, note) in enumerate(rows):
        w = max(1, int(width * value / peak))
        y = i * h
        parts.append(
            f'<rect x="170" y="{y + 3}" width="{w}" height="{h - 6}" fill="#c83c28"/>'
            f'<text x="0" y="{y + 16}" font-size="12">{esc(label)}</text>'
            f'<text x="{176 + w}" y="{y + 16}" font-size="12">{esc(note)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 320}" height="{h * len(rows)}" '
        f'role="img">{"".join(parts)}</svg>'
    )


def noise_bracket(bracket: Any) -> list[str]:
    """The label-noise bracket overall and per split, with how each bound is estimated."""
    from curate.checks.label import bracket_text

    if not isinstance(bracket, dict) or not bracket_text(bracket.get("overall")):
        return []
    out = [f"<p><b>Label noise: {esc(bracket_text(bracket['overall']))}</b> of the "
           f"{esc(bracket['overall'].get('n'))} labelled samples.</p>"]  # fmt: skip
    splits = {s: b for s, b in (bracket.get("per_split") or {}).items() if bracket_text(b)}
    if len(splits) > 1:
        out.append("<table><tr><th>split</th><th>labelled</th><th>label noise</th></tr>")
        out += [f"<tr><td>{esc(s)}</td><td class='num'>{esc(b.get('n'))}</td>"
                f"<td>{esc(bracket_text(b))}</td></tr>" for s, b in splits.items()]  # fmt: skip
        out.append("</table>")
    methods = bracket.get("method") or {}
    out.append(f"<p class='muted'>Lower bound: {esc(methods.get('lower'))}. Upper bound: "
               f"{esc(methods.get('upper'))}. <code>{layout.LABEL_SUMMARY}</code> "
               "(noise_bracket, also per class).</p>")  # fmt: skip
    return out


def build_report(root: str | Path, modality: str) -> str:
    """The report page for the workspace at ``root``: the dataset, every registered stage's
    counts, then each stage's own section (its ``report_section`` hook), in pipeline order."""
    from curate.pipeline import registry
    from curate.pipeline.stage import Context
    from curate.review.links import link_html, task_links

    root = Path(root)
    ctx = Context(root=root, modality=modality)
    summary = ctx.json(layout.MANIFEST_SUMMARY)
    manifest = {
        r["sample_id"]: r
        for r in ctx.rows(layout.MANIFEST, ["sample_id", "input", "label", "split"])
    }

    def show(sid: str) -> str:
        value = (manifest.get(sid) or {}).get("input")
        if modality == "image" and value:
            return _thumb(root, value)
        return esc(value)

    ctx.show = show
    ctx.samples = manifest
    # Links into Label Studio once the queue has been pushed (the record of the push, the
    # server from LABEL_STUDIO_URL). Not a DVC dependency: `curate review push` re-renders.
    links = task_links(root)
    ctx.link = lambda sid: link_html(sid, links)
    stages = registry.stages()
    counts = {}
    for name, (path, keys) in registry.counts().items():
        value = ctx.json(path)
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        counts[name] = value
    evaluation = ctx.json(layout.EVALUATION)
    queue = ctx.json(layout.REVIEW_SUMMARY)

    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>curate report"
           f"</title><style>{CSS}</style></head><body><h1>curate report</h1>"]  # fmt: skip
    out.append("<p class='muted'>Generated by the report stage from this version's artifacts.</p>")
    found = sorted((h for s in stages for h in s.headlines(ctx)), key=lambda h: -h.impact)
    if found:
        out.append("<h2>What matters most</h2><ol class='headlines'>")
        out += [f"<li>{h.html}</li>" for h in found[:HEADLINES]]
        out.append("</ol>")
    cards = [
        ("rows", len(manifest)),
        ("labelled", sum(r.get("label") is not None for r in manifest.values())),
        *((k, "–" if v is None else v) for k, v in counts.items()),
        ("review queue", queue.get("items", "–")),
    ]
    out.append(
        "<h2>Dataset</h2><div class='cards'>"
        + "".join(f"<div class='card'><b>{esc(_count(v))}</b>{esc(k)}</div>" for k, v in cards)
        + "</div>"
    )
    splits = Counter(r.get("split") for r in manifest.values())
    out.append("<p>Splits: " + ", ".join(f"{esc(k)} {v}" for k, v in sorted(splits.items())) +
               f". Source rows: {esc(summary.get('rows', '–'))}.</p>")  # fmt: skip
    if evaluation.get("accuracy") is not None:
        out.append(
            f"<p>Evaluation on <b>{esc(evaluation['split'])}</b> ({evaluation['eval_rows']} rows): "
            f"accuracy {evaluation['accuracy']:.3f} [{evaluation['accuracy_ci_low']:.3f}, "
            f"{evaluation['accuracy_ci_high']:.3f}], macro-F1 {evaluation['macro_f1']:.3f}.</p>"
        )
    out.append("<h2>Issues per check</h2><table><tr><th>check</th><th>flagged</th></tr>")
    out += [f"<tr><td>{esc(k)}</td><td class='num'>{esc(v)}</td></tr>" for k, v in counts.items()]
    out.append("</table>")
    ordered = sorted(stages, key=lambda s: s.order if s.report_order is None else s.report_order)
    for stage in ordered:
        section = stage.report_section(ctx)
        if section:
            out.append(section)
    out.append("</body></html>")
    return "\n".join(out)
