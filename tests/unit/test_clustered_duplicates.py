"""Near duplicates on tightly clustered vectors (a classifier's softmax): groups cannot chain,
the label check stays near cleanlab's flag rate, and the prediction folds stay balanced."""

from __future__ import annotations

import numpy as np
import pytest

from curate import checks
from curate.config import DuplicatesConfig, IndexConfig, LabelConfig, PredictConfig
from curate.index import build_graph, union_find
from curate.model.predict import fold_groups


def softmax_set(n: int = 2000, k: int = 4, noise: float = 0.1, seed: int = 0):
    """Seeded pred_probs of an unsure classifier, used as the embeddings too (L2-normalised),
    and given labels with ``noise`` of them flipped to another class."""
    rng = np.random.default_rng(seed)
    true = rng.integers(k, size=n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), true] += rng.uniform(0, 5, n)
    P = np.exp(logits)
    P /= P.sum(axis=1, keepdims=True)
    given = true.copy()
    flip = rng.random(n) < noise
    given[flip] = (true[flip] + rng.integers(1, k, flip.sum())) % k
    X = (P / np.linalg.norm(P, axis=1, keepdims=True)).astype(np.float32)
    return P, given, X


@pytest.fixture(scope="module")
def softmax():
    P, y, X = softmax_set()
    return P, y, X, build_graph(X, IndexConfig(), seed=0)


def test_star_groups_cut_a_chain_and_keep_every_member_near_its_centre() -> None:
    from curate.index.components import star_groups

    n = 12
    a, b = np.arange(n - 1), np.arange(1, n)  # a path 0-1-2-...-11
    assert len(np.unique(union_find(n, a, b))) == 1  # components chain the whole path
    root, anchor = star_groups(n, a, b)
    sizes = np.bincount(root)
    assert sizes.max() <= 4 and len(np.unique(root)) >= 3
    edges = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    edges |= {(y, x) for x, y in edges}
    centre = {int(r): int(np.flatnonzero(root == r).min()) for r in np.unique(root)}
    for i in range(n):
        linked = int(anchor[i])
        assert root[linked] == root[i]
        if linked != i:  # linked directly to the centre, or to a member linked to it
            assert (i, linked) in edges
            assert linked == centre[int(root[i])] or (linked, centre[int(root[i])]) in edges


def test_star_groups_keep_exact_copies_together_and_follow_the_rank() -> None:
    from curate.index.components import star_groups

    # 0-1-2 chained; 3 is an exact copy of 2 (equal key); rank puts 2 first.
    a, b = np.array([0, 1]), np.array([1, 2])
    root, anchor = star_groups(4, a, b, rank=np.array([3, 1, 0, 2]), keys=["p", "q", "r", "r"])
    assert root[2] == root[3] == root[1]  # 2 is the centre: takes 1, and its copy 3
    assert anchor[1] == 2 and anchor[3] == anchor[2]
    assert root[0] == root[1] and anchor[0] == 1  # 0 was left alone: joins through 1


def test_clustered_embeddings_do_not_chain_into_one_group(softmax) -> None:
    P, y, X, graph = softmax
    n = len(y)
    result = checks.get("near_duplicate")(
        [f"s{i}" for i in range(n)], X, graph, labels=[str(k) for k in y], cfg=DuplicatesConfig()
    )
    # Connected components put all 2,000 samples in one group here.
    assert result.summary["samples_in_groups"] > 0.9 * n
    assert result.summary["largest_group"] <= 50
    t = result.table.to_pydict()
    member = [g is not None for g in t["group_id"]]
    assert all((link is not None) == m for link, m in zip(t["linked_to"], member, strict=True))


def test_label_flag_rate_on_clustered_embeddings_stays_near_cleanlab(softmax) -> None:
    import cleanlab.filter

    P, y, X, graph = softmax
    n = len(y)
    ids = [f"s{i}" for i in range(n)]
    labels = [f"c{k}" for k in y]
    classes = tuple(f"c{k}" for k in range(P.shape[1]))
    cfg = LabelConfig(bootstrap=10)
    near = checks.get("near_duplicate")(
        ids, X, graph, labels=labels, label_scores=P[np.arange(n), y], cfg=DuplicatesConfig()
    )
    result = checks.get("label")(
        sample_ids=ids,
        splits=["train"] * n,
        labels=labels,
        content_hashes=ids,
        pred_probs=P,
        classes=classes,
        cfg=cfg,
        duplicate_groups=near.table.column("group_id").to_pylist(),
        duplicate_links=near.table.column("linked_to").to_pylist(),
    )
    rate = float(np.mean(result.table.column("is_label_issue").to_pylist()))
    Pc = np.clip(P, 1e-6, 1.0)
    Pc /= Pc.sum(axis=1, keepdims=True)
    plain = float(cleanlab.filter.find_label_issues(y, Pc, filter_by=cfg.filter_by).mean())
    assert abs(rate - plain) <= 0.02, (rate, plain)


def test_fold_groups_on_clustered_embeddings_stay_small(softmax) -> None:
    P, y, X, graph = softmax
    n = len(y)
    groups = fold_groups(graph, [f"h{i}" for i in range(n)], PredictConfig())
    _, sizes = np.unique(groups, return_counts=True)
    assert sizes.max() <= 0.02 * n
    # Exact copies still share a fold group.
    hashes = [f"h{i}" for i in range(n)]
    hashes[1] = hashes[0]
    copies = fold_groups(graph, hashes, PredictConfig())
    assert copies[0] == copies[1]
