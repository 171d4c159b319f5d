"""Duplicate and outlier detection quality: curate's checks vs cleanlab, against known truth.

Run from the repository root (see benchmarks/README.md for the details and the flags):

    .venv/bin/python benchmarks/duplicates.py [--part sms,banking77,agnews,clinc150]
                                              [--seed S] [--planted N]

curate's ``near_duplicate`` check is run as the pipeline's duplicates stage runs it for text by
default: on lexical vectors (``curate.embed.lexical.lexical_vectors``, hashed character 3-grams)
through a kNN graph built over them (``build_graph(L, IndexConfig(), seed)``), pairs at the
default candidate threshold (lexical cosine 0.7) verified by word edits (``max_word_edits``,
default 0.25; ``curate.checks.word_edits``). Two more curate variants: the lexical cosine alone
(``max_word_edits=None``, default threshold 0.93) and the embedding similarity
(``DuplicatesConfig(similarity="embedding")``, default 0.98). The embedding variant and every
cleanlab baseline use sentence embeddings (curate's text embedder, bundled all-MiniLM-L6-v2,
cached by content hash in ``benchmarks/results/cache/embeddings``), as a user would; wall times
exclude the embedding, but include the lexical vectors and both kNN graphs. Data is read from
``../shared/data`` and never copied.

* sms: ``sms_spam/SMSSpamCollection.tsv`` (5,574 rows). Truth = equal text bytes (403 real
  copies). curate's ``exact_duplicate`` check vs ``pandas.DataFrame.duplicated`` and cleanlab
  ``Datalab`` ``near_duplicate`` (cleanlab 2.x has no exact-duplicate issue type); plus what
  curate's ``near_duplicate`` check adds on top of the exact copies, per setting of the
  variants.
* banking77 (``banking77/train.csv``, 10,003 short queries) and agnews
  (``noisy_agnews/train_10k.parquet``, 10,000 news items, about 4x longer): ``--planted``
  (500) seeded perturbed copies of random rows with at least 3 words, each with 1 or 2 of:
  case change, punctuation added/removed, a word dropped, two adjacent words swapped, a
  one-character typo. Three precisions over the pairs found: "strict" (only (original, copy)
  pairs are true), "lenient" (also the natural duplicates already in the data: two rows within
  an edit budget after normalisation, see ``close``) and "on planted copies" (only pairs with a
  planted copy are scored; see ``CopyTruth``). Sweeps of the three variants vs ``Datalab``
  ``near_duplicate`` with its defaults; then the ``max_word_edits`` setting with the smallest
  worst-case F1 loss over both datasets.
* clinc150: ``clinc150/data_full.parquet`` (23,700 rows, 1,200 out-of-scope). curate's
  ``outlier`` check over all rows vs ``cleanlab.outlier.OutOfDistribution().fit_score`` and
  Datalab ``outlier``; then a reference setup (in-scope ``train`` rows are the reference,
  ``test`` + ``oos_test`` the queries) scored by mean cosine to the k nearest reference rows
  (computed here with faiss: curate has no reference/query outlier API) vs
  ``OutOfDistribution().fit(train).score(queries)``.

* heldout (``--part heldout``, not in the default parts): the tuning / evaluation split for
  the text defaults. The candidate threshold and ``max_word_edits`` are chosen on a grid over
  the planted copies of seeds 0 and 1 made with the edit model above (the check's own), and
  every method (the default, the lexical cosine alone, MiniLM cosine, Datalab) is reported on
  seeds 2 and 3 with that family and three that are not the check's edit model: back-off
  paraphrase rules, character noise at rates the check does not assume, case/Unicode variants
  (see ``FAMILY_RULES``), all scored with the same truth. ``--reuse`` reprints the summary from
  the scored sets of the last run (``benchmarks/results/duplicates_heldout_sets.json``).

Each part is a module of its own, imported from here: ``duplicates_sms.py``,
``duplicates_planted.py`` (banking77 and agnews), ``duplicates_clinc150.py``,
``duplicates_twentynews.py`` and ``duplicates_heldout.py``; they share ``duplicates_common.py``
(variants, graphs, scoring, Datalab), ``duplicates_planting.py`` (planted copies and their
truth) and ``duplicates_families.py`` (the held-out perturbation families).

Figures are printed and written to ``benchmarks/results/duplicates.json`` (git-ignored; a run
of some parts updates only those parts in it).
"""

from __future__ import annotations

import argparse
import json
import os

from common import DATA, RESULTS, write_json
from duplicates_clinc150 import run_clinc150
from duplicates_common import default_setting
from duplicates_heldout import run_heldout
from duplicates_planted import run_planted
from duplicates_sms import run_sms
from duplicates_twentynews import run_twentynews


def threshold_summary(results: dict) -> dict | None:
    """Per ``max_word_edits`` setting of curate's default text variant over the planted
    datasets: F1 with lenient precision and with precision on planted copies, and for each the
    setting whose worst F1 shortfall from each dataset's own best setting is smallest (minimax
    regret)."""
    parts = [p for p in ("banking77", "agnews") if p in results]
    if len(parts) < 2:
        return None
    sweeps = {p: {r["setting"]: r for r in results[p]["sweep"]} for p in parts}
    default = default_setting("words")
    out = {}
    for notion in ("lenient", "copies"):
        f, prec = f"f1_{notion}", f"precision_{notion}"
        best = {p: max(sweeps[p].values(), key=lambda r: (r[f], r["setting"])) for p in parts}
        print(
            f"\nmax_word_edits choice over the planted datasets (F1 / P / R of groups, precision "
            f"{'lenient' if notion == 'lenient' else 'on planted copies'}):"
        )
        print(
            "setting | "
            + " | ".join(f"{p:>9} F1 / P / R   " for p in parts)
            + " | max F1 shortfall"
        )
        rows = []
        for t in sorted(sweeps[parts[0]]):
            cells = [sweeps[p][t] for p in parts]
            regret = max(best[p][f] - c[f] for p, c in zip(parts, cells, strict=True))
            rows.append(dict(setting=t, regret=regret))
            mark = "*" if t == default else " "
            print(
                f"{t:6.3g}{mark} | "
                + " | ".join(f"{c[f]:.3f} / {c[prec]:.3f} / {c['recall']:.3f}" for c in cells)
                + f" | {regret:.3f}"
            )
        pick = min(rows, key=lambda r: (r["regret"], r["setting"]))
        at_default = next(r["regret"] for r in rows if r["setting"] == default)
        print(
            "best F1: "
            + ", ".join(f"{p} at {best[p]['setting']} ({best[p][f]:.3f})" for p in parts)
            + f"; smallest worst-case F1 shortfall: {pick['setting']} "
            f"({pick['regret']:.3f}; at the default {default}: {at_default:.3f})"
        )
        out[notion] = dict(
            rows=rows,
            best={p: best[p]["setting"] for p in parts},
            pick=pick["setting"],
            regret_at_default=at_default,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part", default="sms,banking77,agnews,clinc150", help="comma-separated list"
    )
    parser.add_argument("--seed", type=int, default=0, help="planted copies, kNN graph, examples")
    parser.add_argument("--planted", type=int, default=500, help="planted copies per dataset")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="heldout: read the scored planted sets of the last run, recompute only the summary",
    )
    args = parser.parse_args()
    parts = {
        "sms": lambda: run_sms(args.seed),
        "banking77": lambda: run_planted(
            "banking77", DATA / "banking77/train.csv", args.seed, args.planted
        ),
        "agnews": lambda: run_planted(
            "agnews", DATA / "noisy_agnews/train_10k.parquet", args.seed, args.planted
        ),
        "clinc150": lambda: run_clinc150(args.seed),
        "twentynews": lambda: run_twentynews(args.seed),
        "heldout": lambda: run_heldout(args.planted, args.reuse),
    }
    names = [n.strip() for n in args.part.split(",") if n.strip()]
    if unknown := sorted(set(names) - set(parts)):
        parser.error(f"unknown part(s) {unknown}; choose from {sorted(parts)}")
    results = {"args": vars(args)}
    for name in names:
        results[name] = parts[name]()
    results["threshold_choice"] = threshold_summary(results)
    results["loadavg_1_5_15"] = os.getloadavg()  # anything else running skews the wall times
    print("\nload average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*results["loadavg_1_5_15"]))
    out = RESULTS / "duplicates.json"
    if out.exists() and set(names) != set(parts):  # a partial run updates its parts only
        results = {**json.loads(out.read_text()), **results}
    write_json(out, results, end="")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
