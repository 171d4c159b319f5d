"""Settings of the review queue and the Label Studio loop (section ``review``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from curate.settings import check_range, invalid

if TYPE_CHECKING:  # pragma: no cover
    from curate.config import Config

#: Splits a labelled item may be moved into.
_LABELLED_SPLITS = ("train", "validation", "test")


def default_review_weights() -> dict[str, float]:
    """Review kind -> default priority weight, as the registered checks declare them."""
    from curate.pipeline.registry import review_kinds

    return dict(review_kinds())


@dataclass(frozen=True)
class ReviewConfig:
    """Review loop: the prioritised queue (queue stage), Label Studio push/pull, and apply.
    The server comes from LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY; see README, 'Review loop'.

    An item's priority is the sum, over the kinds its sample is flagged for, of
    weights[kind] * (1 - score), where score is that check's score in [0, 1] (lower = worse).
    The queue holds the max_items highest priorities, at most quotas[kind] of each kind (an
    item counts toward the quota of its main kind).
    """

    #: Label Studio project title; give each workspace its own.
    project_title: str = "curate review"
    #: Queue budget: the most items queued.
    max_items: int = 500
    #: Most items per kind, e.g. {outlier: 50, duplicate_group: 100}.
    quotas: dict[str, int] = field(default_factory=dict)
    #: Priority weight per kind (the defaults come from the checks that report the kinds).
    weights: dict[str, float] = field(default_factory=default_review_weights)
    #: Tasks per import request to Label Studio (a push resumes chunk by chunk).
    chunk_size: int = 1000
    #: Attempts per request on transient errors (connection errors, 5xx, 429), with backoff.
    retries: int = 5
    #: ``model_version`` of the suggested labels pushed with the tasks.
    model_version: str = "curate"
    #: Split that pool samples labelled in review move into.
    labelled_pool_split: str = "train"
    #: How images reach Label Studio: ``inline`` (a data: URI in the task; nothing to set up)
    #: or ``local_files`` (served by Label Studio from LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT,
    #: which must be ``local_files_root``).
    images: Literal["inline", "local_files"] = "inline"
    local_files_root: str | None = None

    def validate(self, cfg: Config) -> None:
        check_range("review.max_items", self.max_items, self.max_items >= 0, ">= 0")
        check_range("review.chunk_size", self.chunk_size, self.chunk_size >= 1, ">= 1")
        check_range("review.retries", self.retries, self.retries >= 1, ">= 1")
        kinds = list(default_review_weights())
        for name, table in (("quotas", self.quotas), ("weights", self.weights)):
            unknown = sorted(set(table) - set(kinds))
            if unknown:
                invalid(
                    f"review.{name}",
                    f"review.{name} names unknown kind(s) {', '.join(map(repr, unknown))}; "
                    f"kinds are: {', '.join(kinds)}.",
                )
            negative = {k: v for k, v in table.items() if v < 0}
            if negative:
                invalid(f"review.{name}", f"review.{name} must be >= 0, found {negative}.")
        if self.labelled_pool_split not in _LABELLED_SPLITS:
            invalid(
                "review.labelled_pool_split",
                f"review.labelled_pool_split must be train, validation or test, found "
                f"{self.labelled_pool_split!r}.",
            )
        if self.images == "local_files" and not self.local_files_root:
            invalid(
                "review.local_files_root",
                "review.images is 'local_files' but review.local_files_root is not set. Set it "
                "to the folder Label Studio serves (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT).",
            )
