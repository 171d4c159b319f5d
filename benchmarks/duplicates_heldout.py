"""``--part heldout``: defaults chosen on the tuning split, every method scored on held-out
seeds and perturbation families."""

from __future__ import annotations

import json
import time
from collections import Counter

import numpy as np
from common import (
    DATA,
    REPO,
    RESULTS,
    embed,  # the shared, content-hash-cached text embedding
)
from duplicates_common import (
    components,
    datalab_near_duplicates,
    f1,
    grouped_scores,
    keys,
    lexical_graph,
    natural_pairs,
    near_groups,
    score_pairs,
    variant_config,
)
from duplicates_families import (
    EVAL_SEEDS,
    FAMILIES,
    GRID_THRESHOLDS,
    GRID_WORD_EDITS,
    HELDOUT_SETS,
    MIN_RECALL,
    TUNING_FAMILY,
    TUNING_SEEDS,
    plant_family,
)
from duplicates_planting import CopyTruth, copy_pairs, expand


def set_scores(root: np.ndarray, src: np.ndarray, n0: int, copy_truth, lenient) -> dict:
    """A grouping's figures on one planted set, the same for every method: recall (copy in
    its source's group), precision over the group pairs that include a planted copy with the
    source as truth ("source": correct only when both rows come from the same source row; no
    edit model) and with the edit budget (``CopyTruth``), and lenient precision over all
    group pairs (edit budget). F1 with recall for each."""
    n = len(root)
    sources = src[n0:]
    recall = float((root[sources] == root[n0:]).mean())
    cp = copy_pairs(root, n0)
    p_src = float((src[cp // n] == src[cp % n]).mean()) if len(cp) else 1.0
    p_edit = float(copy_truth.correct(cp).mean()) if len(cp) else 1.0
    p_len = grouped_scores(root, lenient, lenient[:0])["precision"]
    return dict(recall=recall, copy_pairs=int(len(cp)), p_source=p_src, p_edit=p_edit,
                p_lenient=p_len, f1_source=f1(p_src, recall), f1_edit=f1(p_edit, recall),
                f1_lenient=f1(p_len, recall))  # fmt: skip


def pair_scores(pairs: np.ndarray, src: np.ndarray, n0: int, copy_truth, lenient) -> dict:
    """:func:`set_scores` for a method that returns pairs, not groups (Datalab's sets): a
    planted pair is found when it is one of the pairs."""
    n = len(src)
    planted = keys(src[n0:], np.arange(n0, n), n)
    recall = float(np.isin(planted, pairs).mean())
    cp = copy_truth.involving(pairs)
    p_src = float((src[cp // n] == src[cp % n]).mean()) if len(cp) else 1.0
    p_edit = float(copy_truth.correct(cp).mean()) if len(cp) else 1.0
    p_len = score_pairs(pairs, lenient)["precision"]
    return dict(recall=recall, copy_pairs=int(len(cp)), p_source=p_src, p_edit=p_edit,
                p_lenient=p_len, f1_source=f1(p_src, recall), f1_edit=f1(p_edit, recall),
                f1_lenient=f1(p_len, recall))  # fmt: skip


def score_planted_set(name, orig, orig_labels, natural, family, seed, planted) -> dict:
    """One planted set (``family``, ``seed``; ``natural``: the originals' natural pairs, keyed
    over the originals): curate over the (threshold, max_word_edits)
    grid, its default checked against the check itself, the cosine alone and MiniLM cosine at
    their defaults, Datalab near_duplicate; every method scored by :func:`set_scores` /
    :func:`pair_scores` on the same planted pairs with the same truth."""
    from curate.checks.grouping import keep_rank
    from curate.checks.word_edits import edit_budget, tokenise, word_edits
    from curate.config import DuplicatesConfig, IndexConfig
    from curate.index import build_graph
    from curate.index.components import edges_from_graph, star_groups

    copies, sources, kinds = plant_family(orig, planted, seed, family)
    texts = orig + copies
    n, n0 = len(texts), len(orig)
    labels = orig_labels + [orig_labels[i] for i in sources]
    X, hashes = embed(texts, f"{name}-dup")
    src = np.arange(n)
    src[n0:] = sources
    natural = keys(natural // n0, natural % n0, n)  # pair keys of the originals, re-encoded
    lenient = np.union1d(keys(sources, np.arange(n0, n), n), expand(natural, src, n))
    copy_truth = CopyTruth(texts, src, n0, natural)
    L, lgraph, _ = lexical_graph(texts, seed)
    graph = build_graph(X, IndexConfig(), seed=seed)
    rank = keep_rank(labels, None, None, DuplicatesConfig().keep_split_order, n)
    cos = {
        "lexical": np.einsum("ij,ij->i", L[sources], L[n0:]),
        "embedding": np.einsum("ij,ij->i", X[sources], X[n0:]),
    }

    def grouped(a, b):
        return star_groups(n, a, b, rank=rank, keys=hashes)[0]

    def edges(g, threshold):  # as near_duplicate_pairs: unique keys, a < b, sorted
        a, b, s = edges_from_graph(g.ids, g.sims, threshold)
        k, first = np.unique(np.minimum(a, b) * n + np.maximum(a, b), return_index=True)
        return k // n, k % n, s[first]

    # Word edits of every candidate at the lowest grid threshold, counted once.
    a, b, s = edges(lgraph, min(GRID_THRESHOLDS))
    words = tokenise(texts)
    top = max(GRID_WORD_EDITS)
    count = np.array(
        [
            word_edits(words[x], words[y], limit=edit_budget(len(words[x]), len(words[y]), top))
            for x, y in zip(a.tolist(), b.tolist(), strict=True)
        ],
        np.int64,
    )
    length = np.array([max(len(words[x]), len(words[y])) for x, y in zip(a, b, strict=True)])
    methods, grid = {}, {}
    for t in GRID_THRESHOLDS:
        for m in GRID_WORD_EDITS:
            budget = np.array([edit_budget(w, w, m) for w in length.tolist()], np.int64)
            keep = (s >= t) & (count <= budget)
            grid[t, m] = set_scores(grouped(a[keep], b[keep]), src, n0, copy_truth, lenient)
    # The grid's default cell must be what the check itself returns.
    cfg = variant_config("words")
    root, _ = near_groups(L, lgraph, hashes, cfg, labels, texts)
    default = set_scores(root, src, n0, copy_truth, lenient)
    assert default == grid[cfg.threshold, cfg.max_word_edits], "grid differs from the check"
    lex = variant_config("lexical")
    la, lb, _ = edges(lgraph, lex.threshold)
    methods[f"curate lexical cosine alone {lex.threshold}"] = set_scores(
        grouped(la, lb), src, n0, copy_truth, lenient
    )
    emb = variant_config("embedding")
    ea, eb, _ = edges(graph, emb.threshold)
    methods[f"curate MiniLM cosine {emb.threshold}"] = set_scores(
        grouped(ea, eb), src, n0, copy_truth, lenient
    )
    dl_pairs, _, dl = datalab_near_duplicates(X)
    methods["Datalab near_duplicate (its pairs)"] = pair_scores(
        dl_pairs, src, n0, copy_truth, lenient
    )
    methods["Datalab near_duplicate (sets joined)"] = set_scores(
        components(n, dl_pairs), src, n0, copy_truth, lenient
    )
    kinds_count = {"+".join(k): v for k, v in Counter(kinds).items()}
    return dict(family=family, seed=seed, copies=len(copies), kinds=kinds_count,
                grid={f"{t} {m}": r for (t, m), r in grid.items()}, methods=methods,
                datalab_cosine=dl["cosine_equivalent"],
                cosine_median={k: float(np.median(v)) for k, v in cos.items()},
                examples=[(orig[sources[i]], copies[i]) for i in range(3)])  # fmt: skip


def mean_of(sets: list[dict], pick) -> dict:
    rows = [pick(s) for s in sets]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def choose_default(
    tuning: dict[str, list[dict]], notion: str = "edit", min_recall: float = MIN_RECALL
) -> dict:
    """The split rule: among the grid cells ``(threshold, max_word_edits)`` whose recall
    (mean over the tuning seeds) is at least ``min_recall`` on every dataset (all cells if
    none is), the one with the smallest worst-case F1 shortfall (``f1_<notion>``, mean over the
    tuning seeds) from each dataset's best cell; ties go to the cell nearest curate's current
    default. Only ``tuning`` (per dataset, the planted sets of the tuning split) is read."""
    cfg = variant_config("words")
    cells = list(next(iter(tuning.values()))[0]["grid"])
    f = f"f1_{notion}"
    mean = {p: {c: mean_of(sets, lambda s, c=c: s["grid"][c]) for c in cells}
            for p, sets in tuning.items()}  # fmt: skip
    eligible = [c for c in cells if all(m[c]["recall"] >= min_recall for m in mean.values())]
    eligible = eligible or cells
    score = {p: {c: m[c][f] for c in cells} for p, m in mean.items()}
    best = {p: max(v[c] for c in eligible) for p, v in score.items()}
    regret = {c: max(best[p] - score[p][c] for p in score) for c in cells}

    def near_default(c):
        t, m = map(float, c.split())
        return abs(t - cfg.threshold) + abs(m - cfg.max_word_edits)

    pick = min(eligible, key=lambda c: (round(regret[c], 6), near_default(c)))
    t, m = map(float, pick.split())
    return dict(threshold=t, max_word_edits=m, regret=regret, score=score, cell=pick,
                eligible=eligible, min_recall=min_recall)  # fmt: skip


def run_heldout(planted: int, reuse: bool = False) -> dict:
    """Tuning / evaluation split for curate's text near-duplicate defaults on banking77 and
    agnews: the grid and every method on the tuning sets (seeds ``TUNING_SEEDS``, family
    ``TUNING_FAMILY``) and on the evaluation sets (seeds ``EVAL_SEEDS``, all ``FAMILIES``).
    The per-set figures are saved to ``HELDOUT_SETS``; with ``reuse`` they are read from there
    (same planted count) and only the summary is recomputed."""
    saved = json.loads(HELDOUT_SETS.read_text()) if reuse and HELDOUT_SETS.exists() else None
    if saved is not None and saved["planted"] == planted:
        sets = saved["sets"]
    else:
        sets = heldout_sets(planted)
        RESULTS.mkdir(parents=True, exist_ok=True)
        HELDOUT_SETS.write_text(json.dumps({"planted": planted, "sets": sets}, default=float))
    return summarise_heldout(sets, planted)


def heldout_sets(planted: int) -> dict:
    """Every planted set of the split (see :func:`run_heldout`), scored: per dataset,
    ``{"tuning": [...], "evaluation": [...]}``."""
    import pandas as pd

    from curate.config import IndexConfig
    from curate.index import build_graph

    cfg = variant_config("words")
    current = f"{cfg.threshold} {cfg.max_word_edits}"
    data = {"banking77": (DATA / "banking77/train.csv", "category"),
            "agnews": (DATA / "noisy_agnews/train_10k.parquet", "label")}  # fmt: skip
    sets: dict[str, dict[str, list[dict]]] = {}
    for name, (path, label_col) in data.items():
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        orig, labels = df.text.tolist(), [str(x) for x in df[label_col]]
        X0, _ = embed(orig, f"{name}-dup")
        _, lgraph0, _ = lexical_graph(orig, 0)
        natural, _ = natural_pairs(
            [lgraph0, build_graph(X0, IndexConfig(), seed=0)], orig, np.arange(len(orig))
        )
        sets[name] = {"tuning": [], "evaluation": []}
        plan = [("tuning", TUNING_FAMILY, s) for s in TUNING_SEEDS]
        plan += [("evaluation", fam, s) for fam in FAMILIES for s in EVAL_SEEDS]
        for split, fam, seed in plan:
            t0 = time.perf_counter()
            r = score_planted_set(name, orig, labels, natural, fam, seed, planted)
            sets[name][split].append(r)
            d = r["grid"][current]
            print(
                f"[{name} {split} {fam} seed {seed}] {r['copies']} copies, lexical / MiniLM cos "
                f"median {r['cosine_median']['lexical']:.3f} / "
                f"{r['cosine_median']['embedding']:.3f}; default recall {d['recall']:.3f} "
                f"({time.perf_counter() - t0:.0f} s); e.g. {r['examples'][0][1][:70]!r}"
            )
    return sets


def summarise_heldout(sets: dict, planted: int) -> dict:
    """The tuning split's choice, the evaluation split's figures per method and family, and
    the verdict line (see :func:`run_heldout`)."""
    cfg = variant_config("words")
    current = f"{cfg.threshold} {cfg.max_word_edits}"
    choice = choose_default({p: v["tuning"] for p, v in sets.items()})
    pick = choice["cell"]

    print(
        f"\n== tuning split: seeds {list(TUNING_SEEDS)}, family {TUNING_FAMILY!r}; grid of "
        "(candidate threshold, max_word_edits); F1 = recall x precision on planted copies "
        "(edit budget), mean over the seeds =="
    )
    print("threshold words | " + " | ".join(f"{p:>9} F1 / R " for p in sets) + " | regret")
    for c in choice["regret"]:
        cells = [mean_of(sets[p]["tuning"], lambda s, c=c: s["grid"][c]) for p in sets]
        mark = ("*" if c == current else " ") + ("<" if c == pick else " ")
        mark += " " if c in choice["eligible"] else "-"
        print(
            f"{c:>15}{mark}| "
            + " | ".join(f"{x['f1_edit']:.3f} / {x['recall']:.3f}" for x in cells)
            + f" | {choice['regret'][c]:.3f}"
        )
    print(
        f"* = curate's default ({current}); < = the tuning split's choice ({pick}): smallest "
        f"worst-case F1 shortfall among the cells with recall >= {choice['min_recall']} on "
        "both datasets (- = below that recall)"
    )

    fams = {f: [s for s in sets[p]["evaluation"] if s["family"] == f] for p in sets
            for f in FAMILIES}  # fmt: skip
    method_names = [f"curate default ({current})"]
    if pick != current:
        method_names.append(f"curate tuned ({pick})")
    method_names += list(sets["banking77"]["evaluation"][0]["methods"])

    def row_of(s, method):
        if method.startswith("curate default"):
            return s["grid"][current]
        if method.startswith("curate tuned"):
            return s["grid"][pick]
        return s["methods"][method]

    print(
        f"\n== evaluation split: seeds {list(EVAL_SEEDS)} x families {list(FAMILIES)}, mean "
        "over the seeds; recall / P source / P edit budget (precision over the group pairs "
        "with a planted copy; source: only the same source row is right) =="
    )
    heldout: dict = {}
    width = max(map(len, method_names))
    for p in sets:
        heldout[p] = {}
        print(f"\n{p}")
        print(f"{'method':<{width}} | " + " | ".join(f"{f:^22}" for f in FAMILIES))
        for method in method_names:
            cells = []
            for fam in FAMILIES:
                ss = [s for s in sets[p]["evaluation"] if s["family"] == fam]
                x = mean_of(ss, lambda s, method=method: row_of(s, method))
                heldout[p].setdefault(method, {})[fam] = x
                cells.append(f"{x['recall']:.3f} / {x['p_source']:.3f} / {x['p_edit']:.3f}")
            print(f"{method:<{width}} | " + " | ".join(cells))
    del fams

    # Held-out grid: what each cell would have given (reading it to choose would be in-sample).
    eval_score = {
        c: min(mean_of(sets[p]["evaluation"], lambda s, c=c: s["grid"][c])["f1_source"]
               for p in sets)
        for c in choice["regret"]
    }  # fmt: skip
    best_eval = max(eval_score, key=eval_score.get)
    lenient_p = {
        c: {p: mean_of(sets[p]["evaluation"], lambda s, c=c: s["grid"][c])["p_lenient"]
            for p in sets}
        for c in eval_score
    }  # fmt: skip
    print(
        "\nheld-out grid, for reading only (choosing on it would be in-sample): F1 (recall x "
        "P source, mean over all evaluation sets, the worse dataset) / lenient precision over "
        "all group pairs (banking77, agnews)"
    )
    for c in eval_score:
        mark = ("*" if c == current else " ") + ("<" if c == pick else " ")
        mark += "best" if c == best_eval else ""
        print(
            f"  {c:>10}{mark:<6} {eval_score[c]:.3f} / "
            + ", ".join(f"{lenient_p[c][p]:.3f}" for p in sets)
        )

    # Verdict: the default against every baseline of this run, per held-out family.
    baselines = [m for m in method_names if not m.startswith("curate default")]
    verdict = {}
    for p in sets:
        for fam in FAMILIES:
            d = heldout[p][method_names[0]][fam]
            rivals = {m: heldout[p][m][fam] for m in baselines if not m.startswith("curate tuned")}
            top_m = max(rivals, key=lambda m: rivals[m]["f1_source"])
            verdict[p, fam] = dict(
                default_f1=d["f1_source"], best_baseline=top_m,
                baseline_f1=rivals[top_m]["f1_source"],
                ok=bool(d["f1_source"] >= rivals[top_m]["f1_source"]),
                default_p_lenient=d["p_lenient"], baseline_p_lenient=rivals[top_m]["p_lenient"],
            )  # fmt: skip
    in_sample = pick != current
    print(
        f"\nverdict: default (candidates at lexical cosine >= {cfg.threshold}, max_word_edits "
        f"{cfg.max_word_edits}) is the tuning split's choice (seeds {list(TUNING_SEEDS)}, family "
        f"{TUNING_FAMILY!r}): {'yes' if not in_sample else 'NO, it picks ' + pick}; chosen "
        f"in-sample for these figures: no (evaluation seeds {list(EVAL_SEEDS)}, families "
        f"{list(FAMILIES)}). Baselines from this run: {', '.join(baselines)}."
    )
    for (p, fam), v in verdict.items():
        print(
            f"  {p:<9} {fam:<10} F1 (recall x P source): default {v['default_f1']:.3f} vs best "
            f"baseline {v['best_baseline']} {v['baseline_f1']:.3f}: "
            f"{'PASS' if v['ok'] else 'FAIL'} (lenient precision over all group pairs: "
            f"{v['default_p_lenient']:.3f} vs {v['baseline_p_lenient']:.3f})"
        )
    return dict(
        tuning_seeds=list(TUNING_SEEDS), eval_seeds=list(EVAL_SEEDS), families=list(FAMILIES),
        tuning_family=TUNING_FAMILY, planted=planted, default=current, choice=pick,
        chosen_in_sample=False, default_is_tuning_choice=not in_sample,
        regret=choice["regret"], eligible=choice["eligible"], heldout=heldout,
        heldout_grid_f1=eval_score, heldout_grid_p_lenient=lenient_p,
        verdict={f"{p} {fam}": v for (p, fam), v in verdict.items()},
        sets_file=str(HELDOUT_SETS.relative_to(REPO)),
    )  # fmt: skip
