"""The pipeline as code: each stage declares what it reads and writes beside its ``run``;
dvc.yaml, the CLI verbs, the config sections, the review queue's kinds, the report's sections
and ``curate diff``'s counts all follow from the registered stages."""

from curate.pipeline.stage import Check, Context, Headline, Stage

__all__ = ["Check", "Context", "Headline", "Stage"]
