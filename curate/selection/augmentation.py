"""Augmentation candidates: new training samples for rare classes and the top failure clusters.

Parents are training samples of a rare class (fewer than ``rare_fraction`` x the median class
size) or correctly-labelled members of the ``target_clusters`` most severe failure clusters
(samples flagged as label issues are never parents). Each parent yields ``per_sample`` copies,
all offline and seeded:

* **text**: one or two of ``delete`` (drop a random word), ``swap`` (swap two words),
  ``insert`` (repeat one of the text's words at a random place), ``typo`` (swap, drop or double
  a letter inside a word of four letters or more); none changes what the text is about;
* **images** (torch tensor ops): a random ``crop`` of 80-95% of the sides resized back,
  ``brightness`` and ``contrast`` factors in [0.8, 1.2], and ``hflip`` / ``vflip`` when listed
  in ``augmentation.image_ops`` (not by default: a mirrored digit or word changes meaning);
* **tabular and embedding rows**: SMOTE, a random point on the segment between the parent and
  one of its same-class, same-split nearest neighbours (numeric features interpolated,
  categorical ones from the nearer end).

Every row has a new ``sample_id`` (``<parent>~aug<k>``), ``parent_id``, the ``recipe``, why the
parent was chosen, and the parent's label and split: an augmented copy never lands in another
split than its parent.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

TEXT_OPS = ("delete", "swap", "insert", "typo")


# -- text ----------------------------------------------------------------------------------
def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(3)
    if kind == 0:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def augment_text(text: str, rng: np.random.Generator) -> tuple[str, str]:
    """One label-preserving variant of ``text`` and its recipe."""
    words = text.split()
    ops = rng.choice(TEXT_OPS, size=int(rng.integers(1, 3)), replace=False).tolist()
    done = []
    for op in ops:
        if op == "delete" and len(words) > 3:
            del words[int(rng.integers(len(words)))]
        elif op == "swap" and len(words) > 1:
            i, j = rng.choice(len(words), 2, replace=False)
            words[i], words[j] = words[j], words[i]
        elif op == "insert" and words:
            words.insert(int(rng.integers(len(words) + 1)), words[int(rng.integers(len(words)))])
        elif op == "typo":
            long = [i for i, w in enumerate(words) if len(w) >= 4]
            if not long:
                continue
            i = long[int(rng.integers(len(long)))]
            words[i] = _typo(words[i], rng)
        else:
            continue
        done.append(op)
    if " ".join(words) == " ".join(text.split()):
        done = []  # the ops cancelled out (an inserted word deleted again): not a new sample
    if not done:  # too short for the chosen ops, or no change: fall back to a typo or a repeat
        if any(len(w) >= 4 for w in words):
            i = next(i for i, w in enumerate(words) if len(w) >= 4)
            words[i] = _typo(words[i], rng)
            done.append("typo")
        else:
            words.append(words[-1] if words else text)
            done.append("insert")
    return " ".join(words), "+".join(done)


# -- images --------------------------------------------------------------------------------
def augment_image(
    pixels: np.ndarray, rng: np.random.Generator, ops: Sequence[str]
) -> tuple[np.ndarray, str]:
    """One variant of an (H, W, C) uint8 image with torch tensor ops, and its recipe."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.array(pixels, np.uint8)).permute(2, 0, 1).float() / 255.0
    h, w = x.shape[1:]
    recipe = []
    if "hflip" in ops and rng.random() < 0.5:
        x = torch.flip(x, dims=[2])
        recipe.append("hflip")
    if "vflip" in ops and rng.random() < 0.5:
        x = torch.flip(x, dims=[1])
        recipe.append("vflip")
    if "crop" in ops:
        scale = float(rng.uniform(0.8, 0.95))
        ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
        top, left = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        crop = x[:, top : top + ch, left : left + cw].unsqueeze(0)
        x = F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)[0]
        recipe.append(f"crop({scale:.2f})")
    if "brightness" in ops:
        factor = float(rng.uniform(0.8, 1.2))
        x = x * factor
        recipe.append(f"brightness({factor:.2f})")
    if "contrast" in ops:
        factor = float(rng.uniform(0.8, 1.2))
        mean = x.mean()
        x = (x - mean) * factor + mean
        recipe.append(f"contrast({factor:.2f})")
    out = (x.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return out, "+".join(recipe) or "identity"


# -- rows (SMOTE) --------------------------------------------------------------------------
def interpolate(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    lam = float(rng.uniform(0.0, 1.0))
    return a + lam * (b - a), lam


# -- choosing parents ----------------------------------------------------------------------
@dataclass(frozen=True)
class Parent:
    index: int
    reason: str


def choose_parents(
    labels: Sequence[str | None],
    splits: Sequence[str],
    *,
    rare_fraction: float,
    cluster_of: np.ndarray | None,
    target_clusters: Sequence[int],
    excluded: np.ndarray | None,
    max_parents: int,
    seed: int,
    parent_splits: Sequence[str] = ("train",),
) -> list[Parent]:
    """Rare-class samples first, then correctly-labelled members of the target clusters."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    excluded = np.zeros(n, bool) if excluded is None else np.asarray(excluded, bool)
    eligible = np.array(
        [
            labels[i] is not None and splits[i] in parent_splits and not excluded[i]
            for i in range(n)
        ]  # fmt: skip
    )
    counts = Counter(labels[i] for i in np.flatnonzero(eligible))
    chosen: dict[int, str] = {}
    if counts:
        median = float(np.median(list(counts.values())))
        for cls, count in sorted(counts.items()):
            if count < rare_fraction * median:
                members = [i for i in np.flatnonzero(eligible) if labels[i] == cls]
                for i in rng.permutation(members)[:max_parents]:
                    chosen.setdefault(
                        int(i), f"rare class '{cls}' ({count} vs median {median:.0f})"
                    )
    if cluster_of is not None:
        for c in target_clusters:
            members = np.flatnonzero(eligible & (cluster_of == c))
            for i in rng.permutation(members)[:max_parents]:
                chosen.setdefault(int(i), f"failure cluster {c}")
    return [Parent(i, reason) for i, reason in sorted(chosen.items())]


def augmented_id(parent_id: str, k: int) -> str:
    return f"{parent_id}~aug{k}"


def image_file_name(sample_id: str) -> str:
    return hashlib.sha1(sample_id.encode()).hexdigest()[:20] + ".png"


def base_table(rows: list[dict], extra: pa.Schema | None = None) -> pa.Table:
    fields = [
        ("sample_id", pa.string()),
        ("parent_id", pa.string()),
        ("recipe", pa.string()),
        ("reason", pa.string()),
        ("split", pa.string()),
        ("label", pa.string()),
    ]
    schema = pa.schema(fields + (list(extra) if extra is not None else []))
    return pa.Table.from_pylist(rows, schema=schema)


def augment(
    manifest: pa.Table,
    modality: str,
    parents: Sequence[Parent],
    *,
    per_sample: int,
    seed: int,
    root: Path | None = None,
    image_dir: Path | None = None,
    image_ops: Sequence[str] = ("crop", "brightness", "contrast"),
    embeddings: np.ndarray | None = None,
    neighbours: np.ndarray | None = None,
    feature_columns: Sequence[str] = (),
) -> pa.Table:
    """The augmented rows for ``parents`` (indices into ``manifest``)."""
    rng = np.random.default_rng(seed)
    ids = manifest.column("sample_id").to_pylist()
    labels = manifest.column("label").to_pylist()
    splits = manifest.column("split").to_pylist()
    inputs = manifest.column("input").to_pylist() if "input" in manifest.column_names else None
    rows: list[dict] = []
    extra = None
    for parent in parents:
        i = parent.index
        base = {"parent_id": ids[i], "reason": parent.reason, "split": splits[i],
                "label": labels[i]}  # fmt: skip
        partners = []
        if neighbours is not None:
            partners = [j for j in neighbours[i] if j >= 0 and labels[j] == labels[i]
                        and splits[j] == splits[i]]  # fmt: skip
        for k in range(1, per_sample + 1):
            row = {**base, "sample_id": augmented_id(ids[i], k)}
            if modality == "text":
                row["input"], row["recipe"] = augment_text(str(inputs[i]), rng)
            elif modality == "image":
                from PIL import Image

                with Image.open(root / inputs[i]) as img:
                    pixels = np.asarray(img.convert("RGB"))
                out, row["recipe"] = augment_image(pixels, rng, image_ops)
                name = image_file_name(row["sample_id"])
                image_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(out).save(image_dir / name)
                row["input"] = (image_dir / name).relative_to(root).as_posix()
            else:  # SMOTE between same-class neighbours
                if not partners:
                    continue
                j = partners[int(rng.integers(len(partners)))]
                if modality == "embedding":
                    vec, lam = interpolate(embeddings[i], embeddings[j], rng)
                    row["embedding"] = (vec / max(np.linalg.norm(vec), 1e-12)).tolist()
                else:
                    lam = float(rng.uniform(0.0, 1.0))
                    for col in feature_columns:
                        a, b = manifest.column(col)[i].as_py(), manifest.column(col)[j].as_py()
                        if isinstance(a, int | float) and isinstance(b, int | float):
                            row[col] = float(a + lam * (b - a))
                        else:
                            row[col] = (
                                None
                                if (a if lam < 0.5 else b) is None
                                else str(a if lam < 0.5 else b)
                            )
                row["recipe"] = f"smote({ids[j]}, {lam:.2f})"
            rows.append(row)
    if modality in ("text", "image"):
        extra = pa.schema([("input", pa.string())])
    elif modality == "embedding":
        extra = pa.schema([("embedding", pa.list_(pa.float32()))])
    else:
        extra = pa.schema([(col, _feature_type(rows, col)) for col in feature_columns])
    return base_table(rows, extra)


def _feature_type(rows: list[dict], col: str) -> pa.DataType:
    values = [r.get(col) for r in rows if r.get(col) is not None]
    return pa.float64() if all(isinstance(v, float) for v in values) else pa.string()
