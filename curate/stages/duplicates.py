"""Stage ``duplicates``: exact and near duplicates and leakage across splits.

Near-duplicates of text are found on lexical vectors (hashed character 3-grams) through a
kNN graph built here over them, and verified by word edits (``duplicates.max_word_edits``);
other data is compared on the embeddings through the knn stage's graph.

Writes issues/duplicates.parquet (one row per sample), issues/leakage.parquet and the
summary metrics issues/duplicates_summary.json.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from curate import checks, layout
from curate.artifacts import write_json, write_parquet
from curate.config import (
    NEAR_DUPLICATE_THRESHOLDS,
    DuplicatesConfig,
    duplicate_similarity,
    load_config,
    near_duplicate_threshold,
    verifies_word_edits,
)
from curate.data.manifest import (
    read_artifact,
    read_embeddings,
    read_graph,
    read_manifest,
    require_aligned,
)
from curate.embed import to_matrix
from curate.model.predict import classes_of
from curate.pipeline.stage import Check

#: Text candidate thresholds above this get a note (word edits verify, so candidates should be
#: generous: in benchmarks/duplicates.py lexical cosine >= 0.93 links only 80% of the planted
#: banking77 copies to their originals).
CANDIDATE_NOTE_ABOVE = 0.9

#: Columns of the exact-duplicate check joined onto the near-duplicate table.
EXACT_COLUMNS = (
    "exact_group_id",
    "exact_group_size",
    "is_exact_duplicate_issue",
    "exact_duplicate_score",
)


def run(root: str | Path = ".") -> dict:
    cfg = load_config(root)
    manifest = read_manifest(cfg.path(layout.MANIFEST))
    predictions = read_artifact(cfg.path(layout.PRED_PROBS), "predict")
    require_aligned(predictions, manifest, layout.PRED_PROBS, "predict")
    ids = manifest.column("sample_id").to_pylist()
    splits = manifest.column("split").to_pylist()
    labels = manifest.column("label").to_pylist()
    hashes = manifest.column("content_hash").to_pylist()
    scores = given_label_probability(
        to_matrix(predictions.column("pred_probs")), classes_of(predictions), labels
    )
    modality = cfg.data.modality
    similarity = duplicate_similarity(cfg.duplicates, modality)
    dcfg = dataclasses.replace(
        cfg.duplicates, threshold=near_duplicate_threshold(cfg.duplicates, modality)
    )
    if note := candidate_threshold_note(dcfg, modality):
        print(note, file=sys.stderr)
    lexical_graph = texts = None
    if similarity == "lexical":
        # Text compares lexical vectors; the embeddings and their graph are not read at all.
        from curate.embed.lexical import lexical_vectors
        from curate.index import build_graph

        texts = [str(t) for t in manifest.column("input").to_pylist()]
        X = lexical_vectors(texts)
        graph = lexical_graph = build_graph(X, cfg.index, seed=cfg.seed)
    else:
        X = read_embeddings(cfg.path(layout.EMBEDDINGS), manifest)
        graph = read_graph(cfg.path(layout.GRAPH), manifest)
    common = {"labels": labels, "splits": splits, "label_scores": scores, "cfg": dcfg}
    exact = checks.get("exact_duplicate")(ids, hashes, **common)
    near = checks.get("near_duplicate")(ids, X, graph, content_hashes=hashes, texts=texts, **common)
    near.summary["similarity"] = similarity
    if lexical_graph is not None:
        near.summary["lexical_graph"] = lexical_graph.stats
    leak = checks.get("leakage")(ids, splits, labels, near.table.column("group_id").to_pylist(), X)
    table = near.table
    for name in EXACT_COLUMNS:
        table = table.append_column(name, exact.table.column(name))
    write_parquet(table, cfg.path(layout.DUPLICATES))
    write_parquet(leak.table, cfg.path(layout.LEAKAGE))
    summary = {
        "exact_duplicate": exact.summary,
        "near_duplicate": near.summary,
        "leakage": leak.summary,
    }
    write_json(summary, cfg.path(layout.DUPLICATES_SUMMARY))
    return summary


def candidate_threshold_note(cfg: DuplicatesConfig, modality: str) -> str | None:
    """A note when text candidates are cut so high that the word edits cannot find copies,
    e.g. a workspace written before word edits, with the old cosine-only threshold 0.93."""
    if not verifies_word_edits(cfg, modality) or cfg.threshold is None:
        return None
    default = NEAR_DUPLICATE_THRESHOLDS[("lexical", "text")]
    if cfg.threshold <= CANDIDATE_NOTE_ABOVE:
        return None
    return (
        f"note: configs/duplicates.yaml has duplicates.threshold {cfg.threshold} with "
        f"max_word_edits {cfg.max_word_edits}: the threshold only picks candidates for the word "
        f"edits, and above {CANDIDATE_NOTE_ABOVE} it drops copies they would accept (the "
        f"default for text is {default}; set max_word_edits: null to let the cosine decide)."
    )


def given_label_probability(
    pred_probs: np.ndarray, classes: tuple[str, ...], labels: list[str | None]
) -> np.ndarray:
    """The reference model's probability of each sample's given label (NaN when unlabelled)."""
    index = {c: k for k, c in enumerate(classes)}
    out = np.full(len(labels), np.nan)
    for i, lab in enumerate(labels):
        if lab is not None and lab in index:
            out[i] = pred_probs[i, index[lab]]
    return out


class Duplicates(Check):
    name = "duplicates"
    help = "Stage: exact and near duplicates, and leakage across splits."
    order = 60
    config = DuplicatesConfig
    deps = (layout.MANIFEST, layout.EMBEDDINGS, layout.GRAPH, layout.PRED_PROBS)
    params = ("seed", "index", "data.modality")
    outs = (layout.DUPLICATES, layout.LEAKAGE)
    metrics = (layout.DUPLICATES_SUMMARY,)
    review_kinds = {"leakage": 0.9, "duplicate_group": 0.6}
    report_reads = (layout.DUPLICATES, layout.LEAKAGE)
    counts = {"duplicate groups": (layout.DUPLICATES_SUMMARY, ("near_duplicate", "groups"))}

    def findings(self, ctx):
        from curate.review.queue import duplicate_findings, leakage_findings

        return [
            duplicate_findings(ctx.table(layout.DUPLICATES, self.name)),
            leakage_findings(ctx.table(layout.LEAKAGE, self.name)),
        ]

    def report_section(self, ctx):
        from curate.report.sections import duplicates_section, leakage_section

        return "\n".join(s for s in (leakage_section(ctx), duplicates_section(ctx)) if s)

    def headlines(self, ctx):
        from curate.report.headlines import duplicates_headlines, leakage_headlines

        return leakage_headlines(ctx) + duplicates_headlines(ctx)

    run = staticmethod(run)
