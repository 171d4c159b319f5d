"""The demo workspace: scikit-learn's bundled handwritten digits with planted, documented problems.

Nothing is downloaded: the 1,797 8x8 digit images ship inside scikit-learn. With a fixed seed
the demo writes them as PNG files plus a ``samples.csv`` table, then plants:

* **wrong labels**: 5% of the training images get another class's label;
* **exact duplicates**: 20 training images copied byte for byte under new ids;
* **near duplicates**: 30 training images copied with light pixel noise;
* **train/test leak**: 15 test images copied (lightly noised) into the training split;
* **unlabelled pool**: 300 images with an empty label.

What was planted, by ``sample_id``, is written to ``data/digits/planted.json`` so every later
stage can print "planted vs found".
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curate.artifacts import write_json, write_text
from curate.errors import WorkspaceError
from curate.scaffold.infer import DataSpec
from curate.scaffold.tools import dvc_command, run_tool
from curate.scaffold.workspace import pipeline_files, write_pipeline

MARKER = ".curate-demo"
DATA_DIR = "data/digits"
#: The demo's images are 8 x 8 pixels: embedded at that size.
DEMO_IMAGE_SIZE = 8


@dataclass(frozen=True)
class DemoPlan:
    seed: int = 0
    n_pool: int = 300
    n_test: int = 300
    wrong_label_rate: float = 0.05
    n_exact_duplicates: int = 20
    n_near_duplicates: int = 30
    n_leaks: int = 15
    noise: float = 6.0  # std of the pixel noise on near-duplicates (0-255 scale)


def demo_data_spec() -> DataSpec:
    return DataSpec(
        sources=[{"path": f"{DATA_DIR}/samples.csv"}],
        modality="image",
        input_column="image",
        label_column="label",
        id_column="image_id",
        split_column="split",
        metadata_columns=["origin"],
        classes=[str(d) for d in range(10)],
    )


def demo_pipeline_files() -> dict[str, str]:
    """The demo's pipeline: the files of ``pipelines/demo/`` in a source checkout (kept equal to
    what the code generates by a test), else generated from the code."""
    from curate.scaffold.reference import DEMO_PIPELINE

    if (DEMO_PIPELINE / "dvc.yaml").is_file():
        return {
            p.relative_to(DEMO_PIPELINE).as_posix(): p.read_text()
            for p in sorted(DEMO_PIPELINE.rglob("*"))
            if p.is_file()
        }
    return pipeline_files(demo_data_spec(), image_size=DEMO_IMAGE_SIZE)


def write_demo_data(root: Path, plan: DemoPlan = DemoPlan()) -> dict[str, Any]:
    """Write the digits images, samples.csv and planted.json under ``root/data/digits``."""
    from PIL import Image
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(plan.seed)
    digits = load_digits()
    images = np.clip(digits.images * (255.0 / 16.0), 0, 255).astype(np.uint8)
    labels = digits.target.astype(int)
    n = len(images)
    order = rng.permutation(n)
    pool_idx = order[: plan.n_pool]
    test_idx = order[plan.n_pool : plan.n_pool + plan.n_test]
    train_idx = order[plan.n_pool + plan.n_test :]

    out = root / DATA_DIR
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []

    def add(pixels: np.ndarray, label: str, split: str, origin: str) -> str:
        image_id = f"digit-{len(rows):05d}"
        rel = f"images/{image_id}.png"
        Image.fromarray(pixels, mode="L").save(out / rel)
        rows.append(
            {"image_id": image_id, "image": rel, "label": label, "split": split, "origin": origin}
        )
        return image_id

    ids_by_index: dict[int, str] = {}
    for split, idx in (("train", train_idx), ("test", test_idx), ("unlabeled", pool_idx)):
        for i in idx:
            label = "" if split == "unlabeled" else str(labels[i])
            ids_by_index[int(i)] = add(images[i], label, split, "original")

    planted: dict[str, Any] = {"seed": plan.seed}
    # Wrong labels: a different class, drawn uniformly.
    n_wrong = int(round(plan.wrong_label_rate * len(train_idx)))
    wrong = rng.choice(train_idx, size=n_wrong, replace=False)
    by_id = {r["image_id"]: r for r in rows}
    planted["wrong_labels"] = []
    for i in sorted(int(x) for x in wrong):
        new = int(rng.choice([c for c in range(10) if c != labels[i]]))
        by_id[ids_by_index[i]]["label"] = str(new)
        planted["wrong_labels"].append(
            {"sample_id": ids_by_index[i], "true_label": str(labels[i]), "given_label": str(new)}
        )

    def noisy(pixels: np.ndarray) -> np.ndarray:
        return np.clip(pixels + rng.normal(0, plan.noise, pixels.shape), 0, 255).astype(np.uint8)

    rest = np.setdiff1d(train_idx, wrong)
    picks = rng.choice(rest, size=plan.n_exact_duplicates + plan.n_near_duplicates, replace=False)
    planted["exact_duplicates"] = []
    for i in picks[: plan.n_exact_duplicates]:
        original = by_id[ids_by_index[int(i)]]
        copy = add(images[i], original["label"], "train", "exact-copy")
        planted["exact_duplicates"].append({"sample_id": copy, "original": original["image_id"]})
    planted["near_duplicates"] = []
    for i in picks[plan.n_exact_duplicates :]:
        original = by_id[ids_by_index[int(i)]]
        copy = add(noisy(images[i]), original["label"], "train", "near-copy")
        planted["near_duplicates"].append({"sample_id": copy, "original": original["image_id"]})
    planted["leaks"] = []
    for i in rng.choice(test_idx, size=plan.n_leaks, replace=False):
        original = by_id[ids_by_index[int(i)]]
        copy = add(noisy(images[i]), original["label"], "train", "test-leak")
        planted["leaks"].append({"sample_id": copy, "test_sample_id": original["image_id"]})
    planted["unlabelled_pool"] = len(pool_idx)

    header = "image_id,image,label,split,origin\n"
    body = "".join(
        f"{r['image_id']},{r['image']},{r['label']},{r['split']},{r['origin']}\n" for r in rows
    )
    write_text(header + body, out / "samples.csv")
    write_json(planted, out / "planted.json")
    return planted


def build_demo(
    target: str | Path, *, repro: bool = True, plan: DemoPlan = DemoPlan()
) -> dict[str, Any]:
    """Create the demo workspace at ``target`` (a new or earlier demo folder) and run the pipeline.

    Returns a summary with the planted problems and the pipeline's metrics.
    """
    root = Path(target).resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise WorkspaceError(
                f"{root} exists and is not empty, and it is not a curate demo folder. Choose a "
                "new folder for the demo, e.g. `curate demo demo-workspace`."
            )
        shutil.rmtree(root)  # an earlier demo: rebuild it from scratch
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("created by `curate demo`; safe to delete\n")
    # The demo is its own git repository even when created inside another one.
    run_tool(["git", "init", "-q"], root, "initialise a git repository")
    planted = write_demo_data(root, plan)
    write_pipeline(root, demo_pipeline_files())
    run_tool(["git", "add", "-A"], root, "stage the demo files")
    run_tool(
        [
            "git",
            "-c",
            "user.name=curate demo",
            "-c",
            "user.email=demo@curate.invalid",
            "commit",
            "-q",
            "-m",
            "curate demo workspace",
        ],
        root,
        "commit the demo workspace",
    )
    summary: dict[str, Any] = {"workspace": str(root), "planted": _counts(planted)}
    if repro:
        run_tool(dvc_command("repro"), root, "run `dvc repro`")
        for name in ("manifest/summary.json", "embeddings/summary.json"):
            summary[name] = json.loads((root / name).read_text())
        summary["wrong_labels_found"] = _planted_vs_found(root, planted)
        summary["duplicates_found"] = _duplicates_found(root, planted)
        for name in (
            "issues/outliers_summary.json",
            "issues/redundancy_summary.json",
            "analysis/summary.json",
            "candidates/active_learning_summary.json",
            "candidates/augmentation_summary.json",
            "evaluation/metrics.json",
            "review/queue_summary.json",
        ):
            summary[name] = json.loads((root / name).read_text())
    return summary


def _planted_vs_found(root: Path, planted: dict[str, Any]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from curate import layout

    issues = pq.read_table(root / layout.LABEL_ISSUES, columns=["sample_id", "is_label_issue"])
    flagged = {
        sid for sid, bad in zip(*(c.to_pylist() for c in issues.columns), strict=True) if bad
    }
    wrong = {w["sample_id"] for w in planted["wrong_labels"]}
    hits = len(flagged & wrong)
    return {
        "planted": len(wrong),
        "flagged": len(flagged),
        "found": hits,
        "precision": hits / len(flagged) if flagged else 0.0,
    }


def _duplicates_found(root: Path, planted: dict[str, Any]) -> dict[str, Any]:
    """Planted copies found: both members in one duplicate group; leaks: also flagged as
    leakage across train and test."""
    import pyarrow.parquet as pq

    from curate import layout

    dup = pq.read_table(root / layout.DUPLICATES, columns=["sample_id", "group_id"]).to_pylist()
    group = {r["sample_id"]: r["group_id"] for r in dup}
    leak = pq.read_table(root / layout.LEAKAGE, columns=["sample_id", "leak_pairs"]).to_pylist()
    pairs = {r["sample_id"]: set(r["leak_pairs"]) for r in leak}

    def together(a: str, b: str) -> bool:
        return group[a] is not None and group[a] == group[b]

    out: dict[str, Any] = {}
    for kind, other in (("exact_duplicates", "original"), ("near_duplicates", "original")):
        found = sum(together(p["sample_id"], p[other]) for p in planted[kind])
        out[kind] = {"planted": len(planted[kind]), "found": found}
    found = sum(
        together(p["sample_id"], p["test_sample_id"])
        and "train-test" in pairs[p["sample_id"]]
        and "train-test" in pairs[p["test_sample_id"]]
        for p in planted["leaks"]
    )
    out["leaks"] = {"planted": len(planted["leaks"]), "found": found}
    summary = json.loads((root / layout.DUPLICATES_SUMMARY).read_text())
    out["groups"] = summary["near_duplicate"]["groups"]
    out["train_test_leak_groups"] = summary["leakage"]["boundaries"]["train-test"]["groups"]
    return out


def _counts(planted: dict[str, Any]) -> dict[str, int]:
    return {k: (len(v) if isinstance(v, list) else v) for k, v in planted.items() if k != "seed"}
