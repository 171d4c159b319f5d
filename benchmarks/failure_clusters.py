"""Failure clusters on noisy_agnews: do the most severe clusters hold markedly more errors?

Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/failure_clusters.py [--seed 0] [--ks 20,100] [--draws 20]

Data (``../shared/data``, never copied): NoisyAG-News ``train_10k.parquet`` (10,000 rows,
4 classes). The given labels are the crowd ``label`` (19.75% differ from ``gold_label``).

What the pipeline does, step by step: sentence embeddings (curate's text embedder, cached in
``benchmarks/results/cache/embeddings`` by ``common.embed``), the kNN graph
(``build_graph(X, IndexConfig())``), out-of-sample ``pred_probs`` from
``out_of_sample_pred_probs`` with ``PredictConfig()`` on the stage's fold groups
(``fold_groups``: copies and near-copies share a fold), the ``label`` check with
``LabelConfig()`` (its flags fill the ``label_issues`` column), then
``failure_clusters(labels, pred_probs, classes, X, label_issues=..., seed=seed)`` with the
default number of clusters and, as extra rows, with ``--ks``.

An *error* is a row whose out-of-sample argmax differs from its given (noisy) label. *Label
noise* is ``label != gold_label``. For each k the benchmark compares the pooled error rate and
noise rate of four choices of 3 clusters:

* severity: the top 3 of curate's ranking (``FailureClusters.table``);
* error rate: the 3 clusters with the highest error rate (ties: more errors first);
* error count: the 3 clusters with the most errors (ties: higher rate first);
* random: 3 clusters drawn uniformly without replacement, mean over ``--draws`` seeded draws.

Scored on the rows the clusters were found on, these figures are optimistic (k-means and the
ranking both saw those errors), so they are printed only as the in-sample reference. The
verdict is held out: for each of ``--splits`` seeded splits of the rows into two halves (whole
fold groups, so copies and near-copies stay on one side), clusters are found on one half
(``failure_clusters`` with the default number of clusters for that half, and ``--ks``), the
four choices of 3 clusters are made from that half's table, and their error rate is scored on
the *other* half, each of its rows assigned to the nearest centroid (``held_out_rates``); then
the halves swap. Per split the two directions are averaged; the verdict line compares severity
with the error-rate ranking and with random clusters by the paired difference over the splits
(mean and 95% t-interval). It holds when severity's held-out top-3 error rate is at least
``ACCEPT_RATIO`` x the held-out average and its interval against random lies above 0.

Figures are printed and written to ``benchmarks/results/failure_clusters.json`` (git-ignored).
"""

from __future__ import annotations

from common import DATA, REPO, limit_threads, load_text, write_json

limit_threads(offline=True)

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import embed  # noqa: E402  (content-hash-cached)

ACCEPT_RATIO = 1.5  # severity's held-out top-3 error rate at least this x the held-out average


def pooled(ids, assign: np.ndarray, errors: np.ndarray, noise: np.ndarray) -> dict:
    """Size, error rate, noise rate and share of all errors of the union of clusters ``ids``."""
    members = np.isin(assign, list(ids))
    size = int(members.sum())
    return {
        "clusters": [int(c) for c in ids],
        "size": size,
        "errors": int(errors[members].sum()),
        "error_rate": float(errors[members].mean()),
        "noise_rate": float(noise[members].mean()),
        "error_share": float(errors[members].sum() / max(1, errors.sum())),
    }


def compare(fc, noise: np.ndarray, draws: int, seed: int) -> dict:
    """The four choices of 3 clusters from the module docstring, for one clustering."""
    rows = fc.table.to_pylist()
    assign, errors = fc.assignment, fc.errors
    by_rate = sorted(rows, key=lambda r: (-r["error_rate"], -r["errors"], r["cluster"]))
    by_count = sorted(rows, key=lambda r: (-r["errors"], -r["error_rate"], r["cluster"]))
    out = {
        "severity": pooled([r["cluster"] for r in rows[:3]], assign, errors, noise),
        "error rate": pooled([r["cluster"] for r in by_rate[:3]], assign, errors, noise),
        "error count": pooled([r["cluster"] for r in by_count[:3]], assign, errors, noise),
    }
    rng = np.random.default_rng(seed)
    ids = [r["cluster"] for r in rows]
    rand = [pooled(rng.choice(ids, 3, replace=False), assign, errors, noise) for _ in range(draws)]
    out[f"random (mean of {draws})"] = {
        "size": float(np.mean([r["size"] for r in rand])),
        "errors": float(np.mean([r["errors"] for r in rand])),
        "error_rate": float(np.mean([r["error_rate"] for r in rand])),
        "error_rate_std": float(np.std([r["error_rate"] for r in rand])),
        "noise_rate": float(np.mean([r["noise_rate"] for r in rand])),
        "error_share": float(np.mean([r["error_share"] for r in rand])),
    }
    return out


def choices(fc, draws: int, seed: int) -> dict[str, list[list[int]]]:
    """The four choices of 3 clusters, made from ``fc``'s own table (the fit half)."""
    rows = fc.table.to_pylist()
    by_rate = sorted(rows, key=lambda r: (-r["error_rate"], -r["errors"], r["cluster"]))
    by_count = sorted(rows, key=lambda r: (-r["errors"], -r["error_rate"], r["cluster"]))
    ids = [r["cluster"] for r in rows]
    rng = np.random.default_rng(seed)
    return {
        "severity": [ids[:3]],
        "error rate": [[r["cluster"] for r in by_rate[:3]]],
        "error count": [[r["cluster"] for r in by_count[:3]]],
        "random": [list(rng.choice(ids, 3, replace=False)) for _ in range(draws)],
    }


def held_out(X, labels, probs, classes, is_issue, errors, noise, groups, k, split, args) -> dict:
    """One split into halves, both directions: the held-out figures of each choice."""
    from curate.analysis.clusters import default_clusters, failure_clusters, held_out_rates

    keys = np.unique(groups, return_inverse=True)[1]
    side = np.random.default_rng([args.seed, split]).random(keys.max() + 1) < 0.5
    halves = [np.flatnonzero(side[keys]), np.flatnonzero(~side[keys])]
    out: dict = {"split": split, "directions": []}
    for fit, score in (halves, halves[::-1]):
        fc = failure_clusters(
            [labels[i] for i in fit],
            probs[fit],
            classes,
            X[fit],
            label_issues=is_issue[fit],
            n_clusters=k or default_clusters(len(fit)),
            seed=args.seed + split,
        )
        ho = held_out_rates(fc, X[score], errors[score])
        assign = fc.assign(X[score])
        base = float(errors[score].mean())
        d = {"fit_rows": len(fit), "scored_rows": len(score), "clusters": fc.summary["clusters"],
             "held_out_error_rate": base}  # fmt: skip
        ho_size = {r["cluster"]: r["size"] for r in ho.to_pylist()}
        ho_err = {r["cluster"]: r["errors"] for r in ho.to_pylist()}
        for name, picks in choices(fc, args.draws, args.seed + split).items():
            rates, noises, in_sample, shares = [], [], [], []
            for ids in picks:
                size = sum(ho_size[c] for c in ids)
                rates.append(sum(ho_err[c] for c in ids) / max(size, 1))
                shares.append(sum(ho_err[c] for c in ids) / max(1, int(errors[score].sum())))
                noises.append(float(noise[score][np.isin(assign, ids)].mean()) if size else 0.0)
                members = np.isin(fc.assignment, ids)
                in_sample.append(float(fc.errors[members].mean()))
            d[name] = {
                "error_rate": float(np.mean(rates)),
                "ratio": float(np.mean(rates)) / base,
                "noise_rate": float(np.mean(noises)),
                "error_share": float(np.mean(shares)),
                "fit_error_rate": float(np.mean(in_sample)),
            }
        out["directions"].append(d)
    names = ("severity", "error rate", "error count", "random")
    out["mean"] = {
        n: {m: float(np.mean([d[n][m] for d in out["directions"]])) for m in d["severity"]}
        for n in names
    }
    out["held_out_error_rate"] = float(
        np.mean([d["held_out_error_rate"] for d in out["directions"]])
    )
    return out


def paired_ci(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Mean of the paired differences a - b and its 95% t-interval."""
    from scipy import stats

    d = np.asarray(a) - np.asarray(b)
    if len(d) < 2:
        return float(d.mean()), float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ks", default="20,100", help="extra numbers of clusters (comma-separated)")
    ap.add_argument("--draws", type=int, default=20, help="random draws of 3 clusters")
    ap.add_argument("--splits", type=int, default=5, help="seeded splits into two halves")
    args = ap.parse_args()

    from curate import checks
    from curate.analysis.clusters import default_clusters, failure_clusters
    from curate.config import IndexConfig, LabelConfig, PredictConfig
    from curate.index import build_graph
    from curate.model.predict import fold_groups, out_of_sample_pred_probs

    df = pd.read_parquet(DATA / "noisy_agnews/train_10k.parquet")
    texts, labels = df.text.tolist(), df.label.tolist()
    noise = (df.label != df.gold_label).to_numpy()
    X, hashes = embed(texts, "agnews-train")

    t0 = time.perf_counter()
    graph = build_graph(X, IndexConfig(), seed=args.seed)
    groups = fold_groups(graph, hashes, PredictConfig())
    preds = out_of_sample_pred_probs(X, labels, groups, PredictConfig(), args.seed)
    n = len(labels)
    issues = checks.get("label")(
        sample_ids=[str(i) for i in range(n)],
        splits=["train"] * n,
        labels=labels,
        content_hashes=hashes,
        pred_probs=preds.pred_probs,
        classes=preds.classes,
        cfg=LabelConfig(),
        seed=args.seed,
    )
    is_issue = np.asarray(issues.table.column("is_label_issue").to_pylist(), bool)
    predict_s = time.perf_counter() - t0

    k_default = default_clusters(n)
    ks = [k_default] + [int(k) for k in args.ks.split(",") if k and int(k) != k_default]
    results, detail = [], {}
    for k in ks:
        t0 = time.perf_counter()
        fc = failure_clusters(
            labels,
            preds.pred_probs,
            preds.classes,
            X,
            label_issues=is_issue,
            n_clusters=k,
            seed=args.seed,
        )
        cluster_s = time.perf_counter() - t0
        results.append(
            {
                "k": k,
                "default": k == k_default,
                "cluster_s": cluster_s,
                "summary": fc.summary,
                "top3": compare(fc, noise, args.draws, args.seed),
            }
        )
        if k == k_default:
            detail = {"fc": fc}

    err_rate, noise_rate = float(detail["fc"].errors.mean()), float(noise.mean())
    print(f"\nnoisy_agnews train: {n} rows, classes {list(preds.classes)}")
    print(
        f"reference model (logreg, 5 grouped folds): CV accuracy vs given labels "
        f"{preds.cv_accuracy:.4f}; {predict_s:.1f} s for graph + pred_probs + label check"
    )
    print(f"dataset error rate (argmax != given label): {err_rate:.4f}")
    print(f"dataset label-noise rate (label != gold_label): {noise_rate:.4f}")
    print(f"label check flags {int(is_issue.sum())} rows")

    fc = detail["fc"]
    top = fc.table.to_pylist()[:3]
    s = results[0]["top3"]["severity"]
    print(
        f"\nk = {k_default} (default): top-3 clusters by severity hold {s['size']} rows, "
        f"error rate {s['error_rate']:.4f} vs {err_rate:.4f} overall "
        f"(x{s['error_rate'] / err_rate:.2f}); label noise {s['noise_rate']:.4f} vs "
        f"{noise_rate:.4f} (x{s['noise_rate'] / noise_rate:.2f})"
    )
    hdr = (
        f"{'rank':>4} {'cluster':>7} {'size':>5} {'errors':>6} {'err rate':>8} {'noise':>6} "
        f"{'severity':>8} {'issues':>6}  confused (given -> predicted, count) | top classes"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in top:
        members = fc.assignment == r["cluster"]
        r["noise_rate"] = float(noise[members].mean())
        print(
            f"{r['rank']:>4} {r['cluster']:>7} {r['size']:>5} {r['errors']:>6} "
            f"{r['error_rate']:>8.4f} {r['noise_rate']:>6.3f} {r['severity']:>8.2f} "
            f"{r['label_issues']:>6}  {r['confused_given']} -> {r['confused_predicted']} "
            f"({r['confused_count']}) | {r['top_classes']}"
        )

    print(
        "\nIn-sample (scored on the rows the clusters were found on; optimistic, reference "
        "only): pooled over 3 clusters, by how they are chosen (error = argmax != given label; "
        "noise = label != gold_label):"
    )
    hdr = (
        f"{'k':>4} {'3 clusters by':<20} {'rows':>7} {'errors':>7} {'err rate':>8} "
        f"{'x avg':>6} {'noise':>6} {'x avg':>6} {'% of errors':>11}"
    )
    print(hdr)
    print("-" * len(hdr))
    for res in results:
        for name, p in res["top3"].items():
            print(
                f"{res['k']:>4} {name:<20} {p['size']:>7.0f} {p['errors']:>7.0f} "
                f"{p['error_rate']:>8.4f} {p['error_rate'] / err_rate:>6.2f} "
                f"{p['noise_rate']:>6.3f} {p['noise_rate'] / noise_rate:>6.2f} "
                f"{100 * p['error_share']:>10.1f}%"
            )
        print(
            f"{res['k']:>4} {'(all rows)':<20} {n:>7} {int(fc.errors.sum()):>7} "
            f"{err_rate:>8.4f} {1:>6.2f} {noise_rate:>6.3f} {1:>6.2f} {100:>10.1f}%"
        )
    for res in results:
        rnd = next(v for k, v in res["top3"].items() if k.startswith("random"))
        print(
            f"k = {res['k']}: random 3 clusters' error rate std over draws "
            f"{rnd['error_rate_std']:.4f}; clustering {res['cluster_s']:.1f} s"
        )

    # -- held out: clusters found on one half, their error rates scored on the other ---------
    index = {c: i for i, c in enumerate(preds.classes)}
    given = np.array([index[lab] for lab in labels], np.int64)
    errors = np.asarray(preds.pred_probs).argmax(axis=1) != given
    held: dict = {}
    for k in [None] + [int(k) for k in args.ks.split(",") if k]:
        held[k] = [
            held_out(X, labels, preds.pred_probs, preds.classes, is_issue, errors, noise,
                     np.asarray(groups), k, split, args)
            for split in range(args.splits)
        ]  # fmt: skip
    k_half = default_clusters(n // 2)
    print(
        f"\nHeld out (in-sample: no): clusters found on one half (whole fold groups), the 3 "
        f"clusters chosen from that half's table, their error rate scored on the other half "
        f"(rows assigned to the nearest centroid); {args.splits} splits x 2 directions, "
        f"mean over splits. k = default is about {k_half} per half."
    )
    hdr = (
        f"{'k':>7} {'3 clusters by':<14} {'held-out err':>12} {'x avg':>6} {'noise':>6} "
        f"{'% of errors':>11} {'fit-half err':>12}"
    )
    print(hdr)
    print("-" * len(hdr))
    verdicts = []
    for k, splits in held.items():
        kname = "default" if k is None else str(k)
        base = float(np.mean([s["held_out_error_rate"] for s in splits]))
        for name in ("severity", "error rate", "error count", "random"):
            fields = ("error_rate", "ratio", "noise_rate", "error_share", "fit_error_rate")
            m = {f: float(np.mean([s["mean"][name][f] for s in splits])) for f in fields}
            label = name if name != "random" else f"random ({args.draws})"
            print(f"{kname:>7} {label:<14} {m['error_rate']:>12.4f} {m['ratio']:>6.2f} "
                  f"{m['noise_rate']:>6.3f} {100 * m['error_share']:>10.1f}% "
                  f"{m['fit_error_rate']:>12.4f}")  # fmt: skip
        print(f"{kname:>7} {'(all rows)':<14} {base:>12.4f} {1:>6.2f} {'':>6} {100:>10.1f}%")
        sev = [s["mean"]["severity"]["error_rate"] for s in splits]
        ratio = float(np.mean([s["mean"]["severity"]["ratio"] for s in splits]))
        vs = {b: paired_ci(sev, [s["mean"][b]["error_rate"] for s in splits])
              for b in ("error rate", "error count", "random")}  # fmt: skip
        holds = ratio >= ACCEPT_RATIO and vs["random"][1] > 0
        verdicts.append(
            f"k = {kname}: severity top-3 held-out error rate {float(np.mean(sev)):.4f} "
            f"({ratio:.2f}x the held-out average {base:.4f}; needs >= {ACCEPT_RATIO}x); "
            + "; ".join(
                f"vs {b} ranking {d:+.4f} [95% CI {lo:+.4f}, {hi:+.4f}]"
                for b, (d, lo, hi) in vs.items()
            )  # fmt: skip
            + f" (paired over {args.splits} splits, same run; in-sample: no): "
            + ("HOLDS" if holds else "FAILS")
        )
    print("\nverdicts (held out; the in-sample table above is for reference only):")
    for v in verdicts:
        print("  " + v)
    print(f"load average: {load_text()}")

    out = {
        "seed": args.seed,
        "rows": n,
        "cv_accuracy": preds.cv_accuracy,
        "error_rate": err_rate,
        "noise_rate": noise_rate,
        "label_issues": int(is_issue.sum()),
        "default_k": k_default,
        "top3_default_k": top,
        "by_k": results,
        "held_out": {("default" if k is None else str(k)): v for k, v in held.items()},
        "held_out_verdicts": verdicts,
        "load_average": os.getloadavg(),
    }
    path = write_json("failure_clusters.json", out)
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
