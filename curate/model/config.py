"""Settings of the reference model (section ``predict``) and of the before/after evaluation
(section ``evaluate``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from curate.settings import check_range, invalid

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config


@dataclass(frozen=True)
class PredictConfig:
    """Reference model for out-of-sample predicted probabilities (used by the label check).
    Every member predicts each labelled sample from a model that never saw it, on the same
    seeded folds in which copies of one content share a fold; the members are combined out of
    fold."""

    #: Reference-model members, each out of fold on the same folds: ``auto`` (text:
    #: embedding_logreg and lexical_logreg; other modalities: embedding_logreg) or a list of
    #: embedding_logreg, lexical_logreg, knn, mlp.
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
    #: Inverse regularisation and iteration cap of the logistic regressions.
    logreg_c: float = 1.0
    max_iter: int = 1000
    #: Neighbours voting in the ``knn`` member (and in ``model: knn``).
    knn_k: int = 20
    #: Add-alpha smoothing of the ``knn`` member's vote fractions.
    knn_alpha: float = 0.01
    #: ``lexical_logreg`` (TF-IDF word 1-2-grams and character 3-5-grams of whole texts): its
    #: inverse regularisation and vocabulary cap (per n-gram kind).
    lexical_c: float = 10.0
    lexical_max_features: int = 100_000
    #: The ``mlp`` member: hidden units and training epochs.
    mlp_hidden: int = 256
    mlp_epochs: int = 30
    #: Bring your own model: a file (CSV/Parquet/JSONL) of out-of-sample pred_probs aligned by
    #: sample_id, one column per class or a ``pred_probs`` list column with
    #: ``pred_probs_classes``. It replaces the members. Also add the file to the predict stage's
    #: deps in dvc.yaml so DVC notices when it changes.
    pred_probs_file: str | None = None
    #: Class order of a ``pred_probs`` list column.
    pred_probs_classes: tuple[str, ...] | None = None

    def validate(self, cfg: Config) -> None:
        threshold = self.near_duplicate_threshold
        check_range(
            "predict.near_duplicate_threshold",
            threshold,
            threshold is None or 0 < threshold <= 1,
            "in (0, 1] or null",
        )
        check_range("predict.folds", self.folds, self.folds >= 2, ">= 2")
        if self.knn_k < 1 or self.lexical_max_features < 1:
            invalid(
                "predict.knn_k",
                "predict.knn_k and predict.lexical_max_features must be >= 1, found "
                f"{self.knn_k} and {self.lexical_max_features}.",
            )
        if not self.knn_alpha > 0 or not self.lexical_c > 0:
            invalid(
                "predict.knn_alpha",
                "predict.knn_alpha and predict.lexical_c must be > 0, found "
                f"{self.knn_alpha} and {self.lexical_c}.",
            )
        members = self.members
        if members != "auto" and (not members or len(set(members)) != len(members)):
            invalid(
                "predict.members",
                "predict.members must be auto or a non-empty list without repeats, found "
                f"{list(members)}.",
            )


@dataclass(frozen=True)
class EvaluateConfig:
    """Before/after evaluation: the reference classifier trained on this version's train
    split, scored on a held-out split. ``dvc metrics diff v1 v2`` then shows whether curation
    helped; see README, 'Dataset versions'."""

    #: The held-out split the reference classifier is scored on (ideally verified clean;
    #: keep review decisions away from it, or versions are scored on different labels).
    split: str = "test"
    #: Bootstrap resamples of the evaluation rows for the 95% intervals.
    bootstrap: int = 1000
