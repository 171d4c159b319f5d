"""Where artifacts live inside a workspace (paths relative to the workspace root)."""

from __future__ import annotations

MANIFEST = "manifest/manifest.parquet"
MANIFEST_SUMMARY = "manifest/summary.json"
ANNOTATIONS = "manifest/annotations.parquet"
EMBEDDINGS = "embeddings/embeddings.parquet"
EMBEDDINGS_SUMMARY = "embeddings/summary.json"
PRED_PROBS = "predictions/pred_probs.parquet"
PRED_PROBS_SUMMARY = "predictions/summary.json"
LABEL_ISSUES = "issues/label.parquet"
LABEL_SUMMARY = "issues/label_summary.json"
ANNOTATORS = "issues/annotators.parquet"
CONSENSUS = "issues/consensus.parquet"
