"""Synthetic embeddings with planted near-copies, calibrated against all-MiniLM-L6-v2 on banking77,
the exact references, and the scoring of found pairs (in the parent, outside every timed
section), for ``knn_scale.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

DIM = 384
CHUNK = 65_536
#: Queries for the exact-search references (1-NN calibration, recall cross-check).
QUERIES = 1000
#: Rows per block in those searches: QUERIES x 8192 similarities, about 100 MiB with indices.
BLOCK = 8192
#: Speed target: curate's graph + check at least this many times faster than Datalab's check.
SPEED_TARGET = 15.0
#: Scale target: the 1,000,000-row run (load + graph + check + write) within half of the 560 s
#: it took with HNSW.
SCALE_LIMIT_S = 280.0
#: Data seed on which the index defaults were chosen (``--part sweep`` / ``scale``) ...
TUNING_SEED = 0
#: ... and the held-out seed on which ``speed`` and ``scale`` report by default.
EVAL_SEED = 1


# --- Synthetic embeddings -------------------------------------------------------------------
# Calibrated against all-MiniLM-L6-v2 on banking77 (10,003 rows) at the same row count by a
# small search over these constants; see make_data. Real embeddings use a few dozen directions
# (participation ratio of the covariance ~35 of 384): per-direction scale ~ i^-ALPHA.
ALPHA = 0.474
MEAN_WEIGHT = 0.46  # shared offset: real embeddings are not centred (random pairs ~0.18)
TOPIC_SCALE = 0.60  # spread of topic centres around the offset
SUB_SCALE = 0.71  # spread of paraphrase clusters around their topic
NOISE_SCALE = 0.49  # median per-row noise around its paraphrase cluster
NOISE_SPREAD = 0.42  # log-normal sigma of the per-row noise scale
TIGHT_SHARE = 0.26  # share of paraphrase clusters that are tight (near-verbatim variants) ...
TIGHT_FACTOR = 0.42  # ... with their noise scaled by this
ROWS_PER_TOPIC = 167
ROWS_PER_SUB = 14
N_LABELS = 20


def _rotation(rng: np.random.Generator) -> np.ndarray:
    """(DIM, DIM) map from N(0, I) draws to the anisotropic shape, E||z @ M||^2 = 1."""
    q, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    lam = (np.arange(DIM) + 1.0) ** -ALPHA
    lam /= np.sqrt((lam**2).sum())
    return (lam[:, None] * q.T).astype(np.float32)


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_data(
    out: np.ndarray,
    near_rate: float,
    exact_rate: float,
    copy_cos: tuple[float, float] = (0.96, 0.995),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill ``out`` (n, DIM) float32 (e.g. a memmap) with the synthetic embeddings, in chunks.

    Base rows: ``x = MEAN_WEIGHT * mu + topic + paraphrase cluster + noise``, every term
    anisotropic (``_rotation``), the noise scale log-normal per row and smaller in a share of
    tight clusters (banking77 is full of near-verbatim rephrasings), then L2-normalised. Rows
    per topic and per paraphrase cluster are fixed, so the neighbourhood density (and the 1-NN
    similarity distribution) stays about the same at every size. Then ``near_rate * n`` rows
    are near copies of random base rows (the original plus a random anisotropic direction
    orthogonal to it, scaled for a cosine uniform on ``copy_cos``) and ``exact_rate * n``
    exact copies; copies sit at random positions.

    Returns ``(pairs, exact, labels)``: planted ``(original, copy)`` row pairs, whether each is
    an exact copy, and a dummy label per row (copies inherit their original's).
    """
    n = len(out)
    rng = np.random.default_rng(seed)
    m = _rotation(rng)
    mu = _normalise(rng.normal(size=(1, DIM)))[0].astype(np.float32)
    n_topics = max(1, round(n / ROWS_PER_TOPIC))
    n_subs = max(1, round(n / ROWS_PER_SUB))
    topics = TOPIC_SCALE * (rng.normal(size=(n_topics, DIM)).astype(np.float32) @ m)
    subs = topics[rng.integers(0, n_topics, n_subs)]
    subs += SUB_SCALE * (rng.normal(size=(n_subs, DIM)).astype(np.float32) @ m)
    subs += MEAN_WEIGHT * mu
    sub_noise = np.where(rng.random(n_subs) < TIGHT_SHARE, TIGHT_FACTOR, 1.0) * NOISE_SCALE
    del topics
    n_near, n_exact = round(near_rate * n), round(exact_rate * n)
    n_base = n - n_near - n_exact
    order = rng.permutation(n)
    base_pos, copy_pos = np.sort(order[:n_base]), order[n_base:]
    labels = np.empty(n, np.int16)
    for start in range(0, n_base, CHUNK):
        rows = base_pos[start : start + CHUNK]
        sub = rng.integers(0, n_subs, len(rows))
        scale = sub_noise[sub, None] * np.exp(NOISE_SPREAD * rng.normal(size=(len(rows), 1)))
        noise = rng.normal(size=(len(rows), DIM)).astype(np.float32) @ m
        out[rows] = _normalise(subs[sub] + scale.astype(np.float32) * noise)
        labels[rows] = rng.integers(0, N_LABELS, len(rows))
    del subs
    originals = base_pos[rng.choice(n_base, n_near + n_exact, replace=False)]
    for start in range(0, n_near + n_exact, CHUNK):
        src, dst = originals[start : start + CHUNK], copy_pos[start : start + CHUNK]
        x = np.asarray(out[src])
        near = np.arange(start, start + len(src)) < n_near
        u = rng.normal(size=x.shape).astype(np.float32) @ m
        u = _normalise(u - np.sum(u * x, axis=1, keepdims=True) * x)
        cos = rng.uniform(*copy_cos, size=(len(src), 1))
        r = np.sqrt(1 / cos**2 - 1).astype(np.float32)
        out[dst] = np.where(near[:, None], _normalise(x + r * u), x)  # exact: bit-identical
        labels[dst] = labels[src]
    pairs = np.stack([originals, copy_pos], axis=1).astype(np.int64)
    exact = np.arange(len(pairs)) >= n_near
    return pairs, exact, labels


def default_threshold() -> float:
    """The near-duplicate check's default cosine threshold on embeddings."""
    from curate.config import DuplicatesConfig, near_duplicate_threshold

    return near_duplicate_threshold(DuplicatesConfig(), "embedding")


def exact_top(X: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` other rows of ``X[queries]`` by brute-force numpy, chunk by chunk.

    Independent of curate's and faiss's code paths: the cross-check for recall@k.
    """
    Q = np.asarray(X[queries], dtype=np.float32)
    best_s = np.full((len(Q), k), -np.inf, np.float32)
    best_i = np.full((len(Q), k), -1, np.int64)
    for start in range(0, len(X), BLOCK):
        s = Q @ np.asarray(X[start : start + BLOCK], dtype=np.float32).T
        cols = np.arange(start, start + s.shape[1])
        s[queries[:, None] == cols[None, :]] = -np.inf
        top = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, top, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, cols[top]], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(cand_s, keep, axis=1)
        best_i = np.take_along_axis(cand_i, keep, axis=1)
    return best_i, best_s


def nn_profile(X: np.ndarray, queries: np.ndarray) -> dict:
    """1-NN and 10-NN similarity quantiles of ``queries``, and the median random-pair cosine."""
    _, sims = exact_top(X, queries, 10)
    rng = np.random.default_rng(1)
    a = np.asarray(X[np.sort(rng.choice(len(X), min(len(X), 2000), replace=False))])
    half = len(a) // 2
    q10, q50, q90 = np.quantile(sims[:, 0], [0.1, 0.5, 0.9])
    return {
        "rows": int(len(X)),
        "queries": int(len(queries)),
        "nn1_q10": float(q10),
        "nn1_q50": float(q50),
        "nn1_q90": float(q90),
        "nn10_q50": float(np.median(sims[:, 9])),
        "random_pair_q50": float(np.median(a[:half] @ a[half:].T)),
        "nn1_ge_095": float(np.mean(sims[:, 0] >= 0.95)),
    }


def unplanted_queries(n: int, pairs: np.ndarray, seed: int) -> np.ndarray:
    """Up to QUERIES seeded rows that are in no planted pair (their natural neighbourhood)."""
    free = np.setdiff1d(np.arange(n), pairs.ravel())
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(free, size=min(QUERIES, len(free)), replace=False))


def banking77_profile() -> dict | None:
    """The reference: MiniLM embeddings of banking77 train (cached by label_issues.py)."""
    import pandas as pd
    from common import DATA, embed

    path = DATA / "banking77/train.csv"
    if not path.exists():
        print(f"(no {path}: skipping the banking77 reference)", file=sys.stderr)
        return None
    X, _ = embed(pd.read_csv(path).text.tolist(), "banking77-train")
    rng = np.random.default_rng(0)
    return nn_profile(X, np.sort(rng.choice(len(X), min(QUERIES, len(X)), replace=False)))


# --- Scoring (in the parent, outside every timed section) ------------------------------------
#: Float tolerance around the threshold: a reported pair counts as correct at cosine >= t - EPS
#: and a true pair must be found at cosine >= t + EPS (pairs in between count either way).
EPS = 1e-5
#: Query rows per block of the all-pairs truth: BLOCK_TRUTH x n similarities in memory.
BLOCK_TRUTH = 1024


def all_pairs_truth(X: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Every pair at cosine >= ``threshold - EPS`` (keys and cosines) and every row's 1-NN
    cosine, by blocked numpy brute force over the upper triangle (no faiss, no sklearn)."""
    n = len(X)
    nn1 = np.full(n, -np.inf, np.float32)
    keys, sims = [], []
    for s in range(0, n, BLOCK_TRUTH):
        S = X[s : s + BLOCK_TRUTH] @ X[s:].T
        b = len(S)
        S[np.arange(b), np.arange(b)] = -np.inf
        nn1[s : s + b] = np.maximum(nn1[s : s + b], S.max(axis=1))
        nn1[s:] = np.maximum(nn1[s:], S.max(axis=0))
        r, c = np.nonzero(S >= threshold - EPS)
        upper = c > r
        r, c = r[upper], c[upper]
        keys.append((r + s).astype(np.int64) * n + (c + s))
        sims.append(S[r, c])
    keys, sims = np.concatenate(keys), np.concatenate(sims)
    order = np.argsort(keys)
    return np.stack([keys[order], sims[order].astype(np.float64)]), nn1


def pair_cosines(X: np.ndarray, keys: np.ndarray) -> np.ndarray:
    n = len(X)
    out = np.empty(len(keys), np.float32)
    for start in range(0, len(keys), 65_536):
        k = keys[start : start + 65_536]
        out[start : start + len(k)] = np.einsum("ij,ij->i", X[k // n], X[k % n])
    return out


def score(found: np.ndarray, X: np.ndarray, planted: dict, truth: np.ndarray | None, t: float):
    """The same scoring for every method: its direct pairs against the truth at cosine t."""
    cos = pair_cosines(X, found)
    out = {
        "pairs": int(len(found)),
        "precision": float(np.mean(cos >= t - EPS)) if len(found) else float("nan"),
        "wrong_pairs": int(np.sum(cos < t - EPS)),
    }
    if truth is not None:
        true_keys = truth[0][truth[1] >= t + EPS].astype(np.int64)
        out["true_pairs"] = int(len(true_keys))
        out["recall"] = float(np.isin(true_keys, found).mean())
    hit = np.isin(planted["keys"], found)
    for band, mask in planted["bands"].items():
        out[f"planted_{band}"] = float(hit[mask].mean()) if mask.any() else float("nan")
    above = planted["cos"] >= t + EPS
    out["planted_recall"] = float(hit[above].mean())
    return out


def planted_bands(X: np.ndarray, pairs: np.ndarray, exact: np.ndarray, t: float) -> dict:
    """Planted pairs by their cosine: below t (should not be reported), [t, mid), [mid, 1),
    exact copies; mid = t + (1 - t) / 2."""
    n = len(X)
    keys = np.minimum(pairs[:, 0], pairs[:, 1]) * n + np.maximum(pairs[:, 0], pairs[:, 1])
    cos = pair_cosines(X, keys)
    mid = t + (1 - t) / 2
    bands = {
        "below": ~exact & (cos < t - EPS),
        "low": ~exact & (cos >= t + EPS) & (cos < mid),
        "high": ~exact & (cos >= mid),
        "exact": exact,
    }
    counts = {k: int(v.sum()) for k, v in bands.items()}
    return {"keys": keys, "cos": cos, "bands": bands, "counts": counts, "mid": mid}


def score_results(data: Path, results: list[dict], t: float, truth: np.ndarray | None) -> dict:
    """Score every method's saved pairs (and the extra pair sets: the check's links,
    Datalab at its default radius) the same way; returns the planted bands' counts."""
    X = np.load(data / "X.npy")
    pairs, exact = np.load(data / "pairs.npy"), np.load(data / "exact.npy")
    planted = planted_bands(X, pairs, exact, t)
    for r in results:
        for name in (r["method"], f"{r['method']}-links", f"{r['method']}-default"):
            path = data / f"found-{name}.npy"
            if path.exists():
                r["score" + name[len(r["method"]) :]] = score(np.load(path), X, planted, truth, t)
    return {"counts": planted["counts"], "mid": planted["mid"]}
