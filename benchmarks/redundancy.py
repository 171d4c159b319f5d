"""Redundancy pruning: test accuracy after training on curate's keep set vs a random subset.

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/redundancy.py [--variants] [--seeds 3] [--fractions 0.9,0.7,0.5]
                                              [--dataset banking77] [--rows N] [--jobs 2]

Data (``../shared/data``, never copied): banking77 ``train.csv`` (10,003 rows, 77 intents,
35-187 rows per intent) and ``test.csv`` (3,080 rows, 40 per intent). Texts are embedded with
curate's text embedder, cached in ``benchmarks/results/cache/embeddings``. The kNN graph is
``build_graph(X_train, IndexConfig())`` (k=10, exact).

For every keep fraction and seed, the reference classifier ``make_model(PredictConfig(), seed)``
(logistic regression) is trained on

* curate: the ``in_keep_set`` rows of ``find_redundant(..., cfg=RedundancyConfig(keep_fraction=f),
  seed=seed)`` over all training rows (split ``train``, their labels);
* random: ``default_rng(seed).choice(n, round(f * n), replace=False)``, the same size;
* full: every training row (the reference for the drop);

and scored by accuracy on the test set. The seed changes curate's k-means and sampling and the
random subset. The acceptance test: at keep fraction 0.7, curate's mean drop from the full-data
accuracy is smaller than random's. ``--variants`` adds configurations of the same check (keep
policy, preference strength, semantic-duplicate threshold, clusters, label-agreement filter).
``--dataset agnews`` / ``agnews-gold`` run on NoisyAG-News (crowd labels, 19.75% wrong, or the
gold labels; clean test set) to see what label noise does to each ranking.

Figures are printed and written to ``benchmarks/results/redundancy.json`` (git-ignored).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per worker; --jobs sets the parallelism

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from label_issues import embed as embed_texts  # noqa: E402  (content-hash-cached)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data"
RESULTS = REPO / "benchmarks/results"
ACCEPT_FRACTION = 0.7

# The settings --variants changes one thing at a time from (RedundancyConfig()'s defaults
# since they were adopted; "hard" is what `keep: auto` picks for banking77's 10,003 rows).
RECOMMENDED = {"keep": "hard", "threshold": 0.98}
# (name, overrides of RECOMMENDED). Settings RedundancyConfig lacks are passed on an extended
# config (see make_cfg); the check reads them with getattr and a default.
VARIANTS: list[tuple[str, dict]] = [
    ("recommended", {}),
    ("keep=auto", {"keep": "auto"}),
    ("keep=easy", {"keep": "easy"}),
    ("strength=0 (class-stratified random)", {"preference_strength": 0.0}),
    ("strength=1", {"preference_strength": 1.0}),
    ("strength=6", {"preference_strength": 6.0}),
    ("strength=50 (strict order)", {"preference_strength": 50.0}),
    ("keep=easy strength=50", {"keep": "easy", "preference_strength": 50.0}),
    ("label_agreement=off", {"label_agreement": None}),
    ("label_agreement=0.2", {"label_agreement": 0.2}),
    ("threshold=0.85", {"threshold": 0.85}),
    ("threshold=0.90", {"threshold": 0.90}),
    ("threshold=0.95", {"threshold": 0.95}),
    ("threshold=0.98", {"threshold": 0.98}),
    ("threshold=1.0 (no duplicates)", {"threshold": 1.0}),
    ("clusters=77", {"clusters": 77}),
    ("clusters=sqrt(n)", {"clusters": "sqrt"}),
    ("clusters=n/50", {"clusters": "n/50"}),
]
DUP_THRESHOLDS = (0.85, 0.90, 0.95, 0.98, 0.99)

# Set in main() before the worker pool forks; read by the workers.
STATE: dict = {}


def make_cfg(**kw):
    """``RedundancyConfig(**kw)``, on an extended dataclass for fields it does not have yet."""
    from curate.config import RedundancyConfig

    known = {f.name for f in dataclasses.fields(RedundancyConfig)}
    extra = {k: v for k, v in kw.items() if k not in known}
    if not extra:
        return RedundancyConfig(**kw)
    cls = dataclasses.make_dataclass(
        "ExtendedRedundancyConfig",
        [(k, object, dataclasses.field(default=None)) for k in extra],
        bases=(RedundancyConfig,),
        frozen=True,
    )
    return cls(**kw)


def embed(texts: list[str], tag: str) -> np.ndarray:
    """Sentence embeddings, cached by content hash (label_issues.py's helper)."""
    return embed_texts(texts, tag)[0]


def load(dataset: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(train, test, tag) with columns ``text`` and ``label``."""
    if dataset == "banking77":
        train = pd.read_csv(DATA / "banking77/train.csv")
        test = pd.read_csv(DATA / "banking77/test.csv")
        train["label"], test["label"] = train.category, test.category
        return train, test, "banking77"
    train = pd.read_parquet(DATA / "noisy_agnews/train_10k.parquet")
    test = pd.read_parquet(DATA / "noisy_agnews/test.parquet")
    if dataset == "agnews-gold":
        train["label"] = train.gold_label
    return train, test, "agnews"


def accuracy(rows: np.ndarray, seed: int) -> float:
    from curate.config import PredictConfig
    from curate.predict import make_model

    X, y, X_test, y_test = STATE["X"], STATE["y"], STATE["X_test"], STATE["y_test"]
    model = make_model(PredictConfig(), seed).fit(X[rows], y[rows])
    return float((model.predict(X_test) == y_test).mean())


def resolve(kw: dict, n: int) -> dict:
    kw = dict(kw)
    if kw.get("clusters") == "sqrt":
        kw["clusters"] = int(round(np.sqrt(n)))
    elif kw.get("clusters") == "n/50":
        kw["clusters"] = max(1, n // 50)
    return kw


def curate_keep(kw: dict, fraction: float, seed: int) -> tuple[np.ndarray, dict, float]:
    from curate.checks.redundancy import find_redundant

    n = len(STATE["y"])
    cfg = make_cfg(**resolve(kw, n), keep_fraction=fraction)
    start = time.perf_counter()
    result = find_redundant(
        STATE["ids"], STATE["X"], STATE["graph"], splits=["train"] * n,
        labels=STATE["labels"], cfg=cfg, seed=seed,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    t = result.table
    kept = np.array(t.column("sample_id").to_pylist(), dtype=np.int64)[
        np.array(t.column("in_keep_set").to_pylist(), dtype=bool)
    ]
    return np.sort(kept), result.summary, seconds


def job(args: tuple) -> dict:
    method, kw, fraction, seed = args
    n = len(STATE["y"])
    out = {"method": method, "fraction": fraction, "seed": seed}
    if method == "full":
        rows = np.arange(n)
    elif method == "random":
        rows = np.sort(np.random.default_rng(seed).choice(n, int(round(fraction * n)), False))
    else:
        kw = kw if method == "curate default" else {**RECOMMENDED, **kw}
        rows, summary, seconds = curate_keep(kw, fraction, seed)
        out.update(check_s=seconds, semantic_duplicates=summary["semantic_duplicates"],
                   possible_label_errors=summary.get("possible_label_errors"),
                   clusters=summary["clusters"], keep=summary["keep"])  # fmt: skip
    out.update(kept=len(rows), accuracy=accuracy(rows, seed))
    return out


def mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--dataset", default="banking77", choices=["banking77", "agnews", "agnews-gold"]
    )
    ap.add_argument("--rows", type=int, help="stratified subsample of the training set")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--fractions", default="0.9,0.7,0.5")
    ap.add_argument("--variants", action="store_true", help="also run the configuration sweep")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = ap.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from curate.config import IndexConfig, RedundancyConfig
    from curate.index import build_graph

    train, test, tag = load(args.dataset)
    X = embed(train.text.tolist(), f"{tag}-train")
    X_test = embed(test.text.tolist(), f"{tag}-test")
    if args.rows is not None and args.rows < len(train):
        pick = train.groupby("label").sample(frac=args.rows / len(train), random_state=0).index
        pick = np.sort(pick.to_numpy())
        train, X = train.iloc[pick].reset_index(drop=True), X[pick]
    n = len(train)
    counts = train.label.value_counts()
    print(f"{args.dataset}: {n} training rows, {len(counts)} classes ({counts.min()}-"
          f"{counts.max()} per class), {len(test)} test rows")  # fmt: skip
    start = time.perf_counter()
    graph = build_graph(X, IndexConfig(), seed=0)
    print(f"kNN graph: {time.perf_counter() - start:.1f} s")
    STATE.update(X=X, y=train.label.to_numpy(), X_test=X_test, y_test=test.label.to_numpy(),
                 graph=graph, ids=[str(i) for i in range(n)],
                 labels=train.label.astype(str).tolist())  # fmt: skip

    default = RedundancyConfig()
    print(f"default: {default}")
    if args.variants:
        print(f"variants: changes to {RECOMMENDED or 'the default'}")
    fractions = [float(f) for f in args.fractions.split(",")]
    seeds = range(args.seeds)
    methods = [("curate default", {}), ("random", {})]
    if args.variants:
        methods += VARIANTS
    jobs = [("full", {}, 1.0, s) for s in seeds]
    jobs += [(m, kw, f, s) for m, kw in methods for f in fractions for s in seeds]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(job, jobs))
    print(f"{len(runs)} classifier fits in {time.perf_counter() - start:.0f} s\n")

    def acc(method: str, fraction: float) -> list[float]:
        return [r["accuracy"] for r in runs if r["method"] == method and r["fraction"] == fraction]

    full = acc("full", 1.0)
    full_mean = float(np.mean(full))
    print(f"full data: {mean_std(full)} ({n} rows)\n")
    print("| keep fraction | kept | curate default | random | drop curate | drop random | "
          "curate - random |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    table = []
    for f in fractions:
        c, r = acc("curate default", f), acc("random", f)
        row = dict(fraction=f, kept=int(round(f * n)), curate_mean=float(np.mean(c)),
                   curate_std=float(np.std(c)), random_mean=float(np.mean(r)),
                   random_std=float(np.std(r)), drop_curate=full_mean - float(np.mean(c)),
                   drop_random=full_mean - float(np.mean(r)))  # fmt: skip
        table.append(row)
        print(f"| {f} | {row['kept']} | {mean_std(c)} | {mean_std(r)} | "
              f"{row['drop_curate']:+.4f} | {row['drop_random']:+.4f} | "
              f"{row['curate_mean'] - row['random_mean']:+.4f} |")  # fmt: skip
    accept = next((t for t in table if t["fraction"] == ACCEPT_FRACTION), None)
    holds = None
    if accept is not None:
        holds = bool(accept["drop_curate"] < accept["drop_random"])
        verdict = "HOLDS" if holds else "FAILS"
        print(
            f"\nacceptance (keep fraction {ACCEPT_FRACTION}: curate's drop "
            f"{accept['drop_curate']:.4f} < random's {accept['drop_random']:.4f}): {verdict}"
        )

    dups = {}
    for t in DUP_THRESHOLDS:
        _, summary, _ = curate_keep({"threshold": t}, ACCEPT_FRACTION, 0)
        dups[t] = summary["semantic_duplicates"]
    print("\nsemantic duplicates (default clusters, seed 0): "
          + ", ".join(f"{dups[t]} at {t}" for t in DUP_THRESHOLDS)
          + f"; possible label errors: {summary.get('possible_label_errors')}")  # fmt: skip

    if args.variants:
        print("\n| variant | " + " | ".join(f"{f}" for f in fractions) + " | semantic dups |")
        print("| --- |" + " --- |" * (len(fractions) + 1))
        for m, _ in [("random", {}), ("curate default", {}), *VARIANTS]:
            gain = [np.mean(acc(m, f)) - np.mean(acc("random", f)) for f in fractions]
            cells = [
                f"{mean_std(acc(m, f))} ({g:+.4f})" for f, g in zip(fractions, gain, strict=True)
            ]
            sd = [r.get("semantic_duplicates") for r in runs if r["method"] == m]
            print(f"| {m} | " + " | ".join(cells) + f" | {sd[0] if sd[0] is not None else '-'} |")
        print("(in brackets: mean accuracy - random's mean accuracy)")
    check_s = [r["check_s"] for r in runs if r["method"] == "curate default"]
    print(f"\nfind_redundant: {np.mean(check_s):.2f} s per call (default config)")
    load_avg = os.getloadavg()
    print(f"load average (1, 5, 15 min): {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = dict(dataset=args.dataset, rows=n, classes=len(counts), test_rows=len(test),
               seeds=args.seeds, default_config=dataclasses.asdict(default),
               full_accuracy=full, table=table, acceptance_fraction=ACCEPT_FRACTION,
               acceptance_holds=holds, semantic_duplicates_by_threshold=dups,
               variants={m: kw for m, kw in VARIANTS} if args.variants else {},
               runs=runs, load_average=load_avg)  # fmt: skip
    (RESULTS / "redundancy.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"written to {RESULTS / 'redundancy.json'}")


if __name__ == "__main__":
    main()
