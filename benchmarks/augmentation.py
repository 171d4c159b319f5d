"""Augmentation candidates on banking77 with 5 classes made rare: test accuracy with and without.

Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/augmentation.py [--seeds 5] [--first-seed 3] [--rare-classes 5]
                                                [--keep 10] [--per-sample 2,5]

Data (``../shared/data``, never copied): banking77 ``train.csv`` (10,003 rows, 77 intents) and
``test.csv`` (3,080 rows, 40 per intent). Texts are embedded with curate's text embedder
(``common.embed``, cached by content hash in ``benchmarks/results/cache/embeddings``);
the augmented texts are embedded the same way.

For each seed s (``--first-seed`` 3, then 4, 5, ...): ``default_rng(s)`` picks 5 intents and
keeps 10 random training rows of each (the *rare* classes); every other intent keeps all its
training rows. The reference classifier ``make_model(PredictConfig(), s)`` (logistic regression
on the L2-normalised MiniLM embeddings) is trained on

* none: that training set as it is;
* full data: every training row (the 5 intents unsubsampled; the ceiling, for reference);
* class_weight=balanced: the "none" training set with the same model and
  ``class_weight="balanced"`` (another thing a user might do instead; for reference);
* oversample xP: plus P exact copies of each of the 50 rare rows (what a user might otherwise
  do; for logistic regression it is the same as giving those rows weight P + 1);
* curate aug xP: plus curate's augmentation candidates. The parents are
  ``choose_parents(labels, splits, rare_fraction=0.5, cluster_of=None, target_clusters=[],
  excluded=None, max_parents=200, seed=s)`` (``AugmentationConfig()``'s defaults), restricted
  to the 5 rare intents (banking77 has 4 intents that are naturally below half the median
  size, which choose_parents also picks); the copies are ``augment(manifest, "text",
  parents, per_sample=P, seed=s)``, each with its parent's label.

and scored by accuracy on the test rows of the 5 rare intents (200 rows) and on the whole
test set. The table gives the mean and standard deviation over the seeds. Figures are printed
and written to ``benchmarks/results/augmentation.json`` (git-ignored).

One verdict line per ``P`` (``verdict``; ``per_sample`` 2 is ``AugmentationConfig()``'s
default) compares curate aug xP's rare-class accuracy with the baselines of the same run,
paired over the seeds with a 95% t-interval: it holds when curate aug beats "none" (interval
above 0) and neither oversample xP nor class_weight=balanced beats it (interval below 0).
Nothing is tuned here: ``AugmentationConfig()``'s defaults and the text recipes predate this
benchmark and were never changed by it. The default seeds (3-7) were never looked at before
(the first runs used 0-2).
"""

from __future__ import annotations

from common import DATA, REPO, int_list, limit_threads, load_text, write_json

limit_threads(offline=True)

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

IN_SAMPLE = (
    "in-sample: no (nothing tuned: AugmentationConfig() defaults and the text recipes predate "
    "this benchmark and were never changed by it)"
)


def paired_t(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Mean of a - b over paired seeds and its 95% t-interval (NaN bounds with one seed)."""
    from scipy import stats

    d = np.asarray(a, float) - np.asarray(b, float)
    mean = float(d.mean())
    if len(d) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return mean, mean - half, mean + half


def verdict(table: dict[str, list[float]], per_sample: int) -> dict:
    """Rare-class accuracy of curate aug x``per_sample`` against the same run's baselines.

    ``table`` maps a method name to its per-seed rare-class accuracies (same seeds, same
    order). HOLDS when curate aug beats "none" with the interval above 0 and no baseline
    (oversample x``per_sample``, class_weight=balanced) beats it with the interval below 0;
    a missing method, or fewer than 2 seeds, FAILS.
    """
    ours = f"curate aug x{per_sample}"
    baselines = ["none", f"oversample x{per_sample}", "class_weight=balanced"]
    missing = [m for m in [ours, *baselines] if m not in table]
    if missing or len(table[ours]) < 2:
        why = f"no figures for {', '.join(missing)}" if missing else "fewer than 2 seeds"
        return dict(
            per_sample=per_sample,
            holds=False,
            line=f"verdict (x{per_sample}): FAILS: {why} in this run; {IN_SAMPLE}",
        )
    diffs = {b: paired_t(table[ours], table[b]) for b in baselines}
    worse = [b for b in baselines if diffs[b][2] < 0]
    holds = diffs["none"][1] > 0 and not worse
    mean = float(np.mean(table[ours]))
    cells = "; ".join(
        f"{b} {np.mean(table[b]):.3f} (diff {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}])"
        for b, d in diffs.items()
    )
    line = (
        f"verdict (x{per_sample}, {len(table[ours])} seeds): curate aug rare-class acc "
        f"{mean:.3f} vs baselines from the same run: {cells}; worse than "
        f"[{', '.join(worse) or '-'}] -> {'HOLDS' if holds else 'FAILS'}; {IN_SAMPLE}"
    )
    return dict(per_sample=per_sample, holds=holds, worse=worse, diffs=diffs, line=line)


def fit_score(X, y, X_test, y_test, rare_test: np.ndarray, seed: int, **params) -> dict:
    from curate.config import PredictConfig
    from curate.model.predict import make_model

    t0 = time.perf_counter()
    model = make_model(PredictConfig(), seed).set_params(**params).fit(X, y)
    hit = model.predict(X_test) == y_test
    return {
        "rare_acc": float(hit[rare_test].mean()),
        "overall_acc": float(hit.mean()),
        "other_acc": float(hit[~rare_test].mean()),
        "train_rows": len(y),
        "fit_s": time.perf_counter() - t0,
    }


def run_seed(seed, train, test, X_all, X_test, n_rare, keep, per_samples) -> dict:
    from common import embed  # content-hash-cached

    from curate.selection.augmentation import augment, choose_parents

    rng = np.random.default_rng(seed)
    classes = sorted(train.category.unique())
    rare = sorted(rng.choice(classes, n_rare, replace=False).tolist())
    rows = []
    for c in classes:
        idx = np.flatnonzero(train.category.to_numpy() == c)
        rows.extend(sorted(rng.choice(idx, keep, replace=False)) if c in rare else idx)
    rows = np.asarray(rows)
    labels = train.category.to_numpy()[rows]
    X, y = X_all[rows], labels
    y_test = test.category.to_numpy()
    rare_test = np.isin(y_test, rare)
    rare_rows = np.flatnonzero(np.isin(labels, rare))  # positions in the training set

    manifest = pa.table(
        {
            "sample_id": [f"train-{i}" for i in rows],
            "split": ["train"] * len(rows),
            "label": labels.tolist(),
            "input": train.text.to_numpy()[rows].tolist(),
        }
    )
    chosen = choose_parents(
        labels.tolist(),
        ["train"] * len(rows),
        rare_fraction=0.5,
        cluster_of=None,
        target_clusters=[],
        excluded=None,
        max_parents=200,
        seed=seed,
    )
    parents = [p for p in chosen if labels[p.index] in rare]
    assert sorted(p.index for p in parents) == sorted(rare_rows.tolist()), "parents != rare rows"
    other = sorted({labels[p.index] for p in chosen} - set(rare))

    res = {
        "seed": seed,
        "rare_classes": rare,
        "other_parent_classes": other,
        "parents": len(parents),
        "methods": {},
    }
    m = res["methods"]
    m["none"] = fit_score(X, y, X_test, y_test, rare_test, seed)
    for P in per_samples:
        dup = np.tile(rare_rows, P)
        m[f"oversample x{P}"] = fit_score(
            np.vstack([X, X[dup]]), np.concatenate([y, y[dup]]), X_test, y_test, rare_test, seed
        )
        aug = augment(manifest, "text", parents, per_sample=P, seed=seed)
        texts = aug.column("input").to_pylist()
        X_aug, _ = embed(texts, f"banking77-aug-s{seed}-x{P}")
        y_aug = np.asarray(aug.column("label").to_pylist(), object)
        m[f"curate aug x{P}"] = fit_score(
            np.vstack([X, X_aug]), np.concatenate([y, y_aug]), X_test, y_test, rare_test, seed
        )
        m[f"curate aug x{P}"]["augmented"] = len(texts)
        pos = {f"train-{i}": j for j, i in enumerate(rows)}
        X_par = X[[pos[pid] for pid in aug.column("parent_id").to_pylist()]]
        m[f"curate aug x{P}"]["cos_to_parent"] = float(np.mean(np.sum(X_aug * X_par, axis=1)))
        m[f"curate aug x{P}"]["examples"] = [
            {"parent": train.text.iloc[int(pid.split("-")[1])], "copy": t, "recipe": r}
            for pid, t, r in zip(
                aug.column("parent_id").to_pylist()[:3],
                texts[:3],
                aug.column("recipe").to_pylist()[:3],
                strict=True,
            )
        ]
    m["class_weight=balanced"] = fit_score(
        X, y, X_test, y_test, rare_test, seed, class_weight="balanced"
    )
    m["full data"] = fit_score(X_all, train.category.to_numpy(), X_test, y_test, rare_test, seed)
    line = "; ".join(f"{k} {v['rare_acc']:.3f}/{v['overall_acc']:.4f}" for k, v in m.items())
    print(f"seed {seed}: rare classes {rare}; rare/overall acc: {line}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=3, help="seeds first-seed, +1, ...")
    ap.add_argument("--rare-classes", type=int, default=5)
    ap.add_argument("--keep", type=int, default=10, help="training rows kept per rare class")
    ap.add_argument("--per-sample", default="2,5", help="copies per rare row (comma-separated)")
    args = ap.parse_args()
    per_samples = int_list(args.per_sample)

    from common import embed  # content-hash-cached

    t_start = time.perf_counter()
    train = pd.read_csv(DATA / "banking77/train.csv")
    test = pd.read_csv(DATA / "banking77/test.csv")
    X_all, _ = embed(train.text.tolist(), "banking77-train")
    X_test, _ = embed(test.text.tolist(), "banking77-test")
    seeds = [
        run_seed(s, train, test, X_all, X_test, args.rare_classes, args.keep, per_samples)
        for s in range(args.first_seed, args.first_seed + args.seeds)
    ]

    names = ["none"] + [f"{m} x{P}" for P in per_samples for m in ("oversample", "curate aug")]
    names += ["class_weight=balanced", "full data"]
    table = []
    for name in names:
        runs = [s["methods"][name] for s in seeds]
        row = {"method": name, "train_rows": float(np.mean([r["train_rows"] for r in runs]))}
        for key in ("rare_acc", "overall_acc", "other_acc"):
            vals = [r[key] for r in runs]
            row[key], row[key + "_std"] = float(np.mean(vals)), float(np.std(vals))
            row[key + "_seeds"] = vals
        table.append(row)

    n_rare_test = int(np.isin(test.category, seeds[0]["rare_classes"]).sum())
    print(
        f"\nbanking77: {args.rare_classes} intents cut to {args.keep} training rows each "
        f"(seeded per seed), {args.seeds} seeds; test: {n_rare_test} rows of the rare intents, "
        f"{len(test)} in all. mean ± std over seeds (population std)"
    )
    hdr = (
        f"{'method':<21} {'train rows':>10} {'rare-class acc':>16} {'Δ vs none':>9} "
        f"{'other-class acc':>16} {'overall acc':>16}"
    )
    print(hdr)
    print("-" * len(hdr))
    base = table[0]
    for r in table:
        delta = r["rare_acc"] - base["rare_acc"]
        print(
            f"{r['method']:<21} {r['train_rows']:>10.0f} "
            f"{r['rare_acc']:>8.3f} ± {r['rare_acc_std']:.3f} {delta:>+9.3f} "
            f"{r['other_acc']:>8.4f} ± {r['other_acc_std']:.4f} "
            f"{r['overall_acc']:>7.4f} ± {r['overall_acc_std']:.4f}"
        )
    print(
        "per seed, rare-class acc: "
        + "; ".join(
            f"{r['method']} " + "/".join(f"{v:.3f}" for v in r["rare_acc_seeds"]) for r in table
        )
    )
    for s in seeds:
        print(
            f"seed {s['seed']}: rare {s['rare_classes']}; choose_parents also picked (dropped) "
            f"{s['other_parent_classes']}"
        )
    cos = [s["methods"][f"curate aug x{P}"]["cos_to_parent"] for s in seeds for P in per_samples]
    print(f"mean cosine between an augmented copy's embedding and its parent's: {np.mean(cos):.3f}")
    ex = seeds[0]["methods"][f"curate aug x{per_samples[0]}"]["examples"]
    for e in ex:
        print(f"  example [{e['recipe']}]: {e['parent']!r} -> {e['copy']!r}")
    rare = {r["method"]: r["rare_acc_seeds"] for r in table}
    found = [verdict(rare, P) for P in per_samples]
    seed_names = ", ".join(str(s["seed"]) for s in seeds)
    print(
        f"verdicts (seeds {seed_names}; paired 95% t-intervals over the seeds; "
        f"AugmentationConfig().per_sample = 2):"
    )
    for v in found:
        print(v["line"])
    print(f"total {time.perf_counter() - t_start:.0f} s; load average: {load_text()}")

    out = {
        "args": vars(args),
        "table": table,
        "seeds": seeds,
        "verdicts": found,
        "load_average": os.getloadavg(),
    }
    path = write_json("augmentation.json", out)
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
