"""Failure clusters on noisy_agnews: do the most severe clusters hold markedly more errors?

Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/failure_clusters.py [--seed 0] [--ks 20,100] [--draws 20]

Data (``../shared/data``, never copied): NoisyAG-News ``train_10k.parquet`` (10,000 rows,
4 classes). The given labels are the crowd ``label`` (19.75% differ from ``gold_label``).

What the pipeline does, step by step: sentence embeddings (curate's text embedder, cached in
``benchmarks/results/cache/embeddings`` by ``label_issues.embed``), the kNN graph
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

Figures are printed and written to ``benchmarks/results/failure_clusters.json`` (git-ignored).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from label_issues import embed  # noqa: E402  (content-hash-cached)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data"
RESULTS = REPO / "benchmarks/results"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ks", default="20,100", help="extra numbers of clusters (comma-separated)")
    ap.add_argument("--draws", type=int, default=20, help="random draws of 3 clusters")
    args = ap.parse_args()

    from curate import checks
    from curate.analysis.clusters import default_clusters, failure_clusters
    from curate.config import IndexConfig, LabelConfig, PredictConfig
    from curate.index import build_graph
    from curate.predict import fold_groups, out_of_sample_pred_probs

    df = pd.read_parquet(DATA / "noisy_agnews/train_10k.parquet")
    texts, labels = df.text.tolist(), df.label.tolist()
    noise = (df.label != df.gold_label).to_numpy()
    X, hashes = embed(texts, "agnews-train")

    t0 = time.perf_counter()
    graph = build_graph(X, IndexConfig(), seed=args.seed)
    preds = out_of_sample_pred_probs(
        X, labels, fold_groups(graph, hashes, PredictConfig()), PredictConfig(), args.seed
    )
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
        "\nPooled over 3 clusters, by how they are chosen (error = argmax != given label; "
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
    print(f"load average: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")

    RESULTS.mkdir(parents=True, exist_ok=True)
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
        "load_average": os.getloadavg(),
    }
    path = RESULTS / "failure_clusters.json"
    path.write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
