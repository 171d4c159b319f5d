"""Stage ``evaluate``: the reference classifier trained on this version, scored on the
held-out evaluation split (DVC metrics and plots), and scored again without the split's rows
that leak from the training data (an exact or near duplicate of a train row)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from curate import layout
from curate.artifacts import write_json, write_text
from curate.config import EvaluateConfig, load_config
from curate.data.manifest import read_artifact, read_embeddings, read_manifest, require_aligned
from curate.model.evaluation import evaluate
from curate.model.predict import make_model
from curate.pipeline.stage import Stage


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    embeddings = read_embeddings(cfg.path(layout.EMBEDDINGS), manifest)
    labels = manifest.column("label").to_pylist()
    splits = manifest.column("split").to_pylist()
    ids = manifest.column("sample_id").to_pylist()
    split = cfg.evaluate.split
    train = np.array(
        [s == "train" and lab is not None for s, lab in zip(splits, labels, strict=True)]
    )
    held = np.array([s == split and lab is not None for s, lab in zip(splits, labels, strict=True)])
    if not held.any() or not train.any():
        # Not an error: many datasets have no held-out split. The outputs still exist (DVC).
        skipped = {
            "split": split,
            "skipped": f"no evaluation: {int(train.sum())} labelled train rows and "
            f"{int(held.sum())} labelled rows in split {split!r}; set evaluate.split in "
            "configs/evaluate.yaml to a held-out split with labels",
        }
        write_text("sample_id,actual,predicted\n", cfg.path(layout.EVALUATION_PREDICTIONS))
        write_json([], cfg.path(layout.EVALUATION_PER_CLASS))
        write_json(skipped, cfg.path(layout.EVALUATION))
        return skipped
    leaked = leaked_rows(cfg.path(layout.LEAKAGE), manifest, split)
    result = evaluate(
        embeddings[train],
        [labels[i] for i in np.flatnonzero(train)],
        embeddings[held],
        [labels[i] for i in np.flatnonzero(held)],
        make_model(cfg.predict, cfg.seed),
        bootstrap=cfg.evaluate.bootstrap,
        seed=cfg.seed,
        leaked=leaked[held],
    )
    noise = bracket = None
    label_summary = cfg.path(layout.LABEL_SUMMARY)
    if label_summary.is_file():
        label = json.loads(label_summary.read_text())
        noise = (label.get("per_split", {}).get(split) or {}).get("noise_rate")
        held_bracket = ((label.get("noise_bracket") or {}).get("per_split") or {}).get(split)
        if held_bracket:
            bracket = {k: held_bracket.get(k) for k in ("lower", "upper")}
    predictions = result.pop("predictions")
    per_class = result.pop("per_class_f1")
    # The share of the split flagged as label issues, and the bracket on its true noise rate.
    metrics = {**result, "split": split, "eval_label_noise_estimate": noise,
               "eval_label_noise_bracket": bracket}  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sample_id", "actual", "predicted"])
    for i, pred in zip(np.flatnonzero(held), predictions, strict=True):
        writer.writerow([ids[i], labels[i], pred])
    write_text(out.getvalue(), cfg.path(layout.EVALUATION_PREDICTIONS))
    write_json([{"class": c, "f1": f} for c, f in per_class.items()],
               cfg.path(layout.EVALUATION_PER_CLASS))  # fmt: skip
    write_json(metrics, cfg.path(layout.EVALUATION))
    return metrics


def leaked_rows(path: Path, manifest, split: str) -> np.ndarray:
    """Per manifest row: whether it is a row of ``split`` with an exact or near duplicate in
    the train split (its leak pairs in ``path``, the leakage table, include ``train-<split>``)."""
    leakage = read_artifact(path, "duplicates", ["sample_id", "leak_pairs"])
    require_aligned(leakage, manifest, layout.LEAKAGE, "duplicates")
    boundary = f"train-{split}"
    return np.array([boundary in (p or []) for p in leakage.column("leak_pairs").to_pylist()],
                    bool)  # fmt: skip


class Evaluate(Stage):
    name = "evaluate"
    help = "Stage: train on this version, score the held-out split (metrics with CIs)."
    order = 85
    config = EvaluateConfig
    deps = (layout.MANIFEST, layout.EMBEDDINGS, layout.LABEL_SUMMARY, layout.LEAKAGE)
    params = ("seed", "predict")
    metrics = (layout.EVALUATION,)
    plots = (
        {
            layout.EVALUATION_PER_CLASS: {
                "cache": False,
                "x": "f1",
                "y": "class",
                "template": "bar_horizontal",
            }
        },
        {
            layout.EVALUATION_PREDICTIONS: {
                "cache": False,
                "x": "predicted",
                "y": "actual",
                "template": "confusion",
            }
        },
    )
    report_reads = (layout.EVALUATION, layout.EVALUATION_PREDICTIONS)

    def report_section(self, ctx):
        from curate.report.sections import evaluation_section

        return evaluation_section(ctx)

    def headlines(self, ctx):
        from curate.report.headlines import evaluation_headlines

        return evaluation_headlines(ctx)

    run = staticmethod(run)
