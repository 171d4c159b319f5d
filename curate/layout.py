"""Where artifacts live inside a workspace (paths relative to the workspace root)."""

from __future__ import annotations

#: What the ingest stage read from the sources, before review decisions.
SOURCE_MANIFEST = "manifest/source.parquet"
#: The current dataset version: the source with review decisions applied (apply stage).
MANIFEST = "manifest/manifest.parquet"
REMOVED = "manifest/removed.parquet"
CHANGES = "manifest/changes.parquet"
CHANGELOG = "manifest/changelog.json"
MANIFEST_SUMMARY = "manifest/summary.json"
ANNOTATIONS = "manifest/annotations.parquet"
EMBEDDINGS = "embeddings/embeddings.parquet"
EMBEDDINGS_SUMMARY = "embeddings/summary.json"
GRAPH = "graph/knn.parquet"
GRAPH_SUMMARY = "graph/summary.json"
PRED_PROBS = "predictions/pred_probs.parquet"
PRED_PROBS_SUMMARY = "predictions/summary.json"
LABEL_ISSUES = "issues/label.parquet"
LABEL_SUMMARY = "issues/label_summary.json"
ANNOTATORS = "issues/annotators.parquet"
CONSENSUS = "issues/consensus.parquet"
DUPLICATES = "issues/duplicates.parquet"
LEAKAGE = "issues/leakage.parquet"
DUPLICATES_SUMMARY = "issues/duplicates_summary.json"
OUTLIERS = "issues/outliers.parquet"
OUTLIERS_SUMMARY = "issues/outliers_summary.json"
REDUNDANCY = "issues/redundancy.parquet"
REDUNDANCY_SUMMARY = "issues/redundancy_summary.json"
REVIEW_QUEUE = "review/queue.parquet"
REVIEW_SUMMARY = "review/queue_summary.json"
#: Append-only log of review decisions (git-tracked; written by `curate review pull/serve`).
CORRECTIONS = "review/corrections"
#: What `curate review push` has pushed to which Label Studio project (not a DVC output).
PUSH_STATE = "review/push_state.json"
