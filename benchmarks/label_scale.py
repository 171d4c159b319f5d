"""Scale of the label stages given embeddings: 200,000 rows x 20 classes by default.

Data: a seeded Gaussian mixture (one unit-norm centre per class, isotropic noise), L2-normalised
like curate's embeddings, with 10% of labels flipped uniformly to another class.

Measured in one run, each in its own child process so that peak memory is attributable:

* **curate**: the kNN graph (``curate.index.build_graph``: exact FAISS up to 50,000 rows, HNSW
  above) and ``curate.model.predict.fold_groups`` on it (near-copies share a fold), then
  ``curate.model.predict.out_of_sample_pred_probs`` (5-fold grouped CV logistic regression)
  then the registered ``label`` check (cleanlab issues, scores, summary with intervals);
* **baseline**: ``sklearn.model_selection.cross_val_predict(LogisticRegression(...),
  method="predict_proba")`` then ``cleanlab.filter.find_label_issues`` with its defaults.

    .venv/bin/python benchmarks/label_scale.py [--rows 200000] [--classes 20] [--dim 64]

Two verdict lines close the run, each naming the baseline from the same run (``verdicts``):
*quality* holds when curate's precision and recall against the flipped labels are each at most
``QUALITY_SLACK`` below the baseline's; *cost* holds when curate's total time (kNN groups,
predict, label) is at most ``COST_BAR`` times the baseline's (the label check's cost bar).
Nothing is tuned on this data: the kNN index defaults were chosen on ``knn_scale.py``'s
synthetic data (tuning seed 0, another generator), the reference model and the label check run
with scikit-learn's and cleanlab's defaults, so the verdicts say "in-sample: no".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import common
import numpy as np
from common import (
    baseline_label_issues,
    baseline_pred_probs,
    import_baselines,
    peak_rss_mib,
    write_json,
)

RESULTS = common.RESULTS / "label_scale.json"
#: Largest shortfall of curate's precision or recall against the baseline's that still holds.
QUALITY_SLACK = 0.01
#: Largest ratio of curate's total time to the baseline's that still holds.
COST_BAR = 3.0
IN_SAMPLE = (
    "in-sample: no (nothing tuned on this data: index defaults chosen on knn_scale.py's "
    "synthetic seed 0, reference model and label check at scikit-learn's / cleanlab's defaults)"
)


def verdicts(results: list[dict]) -> list[dict]:
    """The quality and cost verdicts from one run's results (``method`` "curate" and
    "baseline"). A missing method, or a figure it lacks, FAILS."""
    by = {r.get("method"): r for r in results}
    cur, base = by.get("curate"), by.get("baseline")
    keys = ("precision", "recall", "total_s")
    if cur is None or base is None or any(k not in r for r in (cur, base) for k in keys):
        missing = "baseline" if cur is not None else "curate"
        line = f"FAILS: no {missing} figures from this run; {IN_SAMPLE}"
        return [
            dict(claim="quality", holds=False, line=f"verdict (quality): {line}"),
            dict(claim="cost", holds=False, line=f"verdict (cost): {line}"),
        ]
    q_ok = all(cur[k] >= base[k] - QUALITY_SLACK for k in ("precision", "recall"))
    ratio = cur["total_s"] / base["total_s"] if base["total_s"] > 0 else float("inf")
    c_ok = ratio <= COST_BAR
    quality = (
        f"verdict (quality): curate precision / recall {cur['precision']:.3f} / "
        f"{cur['recall']:.3f} vs baseline (cross_val_predict + cleanlab find_label_issues, same "
        f"run) {base['precision']:.3f} / {base['recall']:.3f}; holds when neither is more than "
        f"{QUALITY_SLACK} below -> {'HOLDS' if q_ok else 'FAILS'}; {IN_SAMPLE}"
    )
    cost = (
        f"verdict (cost): curate total {cur['total_s']:.1f} s vs baseline {base['total_s']:.1f} s "
        f"(same run) = {ratio:.2f}x; holds at <= {COST_BAR:g}x -> "
        f"{'HOLDS' if c_ok else 'FAILS'}; {IN_SAMPLE}"
    )
    return [
        dict(claim="quality", holds=q_ok, line=quality),
        dict(claim="cost", holds=c_ok, line=cost, ratio=ratio),
    ]


def make_data(rows: int, classes: int, dim: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = rng.integers(0, classes, rows)
    # Noise of total norm ~1.2 around unit centres: classes overlap a little, as real ones do.
    spread = 1.2 / np.sqrt(dim)
    X = (centres[truth] + rng.normal(scale=spread, size=(rows, dim))).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    given = truth.copy()
    flip = rng.random(rows) < noise
    given[flip] = (truth[flip] + rng.integers(1, classes, flip.sum())) % classes
    return X, truth, given


def worker(method: str, rows: int, classes: int, dim: int, noise: float) -> None:
    """Child-process body: run one method, print one JSON line."""
    X, truth, given = make_data(rows, classes, dim, noise)
    labels = [f"c{k:02d}" for k in given]
    t0 = time.perf_counter()
    if method == "curate":
        from curate import checks
        from curate.config import IndexConfig, LabelConfig, PredictConfig
        from curate.index import build_graph
        from curate.model.predict import fold_groups, out_of_sample_pred_probs

        ids = [str(i) for i in range(rows)]
        t_groups = time.perf_counter()
        graph = build_graph(X, IndexConfig())  # the knn stage: exact or IVF by size
        groups = fold_groups(graph, ids, PredictConfig())  # near-copies share a fold
        groups_s = time.perf_counter() - t_groups
        p = out_of_sample_pred_probs(X, labels, groups, PredictConfig(), seed=0)
        t1 = time.perf_counter()
        result = checks.get("label")(
            sample_ids=ids,
            splits=["train"] * rows,
            labels=labels,
            content_hashes=ids,
            pred_probs=p.pred_probs,
            classes=p.classes,
            cfg=LabelConfig(),
            seed=0,
        )
        flagged = np.array(result.table.column("is_label_issue").to_pylist())
    else:
        import_baselines()  # inside predict_s, as a script importing them would be
        P = baseline_pred_probs(X, given)
        t1 = time.perf_counter()
        flagged = baseline_label_issues(given, P)
        groups_s = 0.0
    t2 = time.perf_counter()
    wrong = given != truth
    tp = int((flagged & wrong).sum())
    print(
        json.dumps(
            {
                "method": method,
                "groups_s": groups_s,
                "predict_s": t1 - t0,
                "label_s": t2 - t1,
                "total_s": t2 - t0,
                "flagged": int(flagged.sum()),
                "precision": tp / max(int(flagged.sum()), 1),
                "recall": tp / max(int(wrong.sum()), 1),
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--dim", type=int, default=64, help="embedding dimension (MiniLM: 384)")
    parser.add_argument("--noise", type=float, default=0.10)
    parser.add_argument("--worker", choices=["curate", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = (args.rows, args.classes, args.dim, args.noise)
    if args.worker:
        worker(args.worker, *shape)
        return
    results = []
    for method in ("curate", "baseline"):
        print(f"running {method} on {args.rows} x {args.classes} classes ...", file=sys.stderr)
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            method,
            "--rows",
            str(args.rows),
            "--classes",
            str(args.classes),
            "--dim",
            str(args.dim),
            "--noise",
            str(args.noise),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"\n{args.rows} rows, {args.classes} classes, {args.dim}-d, {args.noise:.0%} label noise")
    print(
        f"{'method':<10} {'kNN groups s':>12} {'predict s':>10} {'label s':>8} {'total s':>8} "
        f"{'peak RSS MiB':>13} "
        f"{'flagged':>8} {'precision':>9} {'recall':>7}"
    )
    for r in results:
        cells = [
            f"{r['method']:<10}",
            f"{r['groups_s']:>12.1f}",
            f"{r['predict_s']:>10.1f}",
            f"{r['label_s']:>8.1f}",
            f"{r['total_s']:>8.1f}",
            f"{r['peak_rss_mib']:>13.0f}",
            f"{r['flagged']:>8}",
            f"{r['precision']:>9.3f}",
            f"{r['recall']:>7.3f}",
        ]
        print(" ".join(cells))
    ratio = results[0]["total_s"] / results[1]["total_s"]
    print(f"curate/baseline total time: {ratio:.2f}")
    found = verdicts(results)
    for v in found:
        print(v["line"])
    out = {"args": vars(args), "results": results, "verdicts": found}
    write_json(RESULTS, out, default=None)


if __name__ == "__main__":
    main()
