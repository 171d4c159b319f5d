"""Small review workspaces for the integration tests, written without running the pipeline:
the configs, a review queue and the predictions' class list (all that push needs)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from PIL import Image

from curate import layout

CLASSES = ["R&D <internal>", 'say "hi"', "it's fine", "plain"]


def review_workspace(
    root: Path,
    n: int,
    *,
    modality: str = "text",
    review: dict | None = None,
    classes: list[str] = CLASSES,
) -> Path:
    """A workspace whose ``review/queue.parquet`` holds ``n`` items (unique project title)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "configs").mkdir(exist_ok=True)
    data = {"sources": [{"path": "data.csv"}], "modality": modality,
            "input_column": "image" if modality == "image" else "text"}  # fmt: skip
    settings = {"project_title": f"curate-it-{secrets.token_hex(4)}", "chunk_size": 500,
                "retries": 2, **(review or {})}  # fmt: skip
    (root / "configs" / "data.yaml").write_text(yaml.safe_dump({"data": data}))
    (root / "configs" / "review.yaml").write_text(yaml.safe_dump({"review": settings}))
    ids = [f"s{i:05d}" for i in range(n)]
    if modality == "image":
        (root / "images").mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        inputs = []
        for sid in ids:
            pixels = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "images" / f"{sid}.png")
            inputs.append(f"images/{sid}.png")
    else:
        inputs = [f"customer message number {i}: my card payment was declined" for i in range(n)]
    queue = pa.table(
        {
            "rank": list(range(1, n + 1)),
            "sample_id": ids,
            "kind": ["label_issue"] * n,
            "kinds": [["label_issue"]] * n,
            "priority": [round(1 - i / (n + 1), 6) for i in range(n)],
            "reasons": [f"model predicts {classes[0]!r} with 0.91; given {classes[3]!r}"] * n,
            "input": inputs,
            "split": ["train"] * n,
            "given_label": [classes[3]] * n,
            "suggested_label": [classes[i % 3] for i in range(n)],
            "suggested_confidence": [0.91] * n,
        }
    )
    (root / "review").mkdir(exist_ok=True)
    pq.write_table(queue, root / layout.REVIEW_QUEUE)
    (root / "predictions").mkdir(exist_ok=True)
    predictions = pa.table({"sample_id": ids}).replace_schema_metadata(
        {"classes": json.dumps(classes)}
    )
    pq.write_table(predictions, root / layout.PRED_PROBS)
    return root


def push_state(root: Path) -> dict:
    return json.loads((root / layout.PUSH_STATE).read_text())
