"""Shared by the near-duplicate experiments: the variants compared and their settings, the
lexical kNN graph, pairs and groups, scoring, and cleanlab Datalab's ``near_duplicate``."""

from __future__ import annotations

import re
import string
import time
from collections import Counter

import numpy as np
from common import datalab_issues, import_datalab

#: The near-duplicate variants compared, each swept over one setting (curate's default added):
#: "words" (curate's default for text: lexical-cosine candidates at the default threshold,
#: verified by word edits; swept over ``max_word_edits``), "lexical" (the lexical cosine alone;
#: swept over the threshold) and "embedding" (MiniLM cosine; swept over the threshold).
SWEEPS = {
    "words": (0.10, 0.15, 0.20, 0.25, 0.30, 0.35),
    "lexical": (0.80, 0.85, 0.88, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.98),
    "embedding": (0.90, 0.95, 0.96, 0.97, 0.98, 0.99),
}
#: Which vectors (and kNN graph) each variant compares.
VECTORS = {"words": "lexical", "lexical": "lexical", "embedding": "embedding"}
PERTURBATIONS = ("case", "punct", "drop_word", "swap_words", "typo")
PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")
EXAMPLES = 5  # false-positive pairs printed per dataset


def variant_config(variant: str, value: float | None = None):
    """curate's ``DuplicatesConfig`` for ``variant`` at the swept ``value`` (None: defaults),
    with the threshold filled in as the duplicates stage fills it for text."""
    import dataclasses

    from curate.config import DuplicatesConfig, near_duplicate_threshold

    if variant == "words":
        setting = {} if value is None else {"max_word_edits": value}
        cfg = DuplicatesConfig(similarity="lexical", **setting)
    else:
        cfg = DuplicatesConfig(similarity=variant, max_word_edits=None, threshold=value)
    return dataclasses.replace(cfg, threshold=near_duplicate_threshold(cfg, "text"))


def default_setting(variant: str) -> float:
    """curate's default for the setting ``variant`` is swept over."""
    cfg = variant_config(variant)
    return cfg.max_word_edits if variant == "words" else cfg.threshold


def settings(variant: str) -> list[float]:
    """The sweep for ``variant``, plus curate's default for it."""
    return sorted({*SWEEPS[variant], default_setting(variant)})


def lexical_graph(texts: list[str], seed: int):
    """What the duplicates stage does for text: lexical vectors, and the kNN graph over them
    (``build_graph(L, IndexConfig(), seed)``). Returns (vectors, graph, seconds)."""
    from curate.config import IndexConfig
    from curate.embed.lexical import lexical_vectors
    from curate.index import build_graph

    t0 = time.perf_counter()
    L = lexical_vectors(texts)
    graph = build_graph(L, IndexConfig(), seed=seed)
    return L, graph, time.perf_counter() - t0


# --- pairs and truth ------------------------------------------------------------------------


def keys(a, b, n: int) -> np.ndarray:
    """Unordered pair (a, b) as one int64: min * n + max (unique, sorted)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    k = np.minimum(a, b) * n + np.maximum(a, b)
    return np.unique(k[a != b])


def group_pairs(root: np.ndarray) -> np.ndarray:
    """Every unordered pair of samples that share a group (root)."""
    parts = [np.array([], np.int64)]
    for members in members_by_group(root).values():
        i, j = np.triu_indices(len(members), 1)
        parts.append(keys(members[i], members[j], len(root)))
    return np.unique(np.concatenate(parts))


def members_by_group(root: np.ndarray) -> dict[int, np.ndarray]:
    """Member indices of every group with more than one member, by root."""
    order = np.argsort(root, kind="stable")
    cuts = np.flatnonzero(np.diff(root[order])) + 1
    return {int(root[m[0]]): m for m in np.split(order, cuts) if len(m) > 1}


def pair_count(root: np.ndarray) -> int:
    sizes = np.bincount(root)
    return int((sizes * (sizes - 1) // 2).sum())


def normalise(text: str) -> list[str]:
    """Casefold, drop apostrophes, other ASCII punctuation to spaces, split on whitespace."""
    return PUNCT.sub(" ", re.sub("['\u2019]", "", text.casefold())).split()


def char_edits_le1(a: str, b: str) -> bool:
    """At most one character substitution, insertion or deletion (or equal)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def close(a: list[str], b: list[str]) -> bool:
    """Within the edit budget: max(2, 20% of the longer text's words) word edits, each
    deleting or inserting a word, swapping two adjacent words, or a typo (a word within one
    character edit): the edits the planted copies get, on :func:`normalise`-d texts (so case
    and punctuation differences are free). Any other word substitution costs 2 (delete +
    insert), so short texts that differ in one content word are not duplicates."""
    budget = max(2, max(len(a), len(b)) // 5)
    if a == b:
        return True
    if (
        abs(len(a) - len(b)) > budget
        or sum(((Counter(a) - Counter(b)) + (Counter(b) - Counter(a))).values()) > 2 * budget
    ):
        return False
    inf = budget + 1
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        for j in range(len(b) + 1):
            if i == 0 or j == 0:
                d[i][j] = i + j
                continue
            sub = 0 if a[i - 1] == b[j - 1] else (1 if char_edits_le1(a[i - 1], b[j - 1]) else inf)
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + sub)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)] <= budget


def natural_pairs(graphs, texts: list[str], candidates: np.ndarray) -> tuple[np.ndarray, int]:
    """Pairs among ``candidates`` rows that are :func:`close` after normalisation, searched
    among each row's kNN neighbours in any of ``graphs`` plus rows with equal normalised text.
    Returns (keys, how many of them are identical after normalisation)."""
    n = len(texts)
    norm = [normalise(t) for t in texts]
    cand = np.zeros(n, bool)
    cand[candidates] = True
    rows = np.concatenate([np.repeat(np.arange(n), g.k) for g in graphs])
    cols = np.concatenate([g.ids.reshape(-1) for g in graphs])
    ok = (cols >= 0) & cand[rows] & cand[np.maximum(cols, 0)]
    by_norm: dict[str, list[int]] = {}
    for i in np.flatnonzero(cand):
        by_norm.setdefault(" ".join(norm[i]), []).append(int(i))
    same = [(g[0], j) for g in by_norm.values() for j in g[1:]]
    a = np.concatenate([rows[ok], np.array([p[0] for p in same], np.int64)])
    b = np.concatenate([cols[ok], np.array([p[1] for p in same], np.int64)])
    pairs = keys(a, b, n)
    hit = np.array([close(norm[k // n], norm[k % n]) for k in pairs.tolist()], bool)
    found = pairs[hit] if len(pairs) else pairs
    identical = sum(norm[k // n] == norm[k % n] for k in found.tolist())
    return found, int(identical)


def score_pairs(found: np.ndarray, truth: np.ndarray) -> dict:
    tp = int(np.isin(found, truth).sum())
    p = tp / len(found) if len(found) else 1.0
    r = tp / len(truth) if len(truth) else 1.0
    return dict(pairs=int(len(found)), tp=tp, precision=p, recall=r, f1=f1(p, r))


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def co_grouped(root: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    n = len(root)
    return root[pairs // n] == root[pairs % n]


def grouped_scores(root: np.ndarray, truth: np.ndarray, recall_of: np.ndarray) -> dict:
    """Pair precision over all member pairs of the groups (counted, not enumerated) against
    ``truth``, recall of ``recall_of``, and group purity (groups all of whose pairs are true)."""
    n = len(root)
    total = pair_count(root)
    inside = truth[co_grouped(root, truth)]
    p = len(inside) / total if total else 1.0
    r = float(co_grouped(root, recall_of).mean()) if len(recall_of) else 1.0
    sizes = np.bincount(root, minlength=n)
    true_per_group = np.bincount(root[inside // n], minlength=n)
    groups = np.flatnonzero(sizes > 1)
    pure = (true_per_group[groups] == sizes[groups] * (sizes[groups] - 1) // 2).mean()
    return dict(
        pairs=total,
        tp=int(len(inside)),
        precision=p,
        recall=r,
        f1=f1(p, r),
        groups=int(len(groups)),
        purity=float(pure) if len(groups) else 1.0,
    )


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    from curate.index import union_find

    return union_find(n, pairs // n, pairs % n)


def datalab_near_duplicates(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """cleanlab Datalab near_duplicate with its defaults: (pairs from ``near_duplicate_sets``,
    ``is_near_duplicate_issue``, info)."""
    import_datalab()  # outside the timed section
    n = len(X)
    t0 = time.perf_counter()
    lab = datalab_issues(X, "near_duplicate")
    wall = time.perf_counter() - t0
    info = lab.get_info("near_duplicate")
    sets = info["near_duplicate_sets"]
    a = np.repeat(np.arange(n), [len(s) for s in sets])
    b = np.concatenate([np.asarray(s, np.int64) for s in sets]) if n else np.array([], np.int64)
    flagged = lab.get_issues("near_duplicate")["is_near_duplicate_issue"].to_numpy()
    radius = info["threshold"] * info["median_distance_to_nearest_neighbor"]
    meta = dict(
        wall_s=wall,
        flagged_rows=int(flagged.sum()),
        k=info["k"],
        metric=str(info["metric"]),
        threshold=info["threshold"],
        median_nn_distance=info["median_distance_to_nearest_neighbor"],
        cosine_equivalent=1 - radius,
    )
    return keys(a, b, n), flagged, meta


def sample_examples(pairs: np.ndarray, texts: list[str], n: int, rng, sims=None) -> list[dict]:
    out = []
    for k in rng.permutation(pairs)[:EXAMPLES].tolist():
        i, j = k // n, k % n
        ex = {"a": texts[i], "b": texts[j]}
        if sims is not None:
            ex["cosine"] = round(float(sims[i] @ sims[j]), 4)
        out.append(ex)
    return out


def print_examples(title: str, examples: list[dict]) -> None:
    if examples:
        print(title)
    for ex in examples:
        cos = f"cos {ex['cosine']:.3f}  " if "cosine" in ex else ""
        print(f"  {cos}{ex['a'][:90]!r}\n  {' ' * len(cos)}{ex['b'][:90]!r}")


def near_groups(V, graph, hashes, cfg, labels=None, texts=None):
    """curate's near_duplicate check as the duplicates stage calls it (without label scores,
    which only choose the kept member) with ``cfg`` (:func:`variant_config`; ``texts`` are
    passed when it verifies word edits): the group root of every row, and the result."""
    from curate.checks.near_duplicate import find_near_duplicates

    n = len(V)
    ids = [str(i) for i in range(n)]
    res = find_near_duplicates(
        ids,
        V,
        graph,
        content_hashes=hashes,
        labels=labels,
        texts=texts if cfg.max_word_edits is not None else None,
        cfg=cfg,
    )
    gid = res.table.column("group_id").to_pylist()
    # group_id is the kept member's sample_id; singletons (null) are their own root.
    root = np.array([int(g) if g is not None else i for i, g in enumerate(gid)], np.int64)
    return root, res
