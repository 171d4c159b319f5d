"""The workers of ``redundancy.py``: the data, the training subsets, the rankings of every
method and one (data set, split, size, seed) job per worker process."""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import DATA
from common import embed as embed_texts  # content-hash-cached

# Set in main() before the worker pool forks; read by the workers.
STATE: dict = {}


def embed(texts: list[str], tag: str) -> np.ndarray:
    """Sentence embeddings, cached by content hash (``common.embed``)."""
    return embed_texts(texts, tag)[0]


def load(dataset: str) -> dict:
    """Training and test embeddings and labels of a data set."""
    if dataset == "banking77":
        train = pd.read_csv(DATA / "banking77/train.csv")
        test = pd.read_csv(DATA / "banking77/test.csv")
        train["label"], test["label"] = train.category, test.category
        tag = "banking77"
    else:
        train = pd.read_parquet(DATA / "noisy_agnews/train_10k.parquet")
        test = pd.read_parquet(DATA / "noisy_agnews/test.parquet")
        if dataset == "agnews-gold":
            train["label"] = train.gold_label
        tag = "agnews"
    return dict(
        X=embed(train.text.tolist(), f"{tag}-train"), y=train.label.astype(str).to_numpy(),
        X_test=embed(test.text.tolist(), f"{tag}-test"), y_test=test.label.astype(str).to_numpy(),
    )  # fmt: skip


def test_halves(y_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed class-stratified halves of the test rows: alternate rows of every class."""
    a = np.zeros(len(y_test), bool)
    for c in np.unique(y_test):
        a[np.flatnonzero(y_test == c)[::2]] = True
    return np.flatnonzero(a), np.flatnonzero(~a)


def subsample(y: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """``size`` training rows (None: all), a random same fraction of every class."""
    if size is None or size >= len(y):
        return np.arange(len(y))
    return np.sort(stratified_random(y, size, 10_000 + seed))


def ranking(X, y, graph, seed: int, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(rows in keep order, difficulty per row) of ``find_redundant`` with ``kw``."""
    from curate.checks.redundancy import find_redundant
    from curate.config import RedundancyConfig

    m = len(y)
    result = find_redundant(
        [str(i) for i in range(m)], X, graph, splits=["train"] * m, labels=y.tolist(),
        cfg=RedundancyConfig(**kw), seed=seed,
    )  # fmt: skip
    t = result.table  # sorted by keep_rank
    order = np.array(t.column("sample_id").to_pylist(), dtype=np.int64)
    difficulty = np.empty(m)
    difficulty[order] = t.column("difficulty").to_numpy()
    return order, difficulty


def stratified_random(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` rows, a random same fraction of every class (rows ordered by their place in a
    shuffled class, as a fraction of the class size)."""
    rng = np.random.default_rng(seed)
    place = np.empty(len(y))
    for c in np.unique(y):
        r = np.flatnonzero(y == c)
        place[r] = (rng.permutation(len(r)) + rng.random(len(r))) / len(r)
    return np.argsort(place, kind="stable")[:k]


def job(args: tuple) -> list[dict]:
    """Every method at every keep fraction for one (data set, split, size, seed)."""
    from curate.checks.redundancy import redundancy_threshold
    from curate.config import IndexConfig, PredictConfig, RedundancyConfig
    from curate.index import build_graph
    from curate.model.predict import make_model

    dataset, split, size, seed, fractions, sweep = args
    d = STATE[dataset]
    rows = subsample(d["y"], size, seed)
    X, y = np.ascontiguousarray(d["X"][rows]), d["y"][rows]
    scored = d["scored"][split]
    X_test, y_test = d["X_test"][scored], d["y_test"][scored]
    m = len(y)
    graph = build_graph(X, IndexConfig(), seed=0)
    orders: dict[str, np.ndarray] = {}
    orders["curate easy"], difficulty = ranking(X, y, graph, seed, keep="easy")
    orders["curate hard"], _ = ranking(X, y, graph, seed, keep="hard")
    defaults = RedundancyConfig()
    for field, values in sweep:  # the default's own value is "curate hard"
        default = getattr(defaults, field)
        if field == "threshold":  # null: the text default
            default = redundancy_threshold(defaults, "text")
        for v in values:
            if v != default:
                orders[f"{field}={v}"], _ = ranking(X, y, graph, seed, keep="hard", **{field: v})
    by_easy = np.argsort(difficulty, kind="stable")
    base = dict(dataset=dataset, split=split, size=size or m, rows=m, seed=seed)
    out = []

    def fit(method: str, fraction: float, keep: np.ndarray) -> None:
        model = make_model(PredictConfig(), seed).fit(X[keep], y[keep])
        correct = model.predict(X_test) == y_test
        out.append({**base, "method": method, "fraction": fraction, "kept": len(keep),
                    "accuracy": float(correct.mean()),
                    "correct": np.packbits(correct)})  # fmt: skip

    fit("full", 1.0, np.arange(m))
    for f in fractions:
        k = int(round(f * m))
        for method, order in orders.items():
            fit(method, f, order[:k])
        fit("random", f, np.random.default_rng(seed).choice(m, k, replace=False))
        fit("stratified random", f, stratified_random(y, k, seed))
        fit("keep easy", f, by_easy[:k])
        fit("keep hard", f, by_easy[::-1][:k])
    return out
