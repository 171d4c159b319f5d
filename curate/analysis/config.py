"""Settings of the failure analysis (section ``analysis``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalysisConfig:
    """Failure analysis: k-means clusters of the labelled samples ranked by the reference
    model's errors, and error rates per metadata value. See README, 'Failure clusters'."""

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
