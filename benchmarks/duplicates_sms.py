"""``--part sms``: exact copies in SMS spam, curate's exact and near-duplicate checks vs pandas
and cleanlab Datalab."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
from common import (
    DATA,
    embed,  # the shared, content-hash-cached text embedding
)
from duplicates_common import (
    VECTORS,
    components,
    datalab_near_duplicates,
    default_setting,
    group_pairs,
    lexical_graph,
    members_by_group,
    natural_pairs,
    near_groups,
    print_examples,
    sample_examples,
    score_pairs,
    settings,
    variant_config,
)
from duplicates_planting import expand

# --- sms ------------------------------------------------------------------------------------


def run_sms(seed: int) -> dict:
    import pandas as pd

    from curate.checks.exact_duplicate import find_exact_duplicates
    from curate.config import IndexConfig
    from curate.index import build_graph

    raw = (DATA / "sms_spam/SMSSpamCollection.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t", 1) for line in raw.split("\n") if line]
    labels, texts = [r[0] for r in rows], [r[1] for r in rows]
    n = len(texts)
    X, hashes = embed(texts, "sms")
    print(f"\n== sms_spam: {n} rows, {len(set(texts))} distinct texts ==")

    # Truth: every row after the first of its text is a copy; pairs = all pairs of equal texts.
    first: dict[str, int] = {}
    text_root = np.array([first.setdefault(t, i) for i, t in enumerate(texts)], np.int64)
    is_copy = text_root != np.arange(n)
    truth = group_pairs(text_root)

    def copy_row(method: str, flagged, pairs: np.ndarray, wall: float, **extra) -> dict:
        flagged = np.asarray(flagged, bool)
        tp = int((flagged & is_copy).sum())
        p, r = tp / max(flagged.sum(), 1), tp / is_copy.sum()
        pr = score_pairs(pairs, truth)
        return dict(
            method=method,
            flagged=int(flagged.sum()),
            copy_precision=p,
            copy_recall=r,
            pairs=pr["pairs"],
            pair_precision=pr["precision"],
            pair_recall=pr["recall"],
            wall_s=wall,
            **extra,
        )

    t0 = time.perf_counter()
    res = find_exact_duplicates([str(i) for i in range(n)], hashes, labels=labels)
    wall = time.perf_counter() - t0
    gid = res.table.column("exact_group_id").to_pylist()
    root = np.array([int(g) if g is not None else i for i, g in enumerate(gid)], np.int64)
    flagged = res.table.column("is_exact_duplicate_issue").to_numpy(zero_copy_only=False)
    methods = [copy_row("curate exact_duplicate", flagged, group_pairs(root), wall)]

    t0 = time.perf_counter()
    dup = pd.DataFrame({"text": texts}).duplicated(subset="text").to_numpy()
    wall = time.perf_counter() - t0
    methods.append(copy_row("pandas duplicated(text)", dup, group_pairs(text_root), wall))

    dl_pairs, dl_flags, dl = datalab_near_duplicates(X)
    # Datalab flags every member of a set (the originals too): its flags, its pairs.
    methods.append(
        copy_row("cleanlab Datalab near_duplicate", dl_flags, dl_pairs, dl["wall_s"], datalab=dl)
    )
    # What a user would do with the sets: join them, keep the earliest of each, drop the rest.
    dl_root = components(n, dl_pairs)
    dl_copy = dl_root != np.arange(n)
    methods.append(copy_row("  ... sets joined, earliest kept", dl_copy, group_pairs(dl_root), 0))
    print(
        f"truth: {int(is_copy.sum())} copies (rows after the first of each distinct text), "
        f"{len(truth)} pairs; largest group {np.bincount(text_root).max()} rows"
    )
    width = max(len(m["method"]) for m in methods)
    print(f"{'method':<{width}} | flagged | copy P | copy R | pairs | pair P | pair R | wall s")
    for m in methods:
        print(
            f"{m['method']:<{width}} | {m['flagged']:7d} | {m['copy_precision']:6.3f} | "
            f"{m['copy_recall']:6.3f} | {m['pairs']:5d} | {m['pair_precision']:6.3f} | "
            f"{m['pair_recall']:6.3f} | {m['wall_s']:6.2f}"
        )
    print(
        f"Datalab: flagged = every member of a near-duplicate set (originals too); k={dl['k']}, "
        f"metric {dl['metric']}, radius {dl['threshold']} x median NN distance "
        f"{dl['median_nn_distance']:.4f} = cosine >= {dl['cosine_equivalent']:.4f}"
    )
    acc = methods[0]
    exact_ok = acc["copy_precision"] == acc["copy_recall"] == 1.0
    exact_ok &= acc["pair_precision"] == acc["pair_recall"] == 1.0
    print(f"acceptance (exact copies and pairs P = R = 1.0): {'PASS' if exact_ok else 'FAIL'}")

    # What the near-duplicate check adds on top of the exact copies: by default (lexical
    # vectors and their own kNN graph, as the duplicates stage does for text, candidates
    # verified by word edits), with the lexical cosine alone, and on the embeddings through
    # the pipeline's graph.
    graph = build_graph(X, IndexConfig(), seed=seed)
    L, lgraph, _ = lexical_graph(texts, seed)
    vectors = {"lexical": (L, lgraph), "embedding": (X, graph)}
    natural, identical = natural_pairs([lgraph, graph], texts, np.flatnonzero(~is_copy))
    # Lenient truth: exact copies, plus pairs whose texts are within the edit budget.
    lenient = np.union1d(truth, expand(natural, text_root, n))
    default = default_setting("words")
    runs = [(v, t) for v in ("words", "lexical") for t in settings(v)]
    runs.append(("embedding", default_setting("embedding")))
    rng = np.random.default_rng(seed)
    sweep, examples, group_labels = [], [], Counter()
    print(
        f"\nnear_duplicate check on sms (exact copies always joined): {len(natural)} pairs of "
        f"distinct texts are within the edit budget after normalisation ({identical} identical)"
    )
    print(
        "variant    | setting   | groups | in groups | flagged | non-exact pairs | "
        "of them close | groups beyond exact"
    )
    for sim, t in runs:
        V, g = vectors[VECTORS[sim]]
        root, res = near_groups(V, g, hashes, variant_config(sim, t), labels, texts)
        pairs = group_pairs(root)
        non_exact = np.setdiff1d(pairs, truth)
        ok = np.isin(non_exact, lenient)
        multi = np.unique(root[pairs[~np.isin(pairs, truth)] // n]) if len(non_exact) else []
        s = res.summary
        row = dict(
            variant=sim,
            setting=t,
            groups=s["groups"],
            samples_in_groups=s["samples_in_groups"],
            flagged=s["duplicates"],
            non_exact_pairs=int(len(non_exact)),
            non_exact_close=int(ok.sum()),
            groups_with_distinct_texts=int(len(multi)),
        )
        sweep.append(row)
        mark = "*" if t == default_setting(sim) else " "
        print(
            f"{sim:<10} | {t:8.3g}{mark} | {row['groups']:6d} | {row['samples_in_groups']:9d} | "
            f"{row['flagged']:7d} | {row['non_exact_pairs']:15d} | {row['non_exact_close']:13d} | "
            f"{row['groups_with_distinct_texts']:d}"
        )
        if sim == "words" and t == default:
            examples = sample_examples(non_exact[~ok], texts, n, rng, L)
            group_labels = Counter(
                "+".join(sorted({labels[i] for i in members}))
                for g, members in members_by_group(root).items()
                if g in set(np.asarray(multi).tolist())
            )
    print(
        "* = curate's default for that variant (words: max_word_edits at lexical cosine >= "
        f"{variant_config('words').threshold} candidates; lexical, embedding: cosine threshold)"
    )
    exact_groups = int(len(np.unique(text_root[is_copy])))
    d = next(r for r in sweep if r["variant"] == "words" and r["setting"] == default)
    print(
        f"at the default (word edits {default}): {d['groups']} groups vs {exact_groups} exact "
        "groups; "
        f"{d['groups_with_distinct_texts']} groups hold distinct texts (labels: "
        f"{dict(sorted(group_labels.items()))}), "
        f"{d['flagged'] - int(is_copy.sum())} rows flagged beyond the exact copies"
    )
    print_examples(
        f"non-exact pairs at the default (word edits {default}) that are not within the "
        "benchmark's edit budget (lexical cosine):",
        examples,
    )
    return dict(
        rows=n,
        copies=int(is_copy.sum()),
        truth_pairs=int(len(truth)),
        methods=methods,
        exact_acceptance=bool(exact_ok),
        near_default=dict(variant="words", max_word_edits=default),
        near_sweep=sweep,
        natural_pairs=int(len(natural)),
        natural_identical=identical,
        examples=examples,
        distinct_text_group_labels=dict(group_labels),
    )
