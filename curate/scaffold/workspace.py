"""Scaffold a curation workspace in a git repository: dvc.yaml, params.yaml, configs/.

``curate init`` writes the pipeline around the user's data so that the next command is
``dvc repro``. Existing files are never overwritten unless asked.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curate import layout
from curate.artifacts import write_text
from curate.config import (
    DuplicatesConfig,
    SourceConfig,
    load_config,
    near_duplicate_threshold,
)
from curate.data.sources import read_source, resolve_format
from curate.errors import ConfigError, WorkspaceError

TEXT_COLUMNS = ("text", "sentence", "content", "message", "query", "input", "document")
IMAGE_COLUMNS = ("image", "image_path", "path", "file", "filename", "filepath")
LABEL_COLUMNS = ("label", "labels", "category", "intent", "class", "target", "y")
ID_COLUMNS = ("sample_id", "id", "uid", "uuid")
SPLIT_COLUMNS = ("split", "subset", "fold")
GITIGNORE_LINES = (
    "/.curate/",
    "/review/push_state.json",
    # The corrections log's staging folder (its lock, rows kept pending while a DVC run holds
    # the log), and temporary files a killed writer of an older version may leave in the log.
    "/review/.corrections-pending/",
    "/review/corrections/.*.tmp",
    "/review/corrections/.lock",
)
#: Kept out of DVC's hash of review/corrections/ (the apply stage's dependency).
DVCIGNORE_LINES = ("/review/corrections/.*.tmp", "/review/corrections/.lock")

EMBED_YAML = """\
# Embedding settings. Vectors are cached in embed.cache_dir by content hash and embedder
# identity, so re-running after adding rows embeds only the new rows.
embed:
  embedder: auto          # auto | text | image | tabular | precomputed (auto: by data.modality)
  batch_size: 64
  cache_dir: .curate/cache/embeddings
  text:
    model: bundled        # bundled all-MiniLM-L6-v2, or a local sentence-transformers folder
    max_seq_length: 256   # the model's window in word pieces (special tokens included)
    # A text longer than the window is not truncated: it is split into chunks of chunk_tokens
    # word pieces overlapping by chunk_overlap (the last chunk ends at the text's end), and its
    # vector is the normalised mean of the chunks' vectors. Texts that fit are embedded whole.
    chunk_tokens: null    # null: the whole window (max_seq_length minus the special tokens)
    chunk_overlap: 32     # 0 <= chunk_overlap < chunk_tokens
    max_chunks: 64        # per text; a longer text's rest is not read (embed summary: texts_capped)
    # auto | torch | onnx | onnx-int8. auto: the fastest ONNX export of the model (int8, then
    # fp32) that agrees with fp32 torch on a sample of these texts (mean cosine >= 0.99, 10-NN
    # overlap >= 0.90), else torch. Exports are built once, offline, into export_dir.
    backend: auto
    export_dir: .curate/cache/models   # $CURATE_MODEL_CACHE overrides
  image:
    size: {image_size}    # images are resized to size x size
    grayscale: true
    dim: 256              # seeded random projection of the pixels; null keeps raw pixels
    module: null          # or package.module:factory returning a torch.nn.Module
    module_version: "1"   # bump when the module's weights change
"""

PREDICT_YAML = """\
# Reference model for out-of-sample predicted probabilities (used by the label check).
# Every member predicts each labelled sample from a model that never saw it, on the same seeded
# folds in which copies of one content share a fold; the members are combined out of fold.
predict:
  members: auto           # auto (text: embedding_logreg + lexical_logreg; else
                          # embedding_logreg) or a list of those, knn and mlp
  combine: logpool        # logpool (weighted geometric mean, weights learnt) | mean
  model: logreg           # classifier of embedding_logreg: logreg | knn | mlp (small torch MLP)
  folds: 5
  near_duplicate_threshold: 0.99   # near-copies (cosine) share a fold; null: exact only
  logreg_c: 1.0
  max_iter: 1000
  knn_k: 20               # neighbours voting in the knn member (and in model: knn)
  knn_alpha: 0.01         # smoothing of the knn member's vote fractions
  lexical_c: 10.0         # lexical_logreg: TF-IDF word 1-2-grams + char 3-5-grams of whole texts
  lexical_max_features: 100000
  mlp_hidden: 256
  mlp_epochs: 30
  # Bring your own model: out-of-sample pred_probs aligned by sample_id (CSV/Parquet/JSONL,
  # one column per class or a pred_probs list column + pred_probs_classes). Also add the file
  # to the predict stage's deps in dvc.yaml so DVC notices when it changes. It replaces the
  # members.
  pred_probs_file: null
  pred_probs_classes: null
"""

LABEL_YAML = """\
# Label-issue check: cleanlab on the out-of-sample pred_probs of the predict stage.
label:
  filter_by: prune_by_noise_rate     # cleanlab find_label_issues filter
  score_method: self_confidence      # label_score: self_confidence | normalized_margin | ...
  bootstrap: 200                     # resamples for the noise-rate confidence intervals
  annotator_alpha: 0.01              # significance level for flagging unreliable annotators
"""

INDEX_YAML = """\
# kNN graph over the embeddings, built once by the knn stage and reused by the duplicate,
# leakage, outlier and redundancy checks and by predict's fold grouping.
index:
  k: 10                   # neighbours per sample
  method: auto            # auto | exact | ivf | hnsw (auto: exact up to exact_max_rows)
  exact_max_rows: 10000   # exact search up to this many rows, `approximate` above
  approximate: ivf        # ivf | hnsw; recall@k vs exact is measured and written to metrics
  ivf_nlist: null         # k-means lists; null: about 4 * sqrt(rows)
  ivf_nprobe: null        # nearest lists each row is scored against; null: 8, 16 above 200k rows
  ivf_train_per_list: 16  # k-means training rows per list (a seeded sample)
  refine_iters: 3         # neighbour-descent rounds after the lists (0: none)
  hnsw_m: 32
  hnsw_ef_construction: 80
  hnsw_ef_search: 128     # candidates per query: higher recall, slower
  recall_queries: 1000    # seeded queries for the recall@k measurement
  batch_size: 4096        # queries per search batch (bounds memory)
"""

DUPLICATES_YAML = """\
# Exact duplicates (equal content hash), near duplicates (cosine >= threshold, grouped by
# union-find; text: character-3-gram candidates verified by word edits, other data: the
# embeddings' kNN graph) and leakage (duplicates across splits or into the pool).
duplicates:
  similarity: auto        # auto | lexical | embedding (auto: lexical for text, else embedding)
  threshold: {threshold}{threshold_note}
  # Text compared lexically: a candidate is a near duplicate when its word edits (a word
  # dropped, added, moved or misspelt: 1; replaced: 3) are at most this fraction of the longer
  # text's words (at least 1 from 3 words on). null: the cosine alone decides (then use
  # threshold 0.93).
  max_word_edits: 0.25
  # Which member of a duplicate group is kept: labelled first, then by split in this order,
  # then the best label score (pred_probs of the given label), then the earliest in the data.
  keep_split_order: [train, validation, test, unlabeled]
  conflicts_are_label_issues: true   # near duplicates with different labels -> label issues
"""

OUTLIER_YAML = """\
# Outliers: mean cosine similarity to the k nearest neighbours (kNN graph).
outlier:
  k: 10                   # neighbours averaged (at most index.k)
  rate: 0.02              # fraction of samples flagged as outliers (lowest scores)
"""

REDUNDANCY_YAML = """\
# Redundancy: a ranked pruning set of the labelled training samples: class-stratified
# clusters, semantic duplicates (SemDeDup) pruned first, then a difficulty preference.
# See README.md, 'Duplicates, leakage, outliers and redundancy'.
redundancy:
  clusters: null          # k-means clusters inside each class; null: one per class
  # Within a cluster, samples at least this cosine-similar are semantic duplicates.
  threshold: {redundancy_threshold}
  keep_fraction: 0.7      # size of the keep set (in_keep_set) as a fraction of training rows
  keep: auto              # easy | hard | auto (easy below large_dataset_rows, hard from there)
  large_dataset_rows: 1000
  preference_strength: 3.0   # 0: stratified random; large: strict easy/hard-first order
  label_agreement: 0.1       # neighbours sharing the label at most this often: pruned first
"""

#: Semantic-duplicate thresholds of the redundancy check, by modality (benchmarks/
#: redundancy.py for text). Pixel projections of small images are all highly similar.
REDUNDANCY_THRESHOLDS = {"text": 0.98, "image": 0.99, "tabular": 0.98, "embedding": 0.98}

REVIEW_YAML = """\
# Review loop: the prioritised queue (queue stage), Label Studio push/pull, and apply.
# See README.md, 'Review loop'. The server comes from LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY.
review:
  project_title: curate review   # one Label Studio project per workspace: make it unique
  max_items: 500          # queue budget
  quotas: {}              # most items per kind, e.g. {outlier: 50, duplicate_group: 100}
  # priority = sum over the sample's flagged kinds of weight * (1 - check score)
  weights:
    label_issue: 1.0
    leakage: 0.9
    active_learning: 0.8
    duplicate_group: 0.6
    outlier: 0.4
  chunk_size: 1000        # tasks per import request (a push resumes chunk by chunk)
  retries: 5              # attempts per request on transient errors, with backoff
  model_version: curate   # model_version of the suggested labels in Label Studio
  labelled_pool_split: train   # where pool samples labelled in review go
  images: inline          # inline (data: URI) | local_files (Label Studio local-files serving)
  local_files_root: null  # local_files: LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT
"""

ANALYSIS_YAML = """\
# Failure analysis: k-means clusters of the labelled samples ranked by the reference model's
# errors, and error rates per metadata value. See README.md, 'Failure clusters'.
analysis:
  clusters: null          # null: about sqrt(labelled) / 2, between 2 and 100
  slice_columns: []       # metadata columns (from data.metadata_columns) to slice errors by
  slice_alpha: 0.05       # flag a slice worse than the rest at this level (Bonferroni)
  min_slice_size: 10
"""

ACTIVE_LEARNING_YAML = """\
# Active learning: a batch of unlabelled pool samples to annotate next (queued for review).
active_learning:
  batch_size: 100
  uncertainty: margin     # margin | entropy | least_confidence
  # Greedy picks maximise the weighted sum of uncertainty, similarity to the failure
  # clusters' errors, and distance to the labelled and already-picked samples (diversity).
  weights:                # on the signals' percentiles; 0 turns a signal off. Plain margin
    uncertainty: 1.0      # (this default) was chosen on a tuning split of banking77 and held
    diversity: 0.0        # up on its test split and on clinc150 (benchmarks/README.md)
    similarity: 0.0
  target_clusters: 3      # failure clusters whose errors seed the similarity search
  neighbours: 10          # pool neighbours fetched per seed sample
"""

AUGMENTATION_YAML = """\
# Augmentation candidates for rare classes and the weakest failure clusters (offline, seeded).
augmentation:
  rare_fraction: 0.5      # rare: fewer training samples than this x the median class
  target_clusters: 1      # most severe failure clusters whose members are augmented
  per_sample: 2           # augmented copies per parent
  max_parents: 200        # per rare class / cluster
  parent_splits: [train]  # copies always keep their parent's split
  image_ops: [crop, brightness, contrast]   # also: hflip, vflip (when mirroring keeps the label)
"""

EVALUATE_YAML = """\
# Before/after evaluation: the reference classifier trained on this version's train split,
# scored on a held-out split (ideally verified clean; keep review decisions away from it).
# `dvc metrics diff v1 v2` then shows whether curation helped; see README, 'Dataset versions'.
evaluate:
  split: test             # the held-out evaluation split
  bootstrap: 1000         # resamples for the 95% intervals
"""

CORRECTIONS_README = """\
# Corrections log

Review decisions pulled from Label Studio (`curate review pull`) or received by webhook
(`curate serve`), one Parquet part per append. Append-only: never edit or delete a part.
Commit new parts with git; the `apply` stage turns them into the next dataset version.
"""

PARAMS_YAML = """\
# Pipeline-wide parameters. Component settings live in configs/*.yaml.
seed: 0
"""


@dataclass
class DataSpec:
    """What ``curate init`` learned or was told about the user's data."""

    sources: list[dict[str, Any]]
    modality: str
    input_column: str | None
    label_column: str | None
    id_column: str | None = None
    split_column: str | None = None
    feature_columns: list[str] = field(default_factory=list)
    metadata_columns: list[str] = field(default_factory=list)
    split_values: dict[str, str] = field(default_factory=dict)
    classes: list[str] | None = None
    image_root: str | None = None

    def to_yaml(self) -> str:
        data: dict[str, Any] = {"sources": self.sources, "modality": self.modality}
        if self.modality == "tabular":
            data["feature_columns"] = self.feature_columns
            data["input_column"] = None
        else:
            data["input_column"] = self.input_column
        data["label_column"] = self.label_column
        data["id_column"] = self.id_column
        data["split_column"] = self.split_column
        if self.split_values:
            data["split_values"] = self.split_values
        data["metadata_columns"] = self.metadata_columns
        if self.classes is not None:
            data["classes"] = self.classes
        if self.image_root:
            data["image_root"] = self.image_root
        header = (
            "# Where the data is and which columns mean what. See README.md, 'Data contract'.\n"
            "# label_column: null makes every row part of the unlabelled pool; rows with an\n"
            "# empty label are always in the pool.\n"
        )
        return header + yaml.safe_dump({"data": data}, sort_keys=False)


def data_dependencies(spec: DataSpec, root: Path | None = None) -> list[str]:
    """What the ingest stage depends on: every source, plus the image folders for image data.

    Image tables reference files by path, so the folder holding them is a dependency too:
    ``image_root`` when set, otherwise the folder of each table source. A table in the
    workspace itself (or above it) cannot make that folder a dependency, since the stage's
    outputs live there: the folders of the images it lists are the dependencies instead.
    """
    deps = [s["path"] for s in spec.sources]
    if spec.modality == "image":
        if spec.image_root:
            deps.append(spec.image_root)
        else:
            for source in spec.sources:
                path = Path(source["path"])
                if not path.suffix:
                    continue  # an image folder: already a dependency as a source
                found = [str(path.parent)]
                if root is not None:
                    folder = (root / path).parent.resolve()
                    if root.resolve().is_relative_to(folder):
                        found = _image_folders(root, source, spec.input_column)
                elif str(path.parent) in (".", ""):
                    found = []
                deps += [d for d in found if d not in deps]
    return deps


def _image_folders(root: Path, source: dict[str, Any], column: str | None) -> list[str]:
    """The top-level folders (or files) under ``root`` holding the images a table lists, and
    the folders of any listed outside it."""
    table_path = (root / source["path"]).resolve()
    src = SourceConfig(
        path=str(table_path),
        format=source.get("format", "auto"),
        header=source.get("header", True),
        column_names=tuple(source["column_names"]) if source.get("column_names") else None,
    )
    table = read_source(src, table_path)
    if column is None or column not in table.column_names:
        return []
    root = root.resolve()
    found: list[str] = []
    for value in table.column(column).to_pylist():
        if not value:
            continue
        file = (table_path.parent / str(value)).resolve()
        if file.is_relative_to(root):
            parts = file.relative_to(root).parts
            dep = parts[0] if parts else "."
        else:
            dep = str(file.parent)
        if dep not in found and dep != ".":
            found.append(dep)
    return found


def render_dvc_yaml(deps: Sequence[str], modality: str = "text") -> str:
    """The default pipeline for a workspace whose ingest stage depends on ``deps``."""
    augment_deps = [
        layout.MANIFEST,
        layout.LABEL_ISSUES,
        layout.FAILURE_CLUSTERS,
        layout.SAMPLE_CLUSTERS,
    ]
    if modality in ("tabular", "embedding"):
        augment_deps += [layout.GRAPH] + ([layout.EMBEDDINGS] if modality == "embedding" else [])
    augment_outs = [layout.AUGMENTATION] + (
        [layout.AUGMENTED_IMAGES] if modality == "image" else []
    )
    stages = {
        "ingest": {
            "cmd": "curate ingest",
            "deps": list(deps),
            "params": [{"configs/data.yaml": ["data"]}],
            "outs": [layout.SOURCE_MANIFEST, layout.ANNOTATIONS],
            "metrics": [{layout.MANIFEST_SUMMARY: {"cache": False}}],
        },
        "apply": {
            "cmd": "curate apply",
            "deps": [layout.SOURCE_MANIFEST, layout.CORRECTIONS],
            "params": [{"configs/review.yaml": ["review.labelled_pool_split"]}],
            "outs": [layout.MANIFEST, layout.REMOVED, layout.CHANGES],
            "metrics": [{layout.CHANGELOG: {"cache": False}}],
        },
        "embed": {
            "cmd": "curate embed",
            "deps": [layout.MANIFEST],
            "params": ["seed", {"configs/embed.yaml": ["embed"]}],
            "outs": [layout.EMBEDDINGS],
            "metrics": [{layout.EMBEDDINGS_SUMMARY: {"cache": False}}],
        },
        "knn": {
            "cmd": "curate knn",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS],
            "params": ["seed", {"configs/index.yaml": ["index"]}],
            "outs": [layout.GRAPH],
            "metrics": [{layout.GRAPH_SUMMARY: {"cache": False}}],
        },
        "predict": {
            "cmd": "curate predict",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH],
            "params": [
                "seed",
                {"configs/predict.yaml": ["predict"]},
                {"configs/data.yaml": ["data.modality"]},  # members: auto follows it
            ],
            "outs": [layout.PRED_PROBS],
            "metrics": [{layout.PRED_PROBS_SUMMARY: {"cache": False}}],
        },
        "duplicates": {
            "cmd": "curate duplicates",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH, layout.PRED_PROBS],
            # Text compares lexical vectors by a graph built here with the index settings and
            # the seed; data.modality picks that similarity.
            "params": [
                "seed",
                {"configs/duplicates.yaml": ["duplicates"]},
                {"configs/index.yaml": ["index"]},
                {"configs/data.yaml": ["data.modality"]},
            ],
            "outs": [layout.DUPLICATES, layout.LEAKAGE],
            "metrics": [{layout.DUPLICATES_SUMMARY: {"cache": False}}],
        },
        "label": {
            "cmd": "curate label",
            "deps": [layout.MANIFEST, layout.ANNOTATIONS, layout.PRED_PROBS, layout.DUPLICATES],
            "params": [
                "seed",
                {"configs/label.yaml": ["label"]},
                {"configs/duplicates.yaml": ["duplicates.conflicts_are_label_issues"]},
            ],
            "outs": [layout.LABEL_ISSUES, layout.ANNOTATORS, layout.CONSENSUS],
            "metrics": [{layout.LABEL_SUMMARY: {"cache": False}}],
        },
        "outliers": {
            "cmd": "curate outliers",
            "deps": [layout.MANIFEST, layout.GRAPH],
            "params": [{"configs/outlier.yaml": ["outlier"]}],
            "outs": [layout.OUTLIERS],
            "metrics": [{layout.OUTLIERS_SUMMARY: {"cache": False}}],
        },
        "redundancy": {
            "cmd": "curate redundancy",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH],
            "params": ["seed", {"configs/redundancy.yaml": ["redundancy"]}],
            "outs": [layout.REDUNDANCY],
            "metrics": [{layout.REDUNDANCY_SUMMARY: {"cache": False}}],
        },
        "analysis": {
            "cmd": "curate analysis",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.PRED_PROBS, layout.LABEL_ISSUES],
            "params": ["seed", {"configs/analysis.yaml": ["analysis"]}],
            "outs": [layout.FAILURE_CLUSTERS, layout.SAMPLE_CLUSTERS, layout.SLICES],
            "metrics": [{layout.ANALYSIS_SUMMARY: {"cache": False}}],
        },
        "candidates": {
            "cmd": "curate candidates",
            "deps": [
                layout.MANIFEST,
                layout.EMBEDDINGS,
                layout.PRED_PROBS,
                layout.LEAKAGE,
                layout.FAILURE_CLUSTERS,
                layout.SAMPLE_CLUSTERS,
            ],
            "params": [{"configs/active_learning.yaml": ["active_learning"]}],
            "outs": [layout.ACTIVE_LEARNING],
            "metrics": [{layout.ACTIVE_LEARNING_SUMMARY: {"cache": False}}],
        },
        "augment": {
            "cmd": "curate augment",
            "deps": augment_deps,
            "params": ["seed", {"configs/augmentation.yaml": ["augmentation"]}],
            "outs": augment_outs,
            "metrics": [{layout.AUGMENTATION_SUMMARY: {"cache": False}}],
        },
        "evaluate": {
            "cmd": "curate evaluate",
            "deps": [layout.MANIFEST, layout.EMBEDDINGS, layout.LABEL_SUMMARY],
            "params": [
                "seed",
                {"configs/evaluate.yaml": ["evaluate"]},
                {"configs/predict.yaml": ["predict"]},
            ],
            "metrics": [{layout.EVALUATION: {"cache": False}}],
            "plots": [
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
            ],
        },
        "report": {
            "cmd": "curate report",
            "deps": [
                layout.MANIFEST,
                layout.MANIFEST_SUMMARY,
                layout.LABEL_ISSUES,
                layout.LABEL_SUMMARY,
                layout.DUPLICATES,
                layout.OUTLIERS_SUMMARY,
                layout.FAILURE_CLUSTERS,
                layout.ANALYSIS_SUMMARY,
                layout.ACTIVE_LEARNING,
                layout.EVALUATION,
                layout.CHANGELOG,
                layout.REVIEW_SUMMARY,
            ],
            "outs": [{layout.REPORT: {"cache": False}}],
        },
        "queue": {
            "cmd": "curate queue",
            "deps": [
                layout.MANIFEST,
                layout.PRED_PROBS,
                layout.LABEL_ISSUES,
                layout.DUPLICATES,
                layout.LEAKAGE,
                layout.OUTLIERS,
                layout.CHANGES,
                layout.ACTIVE_LEARNING,
            ],
            "params": [
                {"configs/review.yaml": ["review.max_items", "review.quotas", "review.weights"]}
            ],
            "outs": [layout.REVIEW_QUEUE],
            "metrics": [{layout.REVIEW_SUMMARY: {"cache": False}}],
        },
    }
    header = (
        "# The curation pipeline, written by `curate init`. Each stage calls a thin module in\n"
        "# curate/stages/; settings live in params.yaml and configs/*.yaml.\n"
    )
    return header + yaml.safe_dump({"stages": stages}, sort_keys=False)


def infer_data_spec(
    root: Path,
    data: Sequence[str],
    *,
    modality: str | None = None,
    input_column: str | None = None,
    label_column: str | None = None,
    no_label: bool = False,
    id_column: str | None = None,
    split_column: str | None = None,
    feature_columns: Sequence[str] = (),
    metadata_columns: Sequence[str] = (),
    header: bool = True,
    column_names: Sequence[str] | None = None,
    fmt: str = "auto",
) -> DataSpec:
    """Build a data spec from ``--data`` arguments (``[SPLIT=]PATH``), guessing column roles.

    Guesses are made only where the user gave nothing, from common column names; anything
    that cannot be guessed is an error that says which option to pass.
    """
    if not data:
        raise ConfigError("no data given. Pass --data PATH (repeat it, or use SPLIT=PATH).")
    sources: list[dict[str, Any]] = []
    first_columns: list[str] | None = None
    for item in data:
        split, sep, raw_path = item.partition("=")
        if not sep:
            split, raw_path = None, item
        path = Path(raw_path).expanduser().resolve()
        source: dict[str, Any] = {"path": _relative_to(path, root)}
        if fmt != "auto":
            source["format"] = fmt
        if not header:
            source["header"] = False
        if column_names:
            source["column_names"] = list(column_names)
        if split:
            source["split"] = split
        sources.append(source)
        if first_columns is None:
            src = SourceConfig(
                path=str(path),
                format=fmt,  # type: ignore[arg-type]
                header=header,
                column_names=tuple(column_names) if column_names else None,
            )
            if resolve_format(src, path) == "image_folder":
                modality = modality or "image"
                input_column = input_column or "path"
                label_column = label_column or "label"
                first_columns = ["path", "label"]
            else:
                first_columns = read_source(src, path).column_names

    assert first_columns is not None
    where = data[0].partition("=")[2] or data[0]
    if feature_columns:
        modality = modality or "tabular"
    if input_column is None and modality != "tabular":
        candidates = IMAGE_COLUMNS if modality == "image" else TEXT_COLUMNS
        if modality is None:
            candidates = TEXT_COLUMNS + IMAGE_COLUMNS
        input_column = _pick(first_columns, candidates)
        if input_column is None:
            raise ConfigError(
                f"cannot tell which column of {where} holds the inputs; columns are: "
                f"{', '.join(first_columns)}. Pass --input-column NAME (or --feature-column "
                "for tabular data)."
            )
    if modality is None:
        modality = "image" if input_column in IMAGE_COLUMNS else "text"
    if no_label:
        label_column = None
    elif label_column is None:
        label_column = _pick(first_columns, LABEL_COLUMNS)
        if label_column is None:
            raise ConfigError(
                f"cannot tell which column of {where} holds the labels; columns are: "
                f"{', '.join(first_columns)}. Pass --label-column NAME, or --no-label for an "
                "unlabelled dataset."
            )
    if id_column is None:
        id_column = _pick(first_columns, ID_COLUMNS)
    if split_column is None and not any("split" in s for s in sources):
        split_column = _pick(first_columns, SPLIT_COLUMNS)
    return DataSpec(
        sources=sources,
        modality=modality,
        input_column=input_column,
        label_column=label_column,
        id_column=id_column,
        split_column=split_column,
        feature_columns=list(feature_columns),
        metadata_columns=list(metadata_columns),
    )


def init_workspace(
    root: str | Path, spec: DataSpec, *, force: bool = False, image_size: int = 32
) -> list[Path]:
    """Write dvc.yaml, params.yaml and configs/ into ``root`` and make it a git + DVC repo.

    Returns the files written. Refuses to overwrite existing pipeline files unless ``force``.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    files = {
        root / "dvc.yaml": render_dvc_yaml(data_dependencies(spec, root), spec.modality),
        root / "params.yaml": PARAMS_YAML,
        root / "configs" / "data.yaml": spec.to_yaml(),
        root / "configs" / "embed.yaml": EMBED_YAML.format(image_size=image_size),
        root / "configs" / "predict.yaml": PREDICT_YAML,
        root / "configs" / "label.yaml": LABEL_YAML,
        root / "configs" / "index.yaml": INDEX_YAML,
        root / "configs" / "duplicates.yaml": DUPLICATES_YAML.format(
            threshold=near_duplicate_threshold(DuplicatesConfig(), spec.modality),
            threshold_note=(
                "     # lexical cosine of the candidates; the default for text, see README"
                if spec.modality == "text"
                else f"     # cosine; the default for {spec.modality} data, see README"
            ),
        ),
        root / "configs" / "outlier.yaml": OUTLIER_YAML,
        root / "configs" / "redundancy.yaml": REDUNDANCY_YAML.format(
            redundancy_threshold=REDUNDANCY_THRESHOLDS[spec.modality]
        ),
        root / "configs" / "review.yaml": REVIEW_YAML,
        root / "configs" / "analysis.yaml": ANALYSIS_YAML,
        root / "configs" / "active_learning.yaml": ACTIVE_LEARNING_YAML,
        root / "configs" / "augmentation.yaml": AUGMENTATION_YAML,
        root / "configs" / "evaluate.yaml": EVALUATE_YAML,
        # The corrections log must exist (the apply stage depends on it) and lives in git.
        root / layout.CORRECTIONS / "README.md": CORRECTIONS_README,
    }
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise WorkspaceError(
            f"{', '.join(str(p.relative_to(root)) for p in existing)} already exist(s) in "
            f"{root}. Pass --force to overwrite them, or edit them by hand."
        )
    _ensure_git(root)
    _ensure_dvc(root)
    _ensure_remote(root)
    for path, text in files.items():
        write_text(text, path)
    _extend_gitignore(root)
    load_config(root)  # what we wrote must load; fail here rather than in `dvc repro`
    return list(files)


def run_tool(args: Sequence[str], cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
    """Run git or dvc; a failure becomes a WorkspaceError quoting the tool's own message."""
    env = tool_env()
    try:
        proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise WorkspaceError(
            f"cannot {what}: '{args[0]}' is not installed or not on PATH."
        ) from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise WorkspaceError(f"cannot {what} in {cwd}: {' '.join(tail)}")
    return proc


def dvc_command(*args: str) -> list[str]:
    """Invoke the DVC that is installed next to this Python, whatever PATH says."""
    return [sys.executable, "-m", "dvc", *args]


def tool_env() -> dict[str, str]:
    """Environment for git/dvc subprocesses: this interpreter's bin dir first on PATH (so the
    pipeline's ``curate`` commands resolve to this installation) and DVC analytics off."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def _ensure_git(root: Path) -> None:
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        run_tool(["git", "init", "-q"], root, "initialise a git repository")


#: The default DVC remote `curate init` configures: a local folder, no server needed.
DEFAULT_REMOTE = "curate-local"
#: Environment variable naming the folder that holds the default remotes (one per workspace).
REMOTES_DIR_ENV = "CURATE_REMOTES_DIR"


def default_remote_dir(root: str | Path) -> Path:
    """Where ``curate init`` puts the default DVC remote of the workspace at ``root``.

    Outside the work tree, so that nothing git does there (``git clean -fdx``, a fresh
    checkout, deleting the clone) loses a version: ``$CURATE_REMOTES_DIR`` if set, else
    ``$XDG_DATA_HOME/curate/remotes`` (``~/.local/share/curate/remotes``), then one folder per
    workspace, ``<folder name>-<first 8 hex digits of the sha256 of its absolute path>``.
    """
    root = Path(root).resolve()
    base = os.environ.get(REMOTES_DIR_ENV)
    if base:
        parent = Path(base).expanduser()
    else:
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        parent = Path(data_home).expanduser() / "curate" / "remotes"
    digest = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:8]
    return parent.resolve() / f"{root.name}-{digest}"


def _ensure_remote(root: Path) -> None:
    """A default DVC remote if there is none: :func:`default_remote_dir`, by absolute path, so
    other clones on this machine can pull from it. Point it elsewhere with
    ``dvc remote add -d -f curate-local <url>`` (or any remote name)."""
    remotes = run_tool(dvc_command("remote", "list"), root, "list DVC remotes").stdout
    if remotes.strip():
        return
    folder = default_remote_dir(root)
    if folder.is_relative_to(root):
        raise WorkspaceError(
            f"the default DVC remote {folder} would be inside the workspace {root}, where "
            f"`git clean -fdx` deletes it. Set {REMOTES_DIR_ENV} to a folder outside it."
        )
    run_tool(
        dvc_command("remote", "add", "-d", DEFAULT_REMOTE, str(folder)),
        root,
        "configure the default DVC remote",
    )


def _ensure_dvc(root: Path) -> None:
    if not (root / ".dvc").is_dir():
        top = run_tool(["git", "rev-parse", "--show-toplevel"], root, "find the git root")
        if Path(top.stdout.strip()).resolve() != root:
            # DVC can live in a subdirectory of a git repository (monorepo layout).
            run_tool(dvc_command("init", "-q", "--subdir"), root, "initialise DVC")
        else:
            run_tool(dvc_command("init", "-q"), root, "initialise DVC")


def _extend_gitignore(root: Path) -> None:
    path = root / ".gitignore"
    lines = path.read_text().splitlines() if path.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in lines]
    if missing:
        write_text("\n".join([*lines, *missing]) + "\n", path)
    path = root / ".dvcignore"
    lines = path.read_text().splitlines() if path.exists() else []
    missing = [line for line in DVCIGNORE_LINES if line not in lines]
    if missing:
        write_text("\n".join([*lines, *missing]) + "\n", path)


def _pick(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lower:
            return lower[name]
    return None


def _relative_to(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)
