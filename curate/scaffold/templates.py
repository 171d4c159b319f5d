"""The files ``curate init`` writes besides dvc.yaml: params.yaml and configs/*.yaml."""

from __future__ import annotations

from pathlib import Path

from curate import layout
from curate.config import DuplicatesConfig, near_duplicate_threshold
from curate.scaffold.infer import DataSpec

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


def workspace_files(spec: DataSpec, *, image_size: int = 32) -> dict[str, str]:
    """params.yaml, configs/*.yaml and the corrections log's README, by relative path."""
    return {
        "params.yaml": PARAMS_YAML,
        "configs/data.yaml": spec.to_yaml(),
        "configs/embed.yaml": EMBED_YAML.format(image_size=image_size),
        "configs/predict.yaml": PREDICT_YAML,
        "configs/label.yaml": LABEL_YAML,
        "configs/index.yaml": INDEX_YAML,
        "configs/duplicates.yaml": DUPLICATES_YAML.format(
            threshold=near_duplicate_threshold(DuplicatesConfig(), spec.modality),
            threshold_note=(
                "     # lexical cosine of the candidates; the default for text, see README"
                if spec.modality == "text"
                else f"     # cosine; the default for {spec.modality} data, see README"
            ),
        ),
        "configs/outlier.yaml": OUTLIER_YAML,
        "configs/redundancy.yaml": REDUNDANCY_YAML.format(
            redundancy_threshold=REDUNDANCY_THRESHOLDS[spec.modality]
        ),
        "configs/review.yaml": REVIEW_YAML,
        "configs/analysis.yaml": ANALYSIS_YAML,
        "configs/active_learning.yaml": ACTIVE_LEARNING_YAML,
        "configs/augmentation.yaml": AUGMENTATION_YAML,
        "configs/evaluate.yaml": EVALUATE_YAML,
        # The corrections log must exist (the apply stage depends on it) and lives in git.
        str(Path(layout.CORRECTIONS) / "README.md"): CORRECTIONS_README,
    }
