"""The active-learning simulation of ``active_learning.py``: the data, the model refitted each
round, one (strategy, seed) run per worker process, and the pool of workers."""

from __future__ import annotations

import dataclasses
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from active_learning_report import judge, summarise
from common import DATA
from common import embed as embed_texts  # content-hash-cached

TUNING_SPLIT_SEED = 20_240  # the permutation that carves the tuning test rows from the pool


# Set in main() before the worker pool forks; read by the workers.
STATE: dict = {}


def load_data(name: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """(pool texts, pool labels, test texts, test labels) of a data set in ``../shared/data``."""
    if name == "banking77":
        train = pd.read_csv(DATA / "banking77/train.csv", dtype=str, keep_default_na=False)
        test = pd.read_csv(DATA / "banking77/test.csv", dtype=str, keep_default_na=False)
        return (
            train.text.tolist(),
            train.category.tolist(),
            test.text.tolist(),
            test.category.tolist(),
        )
    if name == "clinc150":
        full = pd.read_parquet(DATA / "clinc150/data_full.parquet")
        train, test = full[full.split == "train"], full[full.split == "test"]
        return train.text.tolist(), train.intent.tolist(), test.text.tolist(), test.intent.tolist()
    raise SystemExit(f"unknown --dataset {name!r}; choose banking77 or clinc150")


def make_cfg(overrides: dict, batch: int):
    from curate.config import ActiveLearningConfig

    return dataclasses.replace(ActiveLearningConfig(), batch_size=batch, **overrides)


def fit(rows: np.ndarray, seed: int):
    from curate.config import PredictConfig
    from curate.model.predict import make_model

    return make_model(PredictConfig(), seed).fit(STATE["X"][rows], STATE["y"][rows])


def proba(model, X: np.ndarray) -> np.ndarray:
    """``predict_proba`` mapped into all classes' order; classes the model never saw get 0."""
    out = np.zeros((len(X), len(STATE["classes"])), np.float64)
    out[:, model.classes_] = model.predict_proba(X)
    return out


def oof_probs(rows: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import KFold

    oof = np.zeros((len(rows), len(STATE["classes"])), np.float64)
    for train, test in KFold(5, shuffle=True, random_state=seed).split(rows):
        oof[test] = proba(fit(rows[train], seed), STATE["X"][rows[test]])
    return oof


def targets_for(rows: np.ndarray, cfg, seed: int) -> tuple[np.ndarray, dict]:
    """Embeddings of the misclassified labelled members of the top failure clusters."""
    from curate.analysis.clusters import failure_clusters

    X, classes = STATE["X"], STATE["classes"]
    oof = oof_probs(rows, seed)
    labels = [classes[c] for c in STATE["y"][rows]]
    fc = failure_clusters(labels, oof, classes, X[rows], seed=seed)
    top = fc.top(cfg.target_clusters)
    members = np.isin(fc.assignment, top) & fc.errors
    info = {"oof_accuracy": float(1 - fc.errors.mean()), "clusters": fc.summary["clusters"],
            "targets": int(members.sum())}  # fmt: skip
    return X[rows][members], info


def job(args: tuple) -> dict:
    """One strategy, one seed: accuracy after every round."""
    # 150 classes from 200 labels: sklearn warns that y "could represent a regression problem".
    warnings.filterwarnings("ignore", message="The number of unique classes is greater")
    from curate.selection.active_learning import select_batch

    name, overrides, seed, initial, rounds, batch = args
    X, y, n = STATE["X"], STATE["y"], len(STATE["y"])
    labelled = np.zeros(n, bool)
    labelled[np.random.default_rng(seed).choice(n, initial, replace=False)] = True
    rng = np.random.default_rng([seed, 1])
    cfg = None if name == "random" else make_cfg(overrides, batch)
    out: dict = {"strategy": name, "seed": seed, "labels": [], "accuracy": [], "rounds": []}
    start = time.perf_counter()
    for r in range(rounds + 1):
        rows = np.flatnonzero(labelled)
        model = fit(rows, seed)
        out["labels"].append(int(len(rows)))
        out["accuracy"].append(float((model.predict(STATE["X_test"]) == STATE["y_test"]).mean()))
        if r == rounds:
            break
        pool = np.flatnonzero(~labelled)
        info: dict = {}
        if cfg is None:
            picks = rng.choice(pool, min(batch, len(pool)), replace=False)
        else:
            targets = None
            if cfg.weights.get("similarity", 0.0) > 0:
                t0 = time.perf_counter()
                targets, info = targets_for(rows, cfg, seed)
                info["targets_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            sel = select_batch(
                [str(i) for i in pool], proba(model, X[pool]), X[pool], X[rows],
                STATE["classes"], cfg, targets=targets,
            )  # fmt: skip
            info["select_s"] = time.perf_counter() - t0
            picks = np.array(sel.table.column("sample_id").to_pylist(), dtype=np.int64)
            t = sel.table
            for col in ("uncertainty", "similarity", "diversity"):
                info[f"batch_{col}"] = float(np.mean(t.column(col).to_numpy()))
            info["batch_with_similarity"] = int((t.column("similarity").to_numpy() > 0).sum())
        info["batch_classes"] = int(len(np.unique(y[picks])))
        info["new_classes"] = int(len(set(y[picks].tolist()) - set(y[rows].tolist())))
        out["rounds"].append(info)
        labelled[picks] = True
    out["seconds"] = time.perf_counter() - start
    return out


def load_part(dataset: str, pool_copies: int) -> dict:
    """Embedded pool and test split of a data set (pool copies added as ``--pool-copies`` says)."""
    texts, labels_, test_texts, test_labels = load_data(dataset)
    X, _ = embed_texts(texts, f"{dataset}-train")
    X_test, _ = embed_texts(test_texts, f"{dataset}-test")
    classes = sorted(set(labels_))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in labels_], np.int64)
    y_test = np.array([index[c] for c in test_labels], np.int64)
    return {"dataset": dataset, "X": X, "y": y, "X_test": X_test, "y_test": y_test,
            "classes": classes, "pool_copies": pool_copies}  # fmt: skip


def with_copies(part: dict) -> dict:
    """Every pool row ``pool_copies`` times in all: the copies are the embedding plus noise."""
    k = part["pool_copies"]
    if k <= 1:
        return part
    X = part["X"]
    noise_rng = np.random.default_rng(12345)
    copies = [X] + [
        X + 0.1 / np.sqrt(X.shape[1]) * noise_rng.normal(size=X.shape).astype(np.float32)
        for _ in range(k - 1)
    ]
    Xc = np.concatenate(copies)
    Xc /= np.linalg.norm(Xc, axis=1, keepdims=True)
    return {**part, "X": Xc, "y": np.tile(part["y"], k)}


def tuning_split(part: dict, fraction: float) -> dict:
    """The tuning part: ``fraction`` of the training pool held out as its test rows.

    The data set's own test split is not used. Carved before any pool copies are added, so a
    row and its copies stay on one side.
    """
    n = len(part["y"])
    perm = np.random.default_rng(TUNING_SPLIT_SEED).permutation(n)
    held = np.sort(perm[: int(round(fraction * n))])
    pool = np.sort(perm[int(round(fraction * n)) :])
    return {**part, "X": part["X"][pool], "y": part["y"][pool], "X_test": part["X"][held],
            "y_test": part["y"][held], "name": f"{part['dataset']} tuning split",
            "pool_rows": pool, "test_rows": held}  # fmt: skip


def simulate(part: dict, strategies: list[tuple[str, dict]], seeds: list[int], args) -> dict:
    """Every strategy on every seed of one part; returns the runs and per-strategy figures."""
    part = with_copies(part)
    STATE.clear()
    STATE.update(X=np.ascontiguousarray(part["X"], np.float32), X_test=part["X_test"],
                 classes=part["classes"], y=part["y"], y_test=part["y_test"])  # fmt: skip
    print(f"\n=== {part['name']}: pool {len(part['y'])} rows, {len(part['classes'])} classes, "
          f"{len(part['y_test'])} test rows; seeds {seeds}; {args.initial} initial labels, "
          f"{args.rounds} rounds of {args.batch} ===")  # fmt: skip
    # A strategy whose configuration equals an earlier one's is simulated once.
    same_as: dict[str, str] = {}
    for i, (m, kw) in enumerate(strategies):
        for m0, kw0 in strategies[:i]:
            if (
                m0 not in same_as
                and "random" not in (m, m0)
                and make_cfg(kw, args.batch) == make_cfg(kw0, args.batch)
            ):
                same_as[m] = m0
                break
    jobs = [
        (m, kw, s, args.initial, args.rounds, args.batch)
        for m, kw in strategies
        if m not in same_as
        for s in seeds
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:  # forks after STATE is set
        runs = list(pool.map(job, jobs))
    for m, m0 in same_as.items():
        print(f"{m} has the same configuration as {m0}: simulated once")
        runs += [{**r, "strategy": m} for r in runs if r["strategy"] == m0]
    print(f"{len(jobs)} simulations in {time.perf_counter() - start:.0f} s ({args.jobs} workers)")
    labels = runs[0]["labels"]
    stats = {m: summarise(runs, m) for m, _ in strategies}
    judged = {m: judge(stats[m], stats["random"], labels) for m, _ in strategies}
    return {"name": part["name"], "labels": labels, "stats": stats, "judged": judged,
            "runs": runs, "seeds": seeds, "same_as": same_as}  # fmt: skip
