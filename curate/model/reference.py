"""The reference model of the label check: several members, one set of folds, combined out of fold.

Every member predicts each labelled sample from a model that never saw it, on the *same* seeded,
grouped folds (copies of one content share a fold, :func:`curate.model.predict._grouped_folds`):

* ``embedding_logreg``: logistic regression on the embeddings (``predict.model``: ``logreg``,
  ``knn`` or ``mlp`` choose the classifier of this member; ``mlp`` is also a member name);
* ``lexical_logreg`` (text only): TF-IDF of word 1-2-grams and character 3-5-grams of the whole
  text, however long, with logistic regression, fitted per fold;
* ``knn``: a vote of the ``knn_k`` nearest labelled neighbours in the embedding space; a
  neighbour in the query's own fold is never used, so no sample votes on itself or its copies.

The members' out-of-fold ``pred_probs`` are combined by a model that is itself cross-fitted on
the same folds: the combination applied to fold f was learnt on the other folds only, so no
sample's own label chooses the weights that score it. ``logpool`` (the default) is a weighted
geometric mean: ``p ∝ exp(sum_m w_m log p_m + b)`` with one non-negative weight per member and
one bias per class, fitted by maximum likelihood. Pool samples are predicted by members fitted
on all labelled samples and the combination fitted on all out-of-fold predictions.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curate.config import PredictConfig
from curate.errors import ConfigError
from curate.model.predict import (
    Predictions,
    _full_proba,
    labelled_folds,
    make_model,
    unlabelled_predictions,
)
from curate.progress import progress

#: Members a workspace may list in ``predict.members``.
MEMBERS = ("embedding_logreg", "lexical_logreg", "knn", "mlp")
#: ``predict.members: auto``: what fits each modality. Chosen on benchmarks/label_issues.py
#: (seed 0): the knn member helped on noisy_agnews but cost banking77 more than it gained (its
#: log-likelihood earns it a large weight there), so it is opt-in.
AUTO_MEMBERS = {
    "text": ("embedding_logreg", "lexical_logreg"),
    "image": ("embedding_logreg",),
    "tabular": ("embedding_logreg",),
    "embedding": ("embedding_logreg",),
}
#: Probabilities are clipped here before logs (a kNN vote can be exactly 0).
EPS = 1e-6


@dataclass(frozen=True)
class MemberScore:
    name: str
    cv_accuracy: float
    cv_log_loss: float
    seconds: float


@dataclass(frozen=True)
class Reference:
    """The combined predictions, plus what each member scored and the combination's weights."""

    predictions: Predictions
    members: tuple[MemberScore, ...]
    combine: str
    weights: dict[str, float] = field(default_factory=dict)
    #: Out-of-fold pred_probs of each member over the labelled rows (for benchmarks).
    member_oof: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def resolve_members(cfg: PredictConfig, modality: str) -> tuple[str, ...]:
    """The member names ``predict.members`` stands for on this modality."""
    if cfg.members == "auto":
        return AUTO_MEMBERS[modality]
    names = tuple(cfg.members)
    if "lexical_logreg" in names and modality != "text":
        raise ConfigError(
            f"predict.members lists 'lexical_logreg', which reads text, but data.modality is "
            f"{modality!r}. Remove it from predict.members (or use members: auto)."
        )
    return names


def reference_pred_probs(
    embeddings: np.ndarray,
    labels: list[str | None],
    groups: list[str],
    cfg: PredictConfig,
    members: Sequence[str],
    seed: int = 0,
    texts: list[str] | None = None,
    run_jobs: JobRunner | None = None,
) -> Reference:
    """Out-of-fold combined ``pred_probs`` for labelled rows, full-fit ones for the pool.

    ``run_jobs`` runs the fits (one per member and fold, plus each member's full fit):
    :func:`run_here` by default, or :func:`curate.compute.ray_jobs.ray_job_runner`'s."""
    run_jobs = run_jobs or run_here
    labelled = np.array([lab is not None for lab in labels], dtype=bool)
    classes = tuple(sorted({lab for lab in labels if lab is not None}))
    if not classes:
        return Reference(unlabelled_predictions(len(labels)), (), cfg.combine)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[lab] for lab in labels if lab is not None], dtype=np.int64)
    K = len(classes)
    fold = labelled_folds(y, classes, np.asarray(groups, dtype=object)[labelled], cfg, seed)
    n_folds = int(fold.max()) + 1
    rows_lab, rows_pool = np.flatnonzero(labelled), np.flatnonzero(~labelled)

    oof: dict[str, np.ndarray] = {}
    pool: dict[str, np.ndarray] = {}
    scores = []
    # Every (member, fold) fit and each member's full fit is one job; `run_jobs` runs them
    # here one by one, or in parallel on a Ray cluster (the same functions on the same rows).
    jobs, keys = [], []
    for name in members:
        fit_predict = _member(name, embeddings, texts, cfg, seed)
        for k in range(n_folds):
            test = fold == k
            train, held = rows_lab[~test], rows_lab[test]
            jobs.append(functools.partial(_timed, fit_predict, train, y[~test], held, K))
            keys.append((name, k))
        if len(rows_pool):
            jobs.append(functools.partial(_timed, fit_predict, rows_lab, y, rows_pool, K))
            keys.append((name, None))
    with progress("reference model (members x folds)", len(jobs)) as bar:
        results = dict(zip(keys, run_jobs(jobs, bar.advance), strict=True))
    seconds = {name: sum(s for (m, _), (_, s) in results.items() if m == name) for name in members}
    results = {key: out for key, (out, _) in results.items()}
    for name in members:
        oof[name] = np.zeros((len(y), K), np.float64)
        for k in range(n_folds):
            oof[name][fold == k] = results[(name, k)]
        pool[name] = results[(name, None)] if len(rows_pool) else np.zeros((0, K))
        given = np.clip(oof[name][np.arange(len(y)), y], 1e-12, 1.0)
        scores.append(
            MemberScore(
                name,
                cv_accuracy=float((oof[name].argmax(axis=1) == y).mean()),
                cv_log_loss=float(-np.log(given).mean()),
                seconds=seconds[name],
            )
        )

    names = list(members)
    combined_oof, combined_pool, weights = combine(
        [oof[m] for m in names], [pool[m] for m in names], y, fold, K, cfg.combine
    )
    probs = np.zeros((len(labels), K), np.float32)
    probs[rows_lab] = combined_oof
    if len(rows_pool):
        probs[rows_pool] = combined_pool
    fold_all = np.full(len(labels), -1, np.int64)
    fold_all[rows_lab] = fold
    given = np.clip(combined_oof[np.arange(len(y)), y], 1e-12, 1.0)
    predictions = Predictions(
        classes=classes,
        pred_probs=probs,
        fold=fold_all,
        cv_log_loss=float(-np.log(given).mean()),
        cv_accuracy=float((combined_oof.argmax(axis=1) == y).mean()),
    )
    return Reference(
        predictions,
        tuple(scores),
        cfg.combine if len(names) > 1 else "single",
        dict(zip(names, weights, strict=True)),
        oof,
    )


#: fit on (train rows, their labels), predict (rows, n_classes) -> (len(rows), n_classes)
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


#: Runs zero-argument jobs, calling ``done()`` after each, and returns their results in order.
JobRunner = Callable[[list[Callable[[], Any]], Callable[[], None]], list[Any]]


def _timed(fit_predict: FitPredict, *args) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    return fit_predict(*args), time.perf_counter() - t0


def run_here(jobs: list[Callable[[], Any]], done: Callable[[], None]) -> list[Any]:
    """The jobs one after the other in this process."""
    out = []
    for job in jobs:
        out.append(job())
        done()
    return out


def _member(name: str, X, texts, cfg: PredictConfig, seed: int) -> FitPredict:
    if name == "embedding_logreg":
        return _sklearn_member(X, lambda: make_model(cfg, seed))
    if name == "mlp":
        from dataclasses import replace

        return _sklearn_member(X, lambda: make_model(replace(cfg, model="mlp"), seed))
    if name == "lexical_logreg":
        if texts is None:
            raise ConfigError("the lexical_logreg member needs the samples' texts.")
        return _lexical_member(texts, cfg, seed)
    if name == "knn":
        return _knn_member(X, cfg)
    raise ConfigError(f"unknown predict member {name!r}; choose from {', '.join(MEMBERS)}.")


def _sklearn_member(X, factory) -> FitPredict:
    def fit_predict(train, y_train, rows, K):
        model = factory().fit(X[train], y_train)
        return _full_proba(model, X[rows], K)

    return fit_predict


def _lexical_member(texts: list[str], cfg: PredictConfig, seed: int) -> FitPredict:
    from scipy.sparse import hstack
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    docs = np.asarray(texts, dtype=object)

    def fit_predict(train, y_train, rows, K):
        # n-grams seen in one training text only are dropped, except on small data where
        # that could leave no vocabulary at all
        min_df = 2 if len(train) >= 1000 else 1
        words = TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=min_df,
            max_features=cfg.lexical_max_features,
        )
        chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=min_df,
            max_features=cfg.lexical_max_features,
        )
        A = hstack([words.fit_transform(docs[train]), chars.fit_transform(docs[train])]).tocsr()
        B = hstack([words.transform(docs[rows]), chars.transform(docs[rows])]).tocsr()
        # A loose tolerance: on banking77 (77 classes) it halved the time at the same ranking.
        model = LogisticRegression(C=cfg.lexical_c, max_iter=200, tol=1e-3, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(A, y_train)
        return _full_proba(model, B, K)

    return fit_predict


def _knn_member(X, cfg: PredictConfig) -> FitPredict:
    """A uniform vote of the ``knn_k`` nearest training rows (cosine), add-``alpha`` smoothed.

    Exact inner-product search (faiss) over the training rows of each fold: the neighbours a
    query may use are exactly those outside its fold, whatever the graph's approximation.
    """
    import faiss

    X = np.ascontiguousarray(X, dtype=np.float32)

    def fit_predict(train, y_train, rows, K):
        k = min(cfg.knn_k, len(train))
        index = faiss.IndexFlatIP(X.shape[1])
        index.add(X[train])
        out = np.zeros((len(rows), K), np.float64)
        for start in range(0, len(rows), 4096):
            part = rows[start : start + 4096]
            _, nb = index.search(X[part], k)
            votes = y_train[np.where(nb >= 0, nb, 0)]
            for j in range(k):
                np.add.at(out[start : start + len(part)], (np.arange(len(part)), votes[:, j]), 1)
        out = (out / k + cfg.knn_alpha) / (1 + K * cfg.knn_alpha)
        return out

    return fit_predict


def combine(
    oof: list[np.ndarray], pool: list[np.ndarray], y, fold, K: int, how: str
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Combined out-of-fold (cross-fitted on ``fold``) and pool predictions, and the weights
    fitted on all folds (reported)."""
    if len(oof) == 1:
        return oof[0], pool[0], [1.0]
    if how == "mean":
        return sum(oof) / len(oof), sum(pool) / len(pool), [1 / len(oof)] * len(oof)
    if how != "logpool":
        raise ConfigError(f"predict.combine must be logpool or mean, found {how!r}.")
    out = np.zeros_like(oof[0])
    for k in range(int(fold.max()) + 1):
        test = fold == k
        w, b = _fit_logpool([P[~test] for P in oof], y[~test], K)
        out[test] = _apply_logpool([P[test] for P in oof], w, b)
    w, b = _fit_logpool(oof, y, K)
    pooled = _apply_logpool(pool, w, b) if len(pool[0]) else np.zeros((0, K))
    return out, pooled, [float(v) for v in w]


def _fit_logpool(Ps: list[np.ndarray], y: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Member weights (non-negative) and class biases maximising the likelihood of ``y``."""
    import torch

    logs = torch.tensor(np.stack([np.log(np.clip(P, EPS, 1.0)) for P in Ps]), dtype=torch.float64)
    target = torch.as_tensor(y)
    raw = torch.zeros(len(Ps), dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(K, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([raw, bias], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = (torch.nn.functional.softplus(raw)[:, None, None] * logs).sum(0) + bias
        loss = torch.nn.functional.cross_entropy(z, target) + 1e-3 * (bias**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return torch.nn.functional.softplus(raw).detach().numpy(), bias.detach().numpy()


def _apply_logpool(Ps: list[np.ndarray], w: np.ndarray, b: np.ndarray) -> np.ndarray:
    z = sum(wi * np.log(np.clip(P, EPS, 1.0)) for wi, P in zip(w, Ps, strict=True)) + b
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
