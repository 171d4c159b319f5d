"""Active learning: a default tuned on one part, judged on held-out parts vs margin and random.

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/active_learning.py [--seeds 5] [--tuning-seeds 3] [--rounds 8]
                                                   [--batch 100] [--initial 200] [--variants]
                                                   [--dataset banking77|clinc150] [--jobs 2]

A simulation on banking77 (``../shared/data``, never copied): ``train.csv`` (10,003 rows, 77
intents) is the pool, its labels hidden until a row is picked; ``test.csv`` (3,080 rows) scores.
clinc150 (``clinc150/data_full.parquet``): its in-scope ``train`` split (15,000 rows, 150
intents) is the pool and its ``test`` split (4,500 rows) scores; out-of-scope rows are left out.
Texts are embedded with curate's text embedder (MiniLM, L2-normalised), cached by content hash
in ``benchmarks/results/cache/embeddings`` (``common.embed``).

**Tuning / evaluation split.** Configurations are compared only on the *tuning part*: the
``--dataset``'s training pool with ``--tuning-fraction`` (20%) of it held out as tuning test
rows (a fixed permutation), seeds ``TUNING_SEED0`` (100), 101, ... (``--tuning-seeds``). The
configuration needing the fewest labels to reach random's final accuracy there (among those
meeting the acceptance below; ties: higher mean accuracy over the rounds) is the *tuning
choice*, and curate's default should be it. The verdicts come only from *held-out parts*, which
share no seed and no scoring row with the tuning part: the ``--dataset``'s real test split with
the full training pool as the pool, and the ``--second-dataset`` (never tuned on), each with
evaluation seeds 0 .. ``--seeds`` - 1. Both parts are printed.

Every strategy starts from the same ``--initial`` random rows per seed
(``default_rng(seed).choice(n, initial, replace=False)``); then ``--rounds`` rounds of
``--batch`` picks. Each round the reference classifier ``make_model(PredictConfig(), seed)``
(logistic regression) is refitted on the labelled rows and scored on the part's test rows.
Strategies: random (``default_rng([seed, 1]).choice`` of the unlabelled rows); margin
(``select_batch`` with weights {"uncertainty": 1, "diversity": 0, "similarity": 0}); curate
default (``ActiveLearningConfig()``); the tuning choice and the runner-up (the best of the
tuning part other than the choice and margin); and on the tuning part the grid
(``TUNING_GRID``, or the whole ``VARIANTS`` sweep with ``--variants``). A configuration with a
similarity weight gets ``targets`` as the pipeline computes them: out-of-fold pred_probs on the
labelled rows (``KFold(5, shuffle=True, random_state=seed)``), then ``failure_clusters(labels,
oof, classes, labelled_emb, seed=seed)``; the targets are the embeddings of the misclassified
labelled members of its ``cfg.target_clusters`` top clusters.

Pool pred_probs come from the model fitted on all labelled rows, mapped into the class order.
Label savings: the labels a strategy needs (linear interpolation on its mean curve) to reach
the mean accuracy random reaches at the end. Each held-out verdict line holds when curate's
default reaches it with at least 25% fewer labels, its mean is never below random's by more
than random's std at any round, its mean accuracy over the rounds beats random's (paired 95%
t-interval over the seeds above 0) and is not below plain margin's (the interval reaches 0, or
the two are the same configuration); it also gives the final accuracy's paired differences and
says where the default was chosen.

Figures are printed and written to ``benchmarks/results/active_learning.json`` (git-ignored).
"""

from __future__ import annotations

from common import limit_threads, write_json

limit_threads()  # one BLAS thread per worker; --jobs sets the parallelism

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from active_learning_report import (  # noqa: E402
    ACCEPT_SAVINGS,
    choose,
    curve_table,
    paired,
    paired_text,
)
from active_learning_sim import load_part, make_cfg, simulate, tuning_split  # noqa: E402

TUNING_SEED0 = 100  # tuning seeds start here; evaluation seeds are 0, 1, ...


def W(u: float, d: float, s: float) -> dict:  # noqa: N802
    return {"uncertainty": u, "diversity": d, "similarity": s}


MARGIN = {"weights": W(1.0, 0.0, 0.0)}
FORMER_DEFAULT = {"weights": W(1.0, 0.25, 0.1)}
# (name, ActiveLearningConfig overrides). Run with --variants; each changes the default.
VARIANTS: list[tuple[str, dict]] = [
    ("u1 d1 s0 (no similarity)", {"weights": W(1.0, 1.0, 0.0)}),
    ("u1 d0 s0.5 (no diversity)", {"weights": W(1.0, 0.0, 0.5)}),
    ("u1 d0.5 s0.5", {"weights": W(1.0, 0.5, 0.5)}),
    ("u1 d2 s0.5", {"weights": W(1.0, 2.0, 0.5)}),
    ("u1 d4 s0", {"weights": W(1.0, 4.0, 0.0)}),
    ("u1 d1 s0.1", {"weights": W(1.0, 1.0, 0.1)}),
    ("u1 d1 s0.25", {"weights": W(1.0, 1.0, 0.25)}),
    ("u1 d1 s1", {"weights": W(1.0, 1.0, 1.0)}),
    ("u0 d1 s0 (coreset only)", {"weights": W(0.0, 1.0, 0.0)}),
    ("u0 d0 s1 (similarity only)", {"weights": W(0.0, 0.0, 1.0)}),
    ("u1 d0.05 s0", {"weights": W(1.0, 0.05, 0.0)}),
    ("u1 d0.1 s0", {"weights": W(1.0, 0.1, 0.0)}),
    ("u1 d0.25 s0", {"weights": W(1.0, 0.25, 0.0)}),
    ("u1 d0.5 s0", {"weights": W(1.0, 0.5, 0.0)}),
    ("u1 d0 s0.02", {"weights": W(1.0, 0.0, 0.02)}),
    ("u1 d0 s0.05", {"weights": W(1.0, 0.0, 0.05)}),
    ("u1 d0 s0.1", {"weights": W(1.0, 0.0, 0.1)}),
    ("u1 d0.05 s0.01", {"weights": W(1.0, 0.05, 0.01)}),
    ("u1 d0.1 s0.02", {"weights": W(1.0, 0.1, 0.02)}),
    ("u1 d0.1 s0.05", {"weights": W(1.0, 0.1, 0.05)}),
    ("u1 d0.25 s0.1", {"weights": W(1.0, 0.25, 0.1)}),
    ("u1 d0.1 s0.05 target_clusters=10", {"weights": W(1.0, 0.1, 0.05), "target_clusters": 10}),
    ("entropy", {"uncertainty": "entropy"}),
    ("least_confidence", {"uncertainty": "least_confidence"}),
    ("entropy u1 d0 s0", {"uncertainty": "entropy", "weights": W(1.0, 0.0, 0.0)}),
    ("least_confidence u1 d0 s0", {"uncertainty": "least_confidence", "weights": W(1.0, 0.0, 0.0)}),
    ("entropy u1 d1 s0", {"uncertainty": "entropy", "weights": W(1.0, 1.0, 0.0)}),
    ("target_clusters=1", {"target_clusters": 1}),
    ("target_clusters=10", {"target_clusters": 10}),
    ("neighbours=3", {"neighbours": 3}),
    ("neighbours=30", {"neighbours": 30}),
]

# The configurations compared on the tuning part by default (besides margin and the former
# default); --variants compares the whole sweep.
TUNING_GRID = [
    "u1 d0 s0.02",
    "u1 d0 s0.05",
    "u1 d0.05 s0",
    "u1 d0.1 s0",
    "u1 d0.1 s0.05",
    "entropy u1 d0 s0",
    "least_confidence u1 d0 s0",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="evaluation seeds: 0 .. N-1")
    ap.add_argument(
        "--tuning-seeds",
        type=int,
        default=3,
        help=f"tuning seeds: {TUNING_SEED0} .. {TUNING_SEED0} + N - 1 (disjoint from --seeds)",
    )
    ap.add_argument(
        "--tuning-fraction",
        type=float,
        default=0.2,
        help="share of the tuning data set's training pool held out as the tuning test rows",
    )
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--initial", type=int, default=200, help="random labelled rows to start from")
    ap.add_argument("--variants", action="store_true", help="tune over the whole sweep")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument(
        "--dataset",
        default="banking77",
        choices=["banking77", "clinc150"],
        help="the data set tuned on (on a split of its training pool) and evaluated first",
    )
    ap.add_argument(
        "--second-dataset",
        default="other",
        choices=["other", "none", "banking77", "clinc150"],
        help="a data set evaluated only (never tuned on); 'other': the one not tuned on",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="also tune over this configuration of the sweep (repeatable; names as in VARIANTS)",
    )
    ap.add_argument(
        "--pool-copies",
        type=int,
        default=1,
        help="give every pool row this many near-copies in all (same label, embedding plus "
        "noise of cosine ~0.99): a pool full of near-duplicates, where a batch of pure margin "
        "picks wastes labels on copies",
    )
    args = ap.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from curate.config import ActiveLearningConfig

    wall = time.perf_counter()
    eval_seeds = list(range(args.seeds))
    tuning_seeds = [TUNING_SEED0 + i for i in range(args.tuning_seeds)]
    if set(eval_seeds) & set(tuning_seeds):
        raise SystemExit(
            f"--seeds {args.seeds} overlaps the tuning seeds {tuning_seeds}: the verdict would "
            f"be in-sample. Use fewer than {TUNING_SEED0} evaluation seeds."
        )
    default = ActiveLearningConfig()
    print(f"default: {default}")

    # -- tuning: choose a configuration on the tuning split with the tuning seeds ------------
    known = dict(VARIANTS)
    unknown = [v for v in args.variant if v not in known]
    if unknown:
        raise SystemExit(f"unknown --variant {unknown}; choose from {list(known)}")
    grid = [("margin", MARGIN), ("former default", FORMER_DEFAULT)] + (
        VARIANTS if args.variants else [(v, known[v]) for v in TUNING_GRID + args.variant]
    )
    grid = list(dict(grid).items())  # a name given twice runs once
    first = load_part(args.dataset, args.pool_copies)
    tuning = tuning_split(first, args.tuning_fraction)
    tuned = simulate(tuning, [*grid, ("random", {})], tuning_seeds, args)
    names = [m for m, _ in grid]
    choice = choose(tuned, names)
    runner_up = choose(tuned, [m for m in names if m not in (choice, "margin")])
    choice_cfg = make_cfg(dict(grid)[choice], args.batch)
    default_is_choice = choice_cfg == dataclasses.replace(default, batch_size=args.batch)
    jt = tuned["judged"]
    print("\n| configuration (tuning part) | labels to reach | savings | mean acc over rounds "
          "| worst gap to random |")  # fmt: skip
    print("| --- | --- | --- | --- | --- |")
    for m in sorted(names, key=lambda m: -jt[m]["aulc"]):
        need = "not reached" if jt[m]["labels_to_reach"] is None else (
            f"{jt[m]['labels_to_reach']:.0f}")  # fmt: skip
        sav = "-" if jt[m]["savings"] is None else f"{jt[m]['savings']:+.1%}"
        mark = " **chosen**" if m == choice else ""
        print(f"| {m}{mark} | {need} | {sav} | {jt[m]['aulc']:.4f} | {jt[m]['worst_gap']:+.4f} "
              f"@ {jt[m]['worst_gap_labels']} |")  # fmt: skip
    print(f"\ntuning choice ({len(names)} configurations, {tuning['name']}, seeds "
          f"{tuning_seeds}): {choice}; curate's default "
          f"{'IS' if default_is_choice else 'is NOT'} the tuning choice; runner-up (other than "
          f"margin): {runner_up}")  # fmt: skip

    # -- evaluation: the default, the tuning choice, margin and random on disjoint data -------
    second = {"other": "clinc150" if args.dataset == "banking77" else "banking77"}.get(
        args.second_dataset, args.second_dataset
    )
    parts = [{**first, "name": f"{args.dataset} test split"}]
    if second not in ("none", args.dataset):
        parts.append({**load_part(second, args.pool_copies), "name": f"{second} test split"})
    strategies = [("curate default", {}), ("tuning choice", dict(grid)[choice]),
                  ("margin", MARGIN), ("runner-up", dict(grid)[runner_up]),
                  ("random", {})]  # fmt: skip
    held_out, verdicts = [], []
    for part in parts:
        res = simulate(part, strategies, eval_seeds, args)
        curve_table(res, ["random", "margin", "runner-up", "curate default"])
        st, j = res["stats"], res["judged"]["curate default"]
        vs_runner = paired(st["curate default"], st["runner-up"])
        vs_margin = paired(st["curate default"], st["margin"])
        vs_random = paired(st["curate default"], st["random"])
        final_margin = paired(st["curate default"], st["margin"], "final")
        final_random = paired(st["curate default"], st["random"], "final")
        # Not worse than plain margin: the paired interval of the mean accuracy over the rounds
        # reaches 0 or above; better than random: its interval lies above 0.
        holds = (j["holds"] and (vs_margin["identical"] or vs_margin["high"] >= 0)
                 and vs_random["low"] > 0)  # fmt: skip
        target = float(st["random"]["mean"][-1])
        need = "not reached" if j["labels_to_reach"] is None else f"{j['labels_to_reach']:.0f}"
        line = (
            f"{part['name']}, seeds {eval_seeds} (held out; default chosen in-sample: no, "
            f"chosen on {tuning['name']} seeds {tuning_seeds}; "
            f"default {'=' if default_is_choice else '!='} tuning choice): curate default "
            f"reaches random's final {target:.4f} at {need} labels (needs <= "
            f"{(1 - ACCEPT_SAVINGS) * res['labels'][-1]:.0f}); mean accuracy over rounds "
            f"{paired_text('plain margin', vs_margin)}; {paired_text('random', vs_random)}; "
            f"{paired_text(f'the tuning runner-up ({runner_up})', vs_runner)}; "
            f"final accuracy {paired_text('plain margin', final_margin)}; "
            f"{paired_text('random', final_random)}: {'HOLDS' if holds else 'FAILS'}"
        )
        verdicts.append(line)
        held_out.append({"part": part["name"], "holds": holds, "vs_margin": vs_margin,
                         "runner_up": runner_up, "vs_runner_up": vs_runner,
                         "vs_random": vs_random, "final_vs_margin": final_margin,
                         "final_vs_random": final_random, "result": res})  # fmt: skip

    print("\nverdicts (tuning part above; every verdict from the held-out parts):")
    print(f"tuning ({tuning['name']}, seeds {tuning_seeds}, in-sample for the choice only): "
          f"{choice} chosen; its mean accuracy over rounds {jt[choice]['aulc']:.4f}, "
          f"plain margin {jt['margin']['aulc']:.4f}, random "
          f"{float(tuned['stats']['random']['aulc'].mean()):.4f}")  # fmt: skip
    for line in verdicts:
        print("acceptance, " + line)
    for res in [tuned] + [h["result"] for h in held_out]:
        for m in ("curate default", "margin", "runner-up", "random"):
            rs = [i["batch_classes"] for r in res["runs"] if r["strategy"] == m
                  for i in r["rounds"]]  # fmt: skip
            if rs:
                print(f"  {res['name']}, {m}: {np.mean(rs):.1f} distinct classes per batch")
    seconds = time.perf_counter() - wall
    load_avg = os.getloadavg()
    print(f"\nwall time: {seconds:.0f} s")
    print(f"load average (1, 5, 15 min): {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")

    def dump(res: dict) -> dict:
        return {"name": res["name"], "seeds": res["seeds"], "labels": res["labels"],
                "strategies": {m: {"mean": s["mean"].tolist(), "std": s["std"].tolist(),
                                   "aulc_per_seed": s["aulc"].tolist(), **res["judged"][m]}
                               for m, s in res["stats"].items()},
                "runs": res["runs"]}  # fmt: skip

    out = dict(dataset=args.dataset, second_dataset=second, pool_copies=args.pool_copies,
               tuning_seeds=tuning_seeds, evaluation_seeds=eval_seeds,
               tuning_fraction=args.tuning_fraction, initial=args.initial, rounds=args.rounds,
               batch=args.batch, default_config=dataclasses.asdict(default),
               tuning_choice=choice, tuning_runner_up=runner_up,
               default_is_tuning_choice=default_is_choice,
               acceptance_savings=ACCEPT_SAVINGS, tuning=dump(tuned),
               held_out=[{k: (dump(v) if k == "result" else v) for k, v in h.items()}
                         for h in held_out],
               verdicts=verdicts, wall_seconds=seconds, load_average=load_avg)  # fmt: skip
    name = "active_learning" + ("" if args.dataset == "banking77" else f"_{args.dataset}")
    name += "" if args.pool_copies == 1 else f"_copies{args.pool_copies}"
    print(f"written to {write_json(f'{name}.json', out, default=str, end='')}")


if __name__ == "__main__":
    main()
