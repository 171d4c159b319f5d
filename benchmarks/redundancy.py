"""Redundancy pruning: is curate's keep set better than simple subsets, on held-out data?

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/redundancy.py [--tuning-seeds 0,1,2] [--eval-seeds 3,4,5,6,7]
        [--sizes 1000,2500,full] [--eval-dataset agnews-gold] [--eval-dataset-sizes 1000,full]
        [--fractions 0.7,0.5] [--no-sweep] [--jobs 2]

Data (``../shared/data``, never copied): banking77 ``train.csv`` (10,003 rows, 77 intents) and
``test.csv`` (3,080 rows, 40 per intent); NoisyAG-News ``train_10k.parquet`` with its gold
labels (10,000 rows, 4 classes) and ``test.parquet``. Texts are embedded with curate's text
embedder, cached in ``benchmarks/results/cache/embeddings``.

**Tuning / evaluation split.** banking77's test set is split in two fixed, class-stratified
halves (alternate rows of each intent). The *tuning split* is banking77 with the tuning seeds,
scored on test half A; the *evaluation split* is banking77 with the evaluation seeds, scored on
test half B, and the second data set (``--eval-dataset``, gold labels) with the evaluation seeds,
scored on its whole test set; the second data set is never used for tuning. A seed draws the
stratified training subsample (sizes below the full set), curate's k-means and sampling, the
random subsets and the classifier.

Every setting that has a default is chosen on the tuning split only: the switch of
``keep: auto`` (``large_dataset_rows``: keep easy samples below it, hard ones from it, scored
over the training-set sizes ``--sizes``) and, at the full size, ``preference_strength``,
``label_agreement`` and ``threshold`` (one at a time from the defaults). Among a setting's
candidates the tuning split picks the best mean accuracy (over sizes, keep fractions and
seeds); the current default stays unless that candidate beats it with a 95% paired bootstrap
interval above 0. The evaluation split then scores ``RedundancyConfig()`` as shipped.

For each data set, size, keep fraction and seed the reference classifier
``make_model(PredictConfig(), seed)`` (logistic regression) is trained on

* curate easy / curate hard: the first ``round(f * m)`` rows of ``find_redundant``'s keep
  ranking with ``keep: easy`` / ``keep: hard`` (curate default is the one ``keep: auto`` picks);
* random: ``default_rng(seed).choice(m, round(f * m), replace=False)``;
* stratified random: a random ``f`` of every class (the class quotas alone);
* keep easy / keep hard: the ``round(f * m)`` rows with the lowest / highest ``difficulty``
  (the check's own score), one global order without class quotas or duplicate pruning;
* full: every training row.

Differences to each baseline are paired (same seed, subsample and test rows); the 95%
interval is a bootstrap over seeds and test rows. A verdict line names its baselines and says
whether the default it scores was chosen in-sample. Figures are printed and written to
``benchmarks/results/redundancy.json`` (git-ignored).
"""

from __future__ import annotations

from common import int_list, limit_threads, write_json

limit_threads()  # one BLAS thread per worker; --jobs sets the parallelism

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from redundancy_sim import STATE, job, load, test_halves  # noqa: E402

ACCEPT_FRACTION = 0.7
TUNING_DATASET = "banking77"
#: Candidate values of ``large_dataset_rows`` (100,000 was the first default).
SWITCHES = (1000, 2500, 10000, 100000)
#: Settings swept one at a time at the full size on the tuning split: (field, candidates).
SWEEP: list[tuple[str, tuple]] = [
    ("preference_strength", (1.0, 3.0, 6.0)),
    ("label_agreement", (None, 0.1, 0.2)),
    ("threshold", (0.95, 0.98, 1.0)),
]
BASELINES = ("random", "stratified random", "keep easy", "keep hard")
BOOTSTRAP = 2000


def paired(a: list[dict], b: list[dict], n_rows: int, rng) -> tuple[float, float, float]:
    """Mean accuracy difference a - b and its 95% bootstrap interval over seeds and test rows.

    ``a`` and ``b`` are runs on the same seeds, in the same order, scored on the same rows.
    """
    diff = np.stack([
        np.unpackbits(x["correct"])[:n_rows].astype(np.int8)
        - np.unpackbits(z["correct"])[:n_rows].astype(np.int8)
        for x, z in zip(a, b, strict=True)
    ])  # fmt: skip
    s, r = diff.shape
    means = np.empty(BOOTSTRAP)
    for i in range(BOOTSTRAP):
        seeds = rng.integers(0, s, s)
        cols = rng.integers(0, r, r)
        means[i] = diff[seeds][:, cols].mean()
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(diff.mean()), float(lo), float(hi)


def choose_setting(candidates: dict, current, n_rows: int, rng) -> tuple[object, dict]:
    """A setting's value on the tuning split: the candidate with the best mean accuracy, but
    the current value stays unless that candidate beats it with a 95% interval above 0.

    ``candidates`` maps each value (``current`` among them) to its runs, in the same order.
    """
    means = {v: float(np.mean([r["accuracy"] for r in runs])) for v, runs in candidates.items()}
    best = max(means, key=lambda v: means[v])
    d = paired(candidates[best], candidates[current], n_rows, rng)
    chosen = best if d[1] > 0 else current
    return chosen, dict(means=means, best=best, best_minus_current=d, chosen=chosen)


def verdict(diffs: dict[str, tuple[float, float, float]]) -> dict:
    """HOLDS when curate beats random (interval above 0) and no baseline beats curate.

    ``diffs`` maps each baseline to (curate - baseline, interval low, interval high).
    """
    better = [b for b, d in diffs.items() if d[1] > 0]
    worse = [b for b, d in diffs.items() if d[2] < 0]
    same = [b for b in diffs if b not in better and b not in worse]
    holds = "random" in better and not worse
    return dict(holds=holds, better=better, worse=worse, within_noise=same)


def plan(
    tuning_seeds: list[int],
    eval_seeds: list[int],
    sizes: list[int | None],
    eval_dataset: str,
    eval_sizes: list[int | None],
    fractions: list[float],
    sweep: list,
) -> list[tuple]:
    """The jobs: the tuning split (tuning seeds, the sweep at the full size) and the evaluation
    split (evaluation seeds on the tuning data set and on ``eval_dataset``), largest first."""
    if set(tuning_seeds) & set(eval_seeds):
        raise ValueError(f"tuning seeds {tuning_seeds} and evaluation seeds {eval_seeds} overlap")
    if eval_dataset == TUNING_DATASET:
        raise ValueError(f"the evaluation data set must not be {TUNING_DATASET}, tuned on")
    jobs = [(TUNING_DATASET, "tuning", s, seed, fractions, sweep if s is None else [])
            for s in sizes for seed in tuning_seeds]  # fmt: skip
    jobs += [(TUNING_DATASET, "evaluation", s, seed, fractions, [])
             for s in sizes for seed in eval_seeds]  # fmt: skip
    jobs += [(eval_dataset, "evaluation", s, seed, fractions, [])
             for s in eval_sizes for seed in eval_seeds]  # fmt: skip
    return sorted(jobs, key=lambda j: -(j[2] or 10**9))  # the largest first: workers end together


def fmt_ci(d: tuple[float, float, float]) -> str:
    return f"{d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}]"


def size_name(size: int | None) -> str:
    return "full" if size is None else str(size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tuning-seeds", default="0,1,2")
    ap.add_argument("--eval-seeds", default="3,4,5,6,7")
    ap.add_argument("--sizes", default="1000,2500,full", help="banking77 training-set sizes")
    ap.add_argument("--eval-dataset", default="agnews-gold", choices=["agnews-gold", "agnews"])
    ap.add_argument("--eval-dataset-sizes", default="1000,full")
    ap.add_argument("--fractions", default="0.7,0.5")
    ap.add_argument("--no-sweep", action="store_true", help="skip the settings sweep")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = ap.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from curate.checks.redundancy import keep_policy
    from curate.config import RedundancyConfig

    def sizes(text: str) -> list[int | None]:
        return [None if s == "full" else int(s) for s in text.split(",") if s]

    tuning_seeds, eval_seeds = int_list(args.tuning_seeds), int_list(args.eval_seeds)
    fractions = [float(f) for f in args.fractions.split(",")]
    tune_sizes, eval_sizes = sizes(args.sizes), sizes(args.eval_dataset_sizes)
    sweep = [] if args.no_sweep else SWEEP
    default = RedundancyConfig()
    print(f"default: {default}")

    for name in (TUNING_DATASET, args.eval_dataset):
        d = load(name)
        half_a, half_b = test_halves(d["y_test"])
        if name == TUNING_DATASET:
            d["scored"] = {"tuning": half_a, "evaluation": half_b}
        else:
            d["scored"] = {"evaluation": np.arange(len(d["y_test"]))}
        STATE[name] = d
        counts = pd.Series(d["y"]).value_counts()
        print(f"{name}: {len(d['y'])} training rows, {len(counts)} classes "
              f"({counts.min()}-{counts.max()} per class), {len(d['y_test'])} test rows; "
              + ", ".join(f"{s} scored on {len(r)}" for s, r in d["scored"].items()))  # fmt: skip
    full_size = None
    jobs = plan(tuning_seeds, eval_seeds, tune_sizes, args.eval_dataset, eval_sizes, fractions,
                sweep)  # fmt: skip
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = [r for batch in pool.map(job, jobs) for r in batch]
    print(f"{len(runs)} classifier fits in {time.perf_counter() - start:.0f} s "
          f"({args.jobs} workers)")  # fmt: skip
    rng = np.random.default_rng(0)

    def sel(dataset, split, size, method, fraction) -> list[dict]:
        got = [r for r in runs if (r["dataset"], r["split"], r["method"], r["fraction"])
               == (dataset, split, method, fraction) and r["size"] == size]  # fmt: skip
        return sorted(got, key=lambda r: r["seed"])

    def n_scored(dataset, split) -> int:
        return len(STATE[dataset]["scored"][split])

    def size_of(dataset, s) -> int:
        return len(STATE[dataset]["y"]) if s is None else s

    def acc(runs_: list[dict]) -> float:
        return float(np.mean([r["accuracy"] for r in runs_]))

    # --- tuning split: the switch of keep: auto -------------------------------------------
    ts = ",".join(map(str, tuning_seeds))
    print(f"\n## Tuning split: {TUNING_DATASET}, seeds {ts}, test half A")
    print("\n| size | keep fraction | full | curate easy | curate hard | random | stratified "
          "random | keep easy | keep hard |")  # fmt: skip
    print("| --- |" + " --- |" * 8)
    tuning_cells = []
    for s in tune_sizes:
        n = size_of(TUNING_DATASET, s)
        full = acc(sel(TUNING_DATASET, "tuning", n, "full", 1.0))
        for f in fractions:
            cells = {m: acc(sel(TUNING_DATASET, "tuning", n, m, f))
                     for m in ("curate easy", "curate hard", *BASELINES)}  # fmt: skip
            tuning_cells.append(dict(size=n, fraction=f, full=full, **cells))
            print(f"| {n} | {f} | {full:.4f} | "
                  + " | ".join(f"{v:.4f}" for v in cells.values()) + " |")  # fmt: skip

    def switch_runs(v: int, split: str, dataset: str, sz: list) -> list[dict]:
        """Runs of keep: auto with large_dataset_rows=v, over sizes, fractions, seeds."""
        out = []
        for s in sz:
            n = size_of(dataset, s)
            policy = "curate " + keep_policy(n, RedundancyConfig(large_dataset_rows=v))
            for f in fractions:
                out += sel(dataset, split, n, policy, f)
        return out

    def choose(candidates: dict, current) -> tuple[object, dict]:
        return choose_setting(candidates, current, n_scored(TUNING_DATASET, "tuning"), rng)

    switch_cands = {v: switch_runs(v, "tuning", TUNING_DATASET, tune_sizes) for v in SWITCHES}
    current = default.large_dataset_rows
    if current not in switch_cands:
        switch_cands[current] = switch_runs(current, "tuning", TUNING_DATASET, tune_sizes)
    chosen_switch, switch_info = choose(switch_cands, current)
    print("\nlarge_dataset_rows (keep: auto) on the tuning split, mean accuracy over sizes "
          f"{args.sizes} and keep fractions {args.fractions}: "
          + ", ".join(f"{v}: {m:.4f}" for v, m in switch_info["means"].items())
          + f"; best {switch_info['best']} - default {current}: "
          + fmt_ci(switch_info["best_minus_current"]) + f"; chosen: {chosen_switch}")  # fmt: skip
    choices = {"large_dataset_rows": switch_info}
    n_full = size_of(TUNING_DATASET, full_size)
    for field, values in sweep:
        cur = getattr(default, field)
        name = {v: "curate hard" if v == cur else f"{field}={v}" for v in values}
        cands = {v: [r for f in fractions
                     for r in sel(TUNING_DATASET, "tuning", n_full, name[v], f)]
                 for v in values}  # fmt: skip
        chosen, info = choose(cands, cur)
        choices[field] = info
        print(f"{field} (keep hard, {n_full} rows, tuning split): "
              + ", ".join(f"{v}: {m:.4f}" for v, m in info["means"].items())
              + f"; best {info['best']} - default {cur}: " + fmt_ci(info["best_minus_current"])
              + f"; chosen: {chosen}")  # fmt: skip
    in_tuning = {k: v["chosen"] == getattr(default, k) for k, v in choices.items()}
    unchosen = [k for k, ok in in_tuning.items() if not ok]
    swept = ", ".join(choices)
    if unchosen:
        provenance = (f"default differs from the tuning split's choice for {', '.join(unchosen)}"
                      "; not re-chosen")  # fmt: skip
    else:
        provenance = (f"default ({swept}) chosen on the tuning split ({TUNING_DATASET}, seeds "
                      f"{ts}, test half A); in-sample: no")  # fmt: skip
    print(provenance)

    # --- evaluation split: the shipped default against the baselines -----------------------
    es = ",".join(map(str, eval_seeds))
    cases = [(TUNING_DATASET, s) for s in tune_sizes]
    cases += [(args.eval_dataset, s) for s in eval_sizes]
    print(
        f"\n## Evaluation split: seeds {es}; {TUNING_DATASET} scored on test half B, "
        f"{args.eval_dataset} (never tuned on) on its whole test set"
    )
    print(
        "curate default = RedundancyConfig() (keep: auto, large_dataset_rows="
        f"{default.large_dataset_rows}); differences are paired, [95% bootstrap interval "
        "over seeds and test rows]\n"
    )
    print("| data set | size | keep fraction | full | curate default | "
          + " | ".join(f"− {b}" for b in BASELINES) + " |")  # fmt: skip
    print("| --- |" + " --- |" * (4 + len(BASELINES)))
    evaluation, verdicts = [], []
    for dataset, s in cases:
        n = size_of(dataset, s)
        k = n_scored(dataset, "evaluation")
        policy = "curate " + keep_policy(n, default)  # what keep: auto picks at n rows
        full = acc(sel(dataset, "evaluation", n, "full", 1.0))
        for f in fractions:
            ours = sel(dataset, "evaluation", n, policy, f)
            diffs = {b: paired(ours, sel(dataset, "evaluation", n, b, f), k, rng)
                     for b in BASELINES}  # fmt: skip
            row = dict(dataset=dataset, size=n, fraction=f, full=full, policy=policy,
                       curate=acc(ours), accuracy={b: acc(sel(dataset, "evaluation", n, b, f))
                                                   for b in BASELINES},
                       minus=diffs)  # fmt: skip
            evaluation.append(row)
            print(f"| {dataset} | {n} | {f} | {full:.4f} | {acc(ours):.4f} "
                  f"({policy.split()[1]}) | "
                  + " | ".join(fmt_ci(diffs[b]) for b in BASELINES) + " |")  # fmt: skip
            if f != ACCEPT_FRACTION:
                continue
            verdicts.append(dict(dataset=dataset, size=n, **verdict(diffs)))
            row["verdict"] = verdicts[-1]
    print()
    for v in verdicts:
        print(f"verdict ({v['dataset']}, {v['size']} rows, keep {ACCEPT_FRACTION}, held-out "
              f"seeds {es}; baselines from the same run: {', '.join(BASELINES)}): curate "
              f"default better than [{', '.join(v['better']) or '-'}], within noise of "
              f"[{', '.join(v['within_noise']) or '-'}], worse than "
              f"[{', '.join(v['worse']) or '-'}] -> {'HOLDS' if v['holds'] else 'FAILS'}; "
              f"{provenance}")  # fmt: skip
    print("(HOLDS: better than random with the interval above 0 and no baseline better)")
    load_avg = os.getloadavg()
    print(f"load average (1, 5, 15 min): {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")

    out = dict(default_config=dataclasses.asdict(default), tuning_seeds=tuning_seeds,
               eval_seeds=eval_seeds, tuning=tuning_cells, choices=choices,
               default_in_tuning_choice=in_tuning, evaluation=evaluation, verdicts=verdicts,
               runs=[{k: v for k, v in r.items() if k != "correct"} for r in runs],
               load_average=load_avg)  # fmt: skip
    print(f"written to {write_json('redundancy.json', out, default=str, end='')}")


if __name__ == "__main__":
    main()
