"""``--part twentynews``: the duplicates stage's cost on long texts, word edits on and off."""

from __future__ import annotations

import time

import numpy as np
from common import DATA
from duplicates_common import lexical_graph, near_groups


def stage_work(texts: list[str], labels: list[str], cfg, seed: int) -> dict:
    """What the duplicates stage computes for text, timed: lexical vectors and their kNN graph,
    the exact- and near-duplicate checks and leakage (without reading or writing artifacts)."""
    import hashlib

    from curate.checks import word_edits
    from curate.checks.exact_duplicate import find_exact_duplicates
    from curate.checks.leakage import find_leakage

    class CountingOSA:  # counts the verifier's typo comparisons (rapidfuzz OSA distances)
        comparisons = 0

        @classmethod
        def distance(cls, *args, **kwargs):
            cls.comparisons += 1
            return osa.distance(*args, **kwargs)

    osa, word_edits.OSA = word_edits.OSA, CountingOSA
    n = len(texts)
    ids = [str(i) for i in range(n)]
    splits = ["train"] * n
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    try:
        t0 = time.perf_counter()
        L, graph, _ = lexical_graph(texts, seed)
        common = {"labels": labels, "splits": splits, "cfg": cfg}
        find_exact_duplicates(ids, hashes, **common)
        root, res = near_groups(L, graph, hashes, cfg, labels, texts)
        find_leakage(ids, splits, labels, res.table.column("group_id").to_pylist(), L)
        wall = time.perf_counter() - t0
    finally:
        word_edits.OSA = osa
    return dict(wall_s=wall, typo_comparisons=CountingOSA.comparisons, **res.summary, root=root)


def run_twentynews(seed: int) -> dict:
    """The duplicates stage's cost on long texts (20 newsgroups posts): word edits on (the
    default) vs off (``max_word_edits: null``, the lexical cosine alone), in one run."""
    import pandas as pd

    from curate.config import DuplicatesConfig, near_duplicate_threshold

    df = pd.read_parquet(DATA / "twentynews/train.parquet")
    texts, labels = [str(t) for t in df.text], [str(x) for x in df.label]
    words = np.array([len(t.split()) for t in texts])
    print(
        f"\n== twentynews: {len(texts)} posts, words per post median {np.median(words):.0f}, "
        f"99th percentile {np.quantile(words, 0.99):.0f}, max {words.max()} =="
    )
    rows = {}
    for name, cfg in (
        ("cosine alone (max_word_edits null)", DuplicatesConfig(max_word_edits=None)),
        ("word edits (default)", DuplicatesConfig()),
    ):
        cfg = DuplicatesConfig(
            max_word_edits=cfg.max_word_edits, threshold=near_duplicate_threshold(cfg, "text")
        )
        r = stage_work(texts, labels, cfg, seed)
        root = r.pop("root")
        rows[name] = {k: v for k, v in r.items() if not isinstance(v, dict)}
        print(
            f"  {name:<36} threshold {cfg.threshold}: {r['wall_s']:7.1f} s, candidate pairs "
            f"{r['pairs_above_threshold']}, kept pairs {r.get('pairs_within_word_edits', '-')}, "
            f"groups {r['groups']} (largest {r['largest_group']}, "
            f"{len(np.unique(root))} roots), typo comparisons {r['typo_comparisons']}"
        )
    off, on = rows.values()
    ratio = on["wall_s"] / off["wall_s"]
    print(f"  word edits / cosine alone: {ratio:.2f}x wall time (acceptance: at most 2x)")
    return dict(rows=len(texts), runs=rows, ratio=ratio, within_2x=bool(ratio <= 2.0))
