"""Drift between a dataset version and a new batch (``curate drift``).

Three views, each with a p-value where a test applies:

* **class frequencies** (when the batch has labels): chi-square test of the reference's and
  the batch's class counts;
* **embedding distribution**, two tests: a classifier two-sample test (a logistic regression
  learns to tell batch rows from an equally large seeded sample of reference rows; under no
  drift its 5-fold cross-validated accuracy is a fair coin, so the one-sided binomial p-value
  of the correct predictions tests a shift of the distribution's mass), and a novelty test
  (the batch rows' mean cosine similarity to their 10 nearest reference rows against that of
  held-out reference rows, one-sided Mann-Whitney U: new kinds of data, such as out-of-scope
  queries, sit far from everything in the reference even when a linear classifier cannot
  separate them);
* **regions**: k-means clusters of the reference; the clusters whose share grew or shrank
  most in the batch, to say *where* it differs.

The batch has drifted when any p-value is below ``alpha`` (default 0.01) divided by the number
of tests (Bonferroni), so the false-alarm rate stays at most ``alpha``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def class_shift(ref_labels: Sequence[str], cur_labels: Sequence[str]) -> dict:
    """Chi-square test of the class counts (classes new in the batch count too)."""
    from scipy.stats import chi2_contingency

    a, b = Counter(ref_labels), Counter(cur_labels)
    classes = sorted(a.keys() | b.keys())
    table = np.array([[a.get(c, 0) for c in classes], [b.get(c, 0) for c in classes]]) + 0.5
    chi2, p, dof, _ = chi2_contingency(table)
    ref_n, cur_n = sum(a.values()), sum(b.values())
    changes = sorted(
        (
            {"class": c, "reference": a.get(c, 0) / ref_n, "current": b.get(c, 0) / cur_n}
            for c in classes
        ),
        key=lambda r: -abs(r["current"] - r["reference"]),
    )
    return {"chi2": float(chi2), "dof": int(dof), "p_value": float(p), "largest": changes[:5]}


def embedding_shift(ref: np.ndarray, cur: np.ndarray, *, seed: int = 0) -> dict:
    """Classifier two-sample test (module docstring)."""
    from scipy.stats import binom
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    m = min(len(ref), len(cur))
    ref_s = ref[rng.choice(len(ref), m, replace=False)]
    cur_s = cur[rng.choice(len(cur), m, replace=False)]
    X = np.vstack([ref_s, cur_s])
    y = np.r_[np.zeros(m), np.ones(m)]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    pred = cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=folds)
    correct = int((pred == y).sum())
    p = float(binom.sf(correct - 1, len(y), 0.5))
    return {"samples_each": int(m), "accuracy": correct / len(y), "p_value": p}


def novelty_shift(ref: np.ndarray, cur: np.ndarray, *, k: int = 10, seed: int = 0) -> dict:
    """Are batch rows farther from the reference than reference rows are? (module docstring)"""
    from scipy.stats import mannwhitneyu

    from curate.index import nearest_in

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ref))
    held = order[: min(len(cur), len(ref) // 3)]
    base = ref[order[len(held) :]]

    def mean_sim(X):
        return nearest_in(base, X, k)[1].mean(axis=1)

    control, batch = mean_sim(ref[held]), mean_sim(cur)
    p = float(mannwhitneyu(batch, control, alternative="less").pvalue)
    return {
        "k": k,
        "control_rows": int(len(held)),
        "reference_similarity": float(np.median(control)),
        "current_similarity": float(np.median(batch)),
        "p_value": p,
    }


def region_shift(
    ref: np.ndarray, cur: np.ndarray, *, clusters: int | None = None, seed: int = 0
) -> list[dict]:
    """Reference k-means clusters ranked by how much their share changed in the batch."""
    from curate.analysis.clusters import default_clusters
    from curate.index import kmeans, nearest_in

    k = clusters or min(50, default_clusters(len(ref)))
    centroids, ref_assign = kmeans(ref, k, seed=seed)
    cur_assign = nearest_in(centroids, cur, 1)[0][:, 0]
    ref_share = np.bincount(ref_assign, minlength=len(centroids)) / len(ref)
    cur_share = np.bincount(cur_assign, minlength=len(centroids)) / len(cur)
    order = np.argsort(-np.abs(cur_share - ref_share), kind="stable")
    return [
        {
            "cluster": int(c),
            "reference_share": float(ref_share[c]),
            "current_share": float(cur_share[c]),
            "change": "grew" if cur_share[c] > ref_share[c] else "shrank",
        }  # fmt: skip
        for c in order[:5]
    ]


def compare(
    ref_emb: np.ndarray,
    cur_emb: np.ndarray,
    *,
    ref_labels: Sequence[str] | None = None,
    cur_labels: Sequence[str] | None = None,
    alpha: float = 0.01,
    seed: int = 0,
) -> dict:
    """All three views and the verdict."""
    report: dict = {
        "reference_rows": int(len(ref_emb)),
        "current_rows": int(len(cur_emb)),
        "alpha": alpha,
        "embedding": embedding_shift(ref_emb, cur_emb, seed=seed),
        "novelty": novelty_shift(ref_emb, cur_emb, seed=seed),
        "regions": region_shift(ref_emb, cur_emb, seed=seed),
    }
    p_values = [report["embedding"]["p_value"], report["novelty"]["p_value"]]
    if ref_labels is not None and cur_labels is not None:
        ref_l = [x for x in ref_labels if x is not None]
        cur_l = [x for x in cur_labels if x is not None]
        if ref_l and cur_l:
            report["classes"] = class_shift(ref_l, cur_l)
            p_values.append(report["classes"]["p_value"])
    report["tests"] = len(p_values)
    report["drift"] = bool(min(p_values) < alpha / len(p_values))
    return report


#: Fewest batch rows the tests are run on (the classifier test uses 5 folds).
MIN_BATCH_ROWS = 20


def _read_batch(path, cfg):
    """The batch's inputs (and labels, if it has them), read and validated by the same reader
    as the workspace's sources."""
    from pathlib import Path

    from curate.config import SourceConfig
    from curate.data.sources import read_source
    from curate.errors import DataError

    path = Path(path)
    table = read_source(SourceConfig(path=str(path)), path, setting="the batch file (--current)")
    column = cfg.data.input_column
    if column not in table.column_names:
        raise DataError(
            f"{path} has no column {column!r} (data.input_column); columns are: "
            f"{', '.join(table.column_names)}."
        )
    if table.num_rows < MIN_BATCH_ROWS:
        raise DataError(
            f"{path} has {table.num_rows} rows; drift needs at least {MIN_BATCH_ROWS} to test "
            "anything. Compare a larger batch."
        )
    labels = None
    if cfg.data.label_column and cfg.data.label_column in table.column_names:
        labels = [None if v is None else str(v) for v in table.column(cfg.data.label_column)
                  .to_pylist()]  # fmt: skip
    return table.column(column).to_pylist(), labels


def _batch_vectors(values: list, path, column: str, dim: int) -> np.ndarray:
    """The batch's precomputed vectors as an (n, dim) float32 matrix; every row must be a
    list of ``dim`` finite numbers, like the reference's embeddings."""
    from curate.errors import DataError, fmt_rows

    matrix = np.zeros((len(values), dim), np.float32)
    unreadable, wrong, non_finite = [], [], []
    found: Counter = Counter()
    for i, v in enumerate(values):
        try:
            row = np.asarray(v, np.float32)
        except (TypeError, ValueError):
            unreadable.append(i)
            continue
        if v is None or row.ndim != 1:
            unreadable.append(i)
        elif len(row) != dim:
            wrong.append(i)
            found[len(row)] += 1
        elif not np.isfinite(row).all():
            non_finite.append(i)
        else:
            matrix[i] = row
    where = f"column {column!r} (data.input_column) of {path}"
    if unreadable:
        raise DataError(
            f"{where}: rows {fmt_rows(unreadable)} hold no list of numbers; expected a vector of "
            f"{dim} numbers per row, like the reference's embeddings. Fill or drop those rows."
        )
    if wrong:
        sizes = ", ".join(f"{d} ({n} rows)" for d, n in sorted(found.items()))
        raise DataError(
            f"{where}: vectors of {sizes} numbers at rows {fmt_rows(wrong)}; the reference's "
            f"embeddings have {dim}. Compute the batch's vectors with the same model as the "
            "reference's."
        )
    if non_finite:
        raise DataError(
            f"{where}: rows {fmt_rows(non_finite)} hold NaN or infinite values; expected "
            f"{dim} finite numbers per row. Recompute or drop those rows."
        )
    return matrix


def drift_report(workspace, reference: str, current, *, alpha: float = 0.01) -> dict:
    """``curate drift``: the batch in file ``current`` against ``reference`` (a git revision
    of the workspace, or a workspace folder), embedded with the workspace's embedder."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate import layout
    from curate.config import load_config
    from curate.embed import l2_normalise, make_embedder, to_matrix
    from curate.errors import DataError
    from curate.versions.versioning import parquet_from_bytes, read_at_revision

    cfg = load_config(workspace)
    if cfg.data.modality not in ("text", "embedding"):
        raise DataError(
            f"curate drift compares text or precomputed-embedding data so far; this workspace "
            f"holds {cfg.data.modality!r} data."
        )
    if Path(reference).is_dir():
        ref_root = Path(reference)
        manifest = pq.read_table(ref_root / layout.MANIFEST, columns=["sample_id", "label"])
        emb = pq.read_table(ref_root / layout.EMBEDDINGS)
    else:
        repo = str(Path(workspace).resolve())
        manifest = parquet_from_bytes(
            read_at_revision(layout.MANIFEST, repo, reference), columns=["sample_id", "label"]
        )
        emb = parquet_from_bytes(read_at_revision(layout.EMBEDDINGS, repo, reference))
    if not emb.column("sample_id").equals(manifest.column("sample_id")):
        raise DataError(f"the embeddings at {reference} do not match its manifest.")
    ref_emb = to_matrix(emb.column("embedding"))
    inputs, labels = _read_batch(current, cfg)
    if cfg.data.modality == "text":
        embedder = make_embedder(cfg)
        embedder.prepare()
        cur_emb = embedder.embed(pa.table({"input": [str(x) for x in inputs]}))
    else:
        cur_emb = _batch_vectors(inputs, current, cfg.data.input_column, ref_emb.shape[1])
    cur_emb = l2_normalise(np.asarray(cur_emb, np.float32))
    report = compare(
        ref_emb, cur_emb, ref_labels=manifest.column("label").to_pylist(), cur_labels=labels,
        alpha=alpha, seed=cfg.seed,
    )  # fmt: skip
    report["reference"] = reference
    report["current"] = str(current)
    return report
