"""Before/after evaluation through dataset versions, on noisy_agnews.

A workspace with ``train_10k.parquet`` (real crowd labels, 19.75% wrong) as the train split and
the clean ``test.parquet`` as the evaluation split. ``dvc repro`` -> ``curate version tag raw``;
then every *training* label issue is relabelled to the model's suggestion through the
corrections log (as if annotators accepted every suggestion) -> ``dvc repro`` ->
``curate version tag relabelled``; then ``dvc metrics diff raw relabelled`` shows the evaluation
stage's accuracy and macro-F1 with their 95% bootstrap intervals. The baseline a user would
otherwise have is the raw version itself. Also printed: how many of the relabels agree with
the gold labels, and whether the change exceeds the interval (is not within noise).

    .venv/bin/python benchmarks/evaluate_versions.py          # ~5 minutes on 2 cores
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data/noisy_agnews"
RESULTS = REPO / "benchmarks/results"


def sh(args: list[str], cwd: Path) -> str:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "HF_HUB_OFFLINE": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def main() -> None:
    import pyarrow.parquet as pq

    from curate import layout
    from curate.review.corrections import CorrectionsLog
    from curate.review.tasks import correction_row

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@curate.invalid"]
        sh(["git", "init", "-q"], ws)
        curate = [sys.executable, "-m", "curate"]
        sh([*curate, "init", "--data", f"train={DATA / 'train_10k.parquet'}",
            "--data", f"test={DATA / 'test.parquet'}", "--input-column", "text",
            "--label-column", "label"], ws)  # fmt: skip
        sh([*git, "add", "-A"], ws)
        sh([*git, "commit", "-qm", "workspace"], ws)
        t0 = time.perf_counter()
        sh([sys.executable, "-m", "dvc", "repro"], ws)
        repro_raw = time.perf_counter() - t0
        sh([*curate, "version", "tag", "raw"], ws)
        raw = json.loads((ws / layout.EVALUATION).read_text())

        issues = [r for r in pq.read_table(ws / layout.LABEL_ISSUES).to_pylist()
                  if r["is_label_issue"] and r["split"] == "train"
                  and r["suggested_label"] != r["given_label"]]  # fmt: skip
        now = datetime.now(UTC).isoformat()
        rows = []
        for i, r in enumerate(issues):
            annotation = {"id": i + 1, "completed_by": {"id": 1, "email": "bench@curate"},
                          "updated_at": now, "result": [{"from_name": "label",
                          "to_name": "text", "type": "choices",
                          "value": {"choices": [r["suggested_label"]]}}]}  # fmt: skip
            task = {"id": i + 1, "data": {"sample_id": r["sample_id"],
                                          "given_label": r["given_label"]}}  # fmt: skip
            rows.append(correction_row(annotation, task, 1, "benchmark"))
        CorrectionsLog(ws / layout.CORRECTIONS).append(rows)
        sh([*git, "add", "review/corrections"], ws)
        sh([*git, "commit", "-qm", "accept every suggestion on training label issues"], ws)
        t0 = time.perf_counter()
        sh([sys.executable, "-m", "dvc", "repro"], ws)
        repro_relabel = time.perf_counter() - t0
        sh([*curate, "version", "tag", "relabelled"], ws)
        after = json.loads((ws / layout.EVALUATION).read_text())
        metrics_diff = sh([sys.executable, "-m", "dvc", "metrics", "diff", "raw", "relabelled",
                           "--targets", layout.EVALUATION], ws)  # fmt: skip
        train = pq.read_table(DATA / "train_10k.parquet").to_pandas()
        manifest = pq.read_table(ws / layout.SOURCE_MANIFEST).to_pandas()
        text_gold = dict(zip(train.text, train.gold_label, strict=True))
        sid_gold = {s: text_gold.get(t) for s, t in zip(manifest.sample_id, manifest.input,
                                                        strict=True)}  # fmt: skip
        correct = sum(sid_gold.get(r["sample_id"]) == r["suggested_label"] for r in issues)
        was_wrong = sum(sid_gold.get(r["sample_id"]) != r["given_label"] for r in issues)

    delta = after["accuracy"] - raw["accuracy"]
    noise = max(raw["within_noise_below"], after["within_noise_below"])
    lines = [
        "noisy_agnews: train_10k (crowd labels, 19.75% wrong) as train, test.parquet (clean, "
        f"{raw['eval_rows']} rows) as evaluation; logistic regression on MiniLM embeddings",
        "",
        "version      train rows  accuracy [95% CI]            macro-F1 [95% CI]",
        f"raw          {raw['train_rows']:>10}  {raw['accuracy']:.4f} "
        f"[{raw['accuracy_ci_low']:.4f}, {raw['accuracy_ci_high']:.4f}]   "
        f"{raw['macro_f1']:.4f} [{raw['macro_f1_ci_low']:.4f}, {raw['macro_f1_ci_high']:.4f}]",
        f"relabelled   {after['train_rows']:>10}  {after['accuracy']:.4f} "
        f"[{after['accuracy_ci_low']:.4f}, {after['accuracy_ci_high']:.4f}]   "
        f"{after['macro_f1']:.4f} [{after['macro_f1_ci_low']:.4f}, "
        f"{after['macro_f1_ci_high']:.4f}]",
        "",
        f"relabelled {len(issues)} training label issues to the suggestion; {correct} of them "
        f"now match the gold label ({correct / max(1, len(issues)):.1%}); {was_wrong} were "
        "wrong before",
        f"accuracy change {delta:+.4f}; interval half-width {noise:.4f}: "
        + ("beyond noise" if abs(delta) > noise else "within noise"),
        f"evaluation split's label-noise estimate (label stage): "
        f"{raw.get('eval_label_noise_estimate')}",
        "",
        "dvc metrics diff raw relabelled --targets evaluation/metrics.json:",
        metrics_diff.rstrip(),
        "",
        f"dvc repro: raw {repro_raw:.0f} s, after relabelling {repro_relabel:.0f} s; total "
        f"{time.perf_counter() - start:.0f} s; load average {os.getloadavg()}",
    ]
    print("\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evaluate_versions.json").write_text(json.dumps(
        {"raw": raw, "relabelled": after, "relabels": len(issues), "relabels_correct": correct,
         "metrics_diff": metrics_diff}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
