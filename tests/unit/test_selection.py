"""Failure clusters, metadata slices, active-learning and augmentation candidates."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from curate.analysis.clusters import default_clusters, failure_clusters
from curate.analysis.slices import metadata_slices, wilson
from curate.config import ActiveLearningConfig
from curate.selection.active_learning import select_batch, uncertainty
from curate.selection.augmentation import augment, augment_text, choose_parents
from tests.helpers import require_shared_data


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def blobs(centres: int, per: int, dim: int = 16, spread: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    c = unit(rng.normal(size=(centres, dim)))
    X = np.repeat(c, per, axis=0) + spread * rng.normal(size=(centres * per, dim))
    return unit(X), np.repeat(np.arange(centres), per)


# -- failure clusters --------------------------------------------------------------------------
def test_severity_ranks_the_planted_failure_region_first() -> None:
    X, blob = blobs(6, 60)
    labels = [("a", "b")[i % 2] for i in range(len(X))]
    truth = np.array([0 if lab == "a" else 1 for lab in labels])
    pred = truth.copy()
    rng = np.random.default_rng(1)
    wrong = rng.random(len(X)) < 0.05  # background errors everywhere
    # one region where the model takes most 'a' rows for 'b'
    wrong |= (blob == 4) & (truth == 0) & (rng.random(len(X)) < 0.9)
    pred[wrong] = 1 - pred[wrong]
    probs = np.eye(2)[pred] * 0.8 + 0.1
    fc = failure_clusters(labels, probs, ["a", "b"], X, n_clusters=6, seed=0)
    top = fc.table.to_pylist()[0]
    assert set(np.flatnonzero(fc.assignment == top["cluster"])) == set(np.flatnonzero(blob == 4))
    assert top["error_rate"] > 3 * fc.summary["error_rate"]
    a_taken_for_b = int(((blob == 4) & wrong & (truth == 0)).sum())
    assert (top["confused_given"], top["confused_predicted"], top["confused_count"]) == (
        "a",
        "b",
        a_taken_for_b,
    )
    assert fc.table.column("rank").to_pylist() == list(range(1, 7))
    assert fc.top(1) == [top["cluster"]]
    assert (default_clusters(1600), default_clusters(10_000), default_clusters(3)) == (20, 50, 2)


# -- slices ------------------------------------------------------------------------------------
def test_planted_bad_slice_is_flagged_and_clean_ones_are_not() -> None:
    rng = np.random.default_rng(0)
    sources = np.repeat(["web", "app", "call", "mail"], 250)
    errors = rng.random(1000) < 0.08  # the model's usual error rate
    bad = sources == "mail"
    errors[bad] = rng.random(bad.sum()) < 0.40  # this source's labels are 40% wrong
    table, summary = metadata_slices({"source": sources.tolist()}, errors)
    rows = {r["value"]: r for r in table.to_pylist()}
    assert rows["mail"]["is_worse"] and rows["mail"]["p_value"] < 1e-6
    assert not any(rows[v]["is_worse"] for v in ("web", "app", "call"))
    assert rows["mail"]["ci_low"] < rows["mail"]["error_rate"] < rows["mail"]["ci_high"]
    assert [f["value"] for f in summary["flagged"]] == ["mail"]
    low, high = wilson(0, 10)
    assert low == 0.0 and 0.25 < high < 0.35


def test_slice_stage_flags_a_source_with_40_percent_wrong_labels(tmp_path) -> None:
    """Through the pipeline stages: a planted bad source, flagged in analysis/slices.parquet."""
    import pyarrow.parquet as pq

    from curate import layout
    from curate.stages import analysis, apply, duplicates, embed, ingest, knn, label, predict
    from tests.helpers import write_workspace

    X, blob = blobs(4, 100, dim=8, spread=0.08, seed=3)
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c", "d"])
    labels = classes[blob].copy()
    source = rng.choice(["s1", "s2", "s3", "s4", "s5"], len(X))
    flip = (source == "s5") & (rng.random(len(X)) < 0.4)
    labels[flip] = classes[(blob[flip] + 1) % 4]
    pq.write_table(
        pa.table(
            {
                "id": [f"r{i}" for i in range(len(X))],
                "embedding": X.tolist(),
                "label": labels.tolist(),
                "source": source.tolist(),
            }
        ),  # fmt: skip
        tmp_path / "rows.parquet",
    )
    write_workspace(
        tmp_path,
        {"sources": [{"path": "rows.parquet"}], "modality": "embedding",
         "input_column": "embedding", "id_column": "id", "metadata_columns": ["source"]},
        {"analysis.yaml": {"analysis": {"slice_columns": ["source"]}}},
    )  # fmt: skip
    for stage in (ingest, apply, embed, knn, predict, duplicates, label, analysis):
        stage.run(tmp_path)
    rows = {r["value"]: r for r in pq.read_table(tmp_path / layout.SLICES).to_pylist()}
    assert rows["s5"]["is_worse"]
    assert [v for v, r in rows.items() if r["is_worse"]] == ["s5"]


# -- active learning ---------------------------------------------------------------------------
def test_uncertainty_measures() -> None:
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    for measure in ("margin", "entropy", "least_confidence"):
        u = uncertainty(p, measure)
        assert u[0] == pytest.approx(0.0, abs=1e-9) and u[2] == pytest.approx(1.0) and 0 < u[1] <= 1


def test_diversity_spreads_the_batch_and_duplicates_of_labelled_data_are_excluded() -> None:
    X, blob = blobs(10, 30, seed=2)
    probs = np.full((len(X), 2), 0.5)  # every pool sample equally uncertain
    probs[blob >= 5] = [0.55, 0.45]  # blobs 5-9 a bit less so
    ids = [f"p{i}" for i in range(len(X))]
    cfg_div = ActiveLearningConfig(batch_size=5, weights={"uncertainty": 1, "diversity": 1,
                                                          "similarity": 0})  # fmt: skip
    cfg_unc = ActiveLearningConfig(batch_size=5, weights={"uncertainty": 1, "diversity": 0,
                                                          "similarity": 0})  # fmt: skip
    labelled = unit(np.random.default_rng(9).normal(size=(3, X.shape[1])))
    spread = select_batch(ids, probs, X, labelled, ["a", "b"], cfg_div).table
    greedy = select_batch(ids, probs, X, labelled, ["a", "b"], cfg_unc).table
    blob_of = {f"p{i}": b for i, b in enumerate(blob)}
    assert len({blob_of[s] for s in spread.column("sample_id").to_pylist()}) == 5
    assert len({blob_of[s] for s in greedy.column("sample_id").to_pylist()}) < 5
    excluded = blob == 0
    chosen = select_batch(ids, probs, X, labelled, ["a", "b"], cfg_div, excluded=excluded)
    assert not {blob_of[s] for s in chosen.table.column("sample_id").to_pylist()} & {0}
    assert chosen.summary["excluded_near_duplicates_of_labelled"] == 30
    assert all(r for r in chosen.table.column("reasons").to_pylist())


def test_similarity_finds_more_data_like_the_failures() -> None:
    X, blob = blobs(8, 25, seed=4)
    probs = np.full((len(X), 2), 0.5)
    cfg = ActiveLearningConfig(batch_size=10, weights={"uncertainty": 0, "diversity": 0,
                                                       "similarity": 1})  # fmt: skip
    targets = X[blob == 3][:3]
    sel = select_batch([f"p{i}" for i in range(len(X))], probs, X, X[:0], ["a", "b"], cfg,
                       targets=targets)  # fmt: skip
    picked = [int(s[1:]) for s in sel.table.column("sample_id").to_pylist()]
    assert set(blob[picked]) == {3}


def test_no_weight_at_all_spreads_the_batch() -> None:
    """An unlabelled pool with the default (margin) weights: uncertainty is off, nothing else is
    weighed, and the batch is spread by diversity rather than taken in pool order."""
    X, blob = blobs(10, 30, seed=2)
    cfg = ActiveLearningConfig(batch_size=5, weights={"uncertainty": 0.0})
    sel = select_batch([f"p{i}" for i in range(len(X))], np.ones((len(X), 1)), X, X[:0], [""],
                       cfg)  # fmt: skip
    picked = [int(s[1:]) for s in sel.table.column("sample_id").to_pylist()]
    assert len(set(blob[picked])) == 5


CLINC = Path(__file__).resolve().parents[3] / "shared/data/clinc150"


def _labels_to_reach(labels: list[int], curve: np.ndarray, target: float) -> float:
    """Labels at which ``curve`` first reaches ``target`` (linear interpolation); inf if never."""
    for i, acc in enumerate(curve):
        if acc >= target:
            if i == 0:
                return float(labels[0])
            a0 = curve[i - 1]
            return labels[i - 1] + (target - a0) / (acc - a0) * (labels[i] - labels[i - 1])
    return float("inf")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The number of unique classes is greater")  # 150 of 100 rows
def test_default_needs_no_more_labels_than_plain_margin_on_clinc150() -> None:
    """A small seeded version of ``benchmarks/active_learning.py --dataset clinc150``: 2,000 pool
    rows, 1,000 test rows, 100 random labels then 4 rounds of 50. The default reaches random's
    final accuracy with no more labels than plain margin sampling (the measured best), and
    before the last round. (The former default, 1 / 0.25 / 0.1, never reached it here.)"""
    import pandas as pd

    from curate.config import PredictConfig, TextEmbedConfig
    from curate.embed.text import TextEmbedder
    from curate.model.predict import make_model

    path = CLINC / "data_full.parquet"
    require_shared_data(path)
    frame = pd.read_parquet(path)
    rng = np.random.default_rng(100)
    train, test = frame[frame.split == "train"], frame[frame.split == "test"]
    train = train.iloc[rng.choice(len(train), 2000, replace=False)]
    test = test.iloc[rng.choice(len(test), 1000, replace=False)]
    embedder = TextEmbedder(TextEmbedConfig())
    X = embedder.embed(pa.table({"input": train.text.tolist()}))
    X_test = embedder.embed(pa.table({"input": test.text.tolist()}))
    classes = sorted(set(train.intent))
    index = {c: i for i, c in enumerate(classes)}
    y = train.intent.map(index).to_numpy()
    y_test = test.intent.map(lambda c: index.get(c, -1)).to_numpy()

    def simulate(cfg: ActiveLearningConfig | None, seed: int) -> tuple[list[int], np.ndarray]:
        labelled = np.zeros(len(y), bool)
        labelled[np.random.default_rng(seed).choice(len(y), 100, replace=False)] = True
        pick_rng = np.random.default_rng([seed, 1])
        counts, accuracy = [], []
        for round_ in range(5):
            rows = np.flatnonzero(labelled)
            model = make_model(PredictConfig(), seed).fit(X[rows], y[rows])
            counts.append(len(rows))
            accuracy.append(float((model.predict(X_test) == y_test).mean()))
            if round_ == 4:
                break
            pool = np.flatnonzero(~labelled)
            if cfg is None:
                picks = pick_rng.choice(pool, 50, replace=False)
            else:
                probs = np.zeros((len(pool), len(classes)))
                probs[:, model.classes_] = model.predict_proba(X[pool])
                sel = select_batch([str(i) for i in pool], probs, X[pool], X[rows], classes,
                                   dataclasses.replace(cfg, batch_size=50))  # fmt: skip
                picks = np.array(sel.table.column("sample_id").to_pylist(), np.int64)
            labelled[picks] = True
        return counts, np.array(accuracy)

    margin = ActiveLearningConfig(weights={"uncertainty": 1.0, "diversity": 0.0,
                                           "similarity": 0.0})  # fmt: skip
    curves = {}
    for name, cfg in (("random", None), ("margin", margin), ("default", ActiveLearningConfig())):
        runs = [simulate(cfg, seed) for seed in range(3)]
        labels = runs[0][0]
        curves[name] = np.mean([acc for _, acc in runs], axis=0)
    target = curves["random"][-1]
    need = {name: _labels_to_reach(labels, c, target) for name, c in curves.items()}
    print(f"labels to reach random's final {target:.3f}: {need}")
    assert need["default"] <= need["margin"] < labels[-1]


# -- augmentation ------------------------------------------------------------------------------
def test_text_augmentation_is_seeded_and_keeps_most_words() -> None:
    text = "I still have not received my new card after two weeks"
    a = [augment_text(text, np.random.default_rng(0)) for _ in range(2)]
    assert a[0] == a[1]
    variants = [augment_text(text, np.random.default_rng(s)) for s in range(30)]
    assert all(v != text for v, _ in variants)
    assert all(set(r.split("+")) <= {"delete", "swap", "insert", "typo"} for _, r in variants)
    words = set(text.lower().split())
    for v, _ in variants:
        assert len(words & set(v.lower().split())) >= len(words) - 3


@pytest.mark.parametrize("modality", ["text", "image", "embedding"])
def test_augmented_rows_never_cross_splits(tmp_path, modality) -> None:
    n = 40
    splits = ["train"] * 20 + ["validation"] * 10 + ["test"] * 10
    labels = ["rare" if i % 10 == 0 else "common" for i in range(n)]
    X, _ = blobs(4, 10, seed=5)
    inputs = [f"sample text number {i} with several words" for i in range(n)]
    if modality == "image":
        (tmp_path / "img").mkdir()
        rng = np.random.default_rng(0)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
                tmp_path / "img" / f"{i}.png"
            )
        inputs = [f"img/{i}.png" for i in range(n)]
    manifest = pa.table({"sample_id": [f"s{i}" for i in range(n)], "input": inputs,
                         "label": labels, "split": splits})  # fmt: skip
    cluster_of = np.array([i % 4 for i in range(n)])
    parents = choose_parents(
        labels, splits, rare_fraction=0.5, cluster_of=cluster_of, target_clusters=[1],
        excluded=None, max_parents=50, seed=0, parent_splits=("train", "validation", "test"),
    )  # fmt: skip
    assert {p.reason.split(" '")[0] for p in parents} == {"rare class", "failure cluster 1"}
    neighbours = np.array([[j for j in range(n) if j != i][: n - 1] for i in range(n)])
    table = augment(
        manifest, modality, parents, per_sample=2, seed=0, root=tmp_path,
        image_dir=tmp_path / "aug", embeddings=X, neighbours=neighbours,
    )  # fmt: skip
    rows = table.to_pylist()
    if modality == "embedding":  # SMOTE needs a same-class, same-split neighbour
        assert 0 < len(rows) <= 2 * len(parents)
    else:
        assert len(rows) == 2 * len(parents)
    split_of = dict(zip(manifest.column("sample_id").to_pylist(), splits, strict=True))
    label_of = dict(zip(manifest.column("sample_id").to_pylist(), labels, strict=True))
    for r in rows:
        assert r["split"] == split_of[r["parent_id"]]  # never another split than the parent
        assert r["label"] == label_of[r["parent_id"]]
        assert r["sample_id"].startswith(r["parent_id"] + "~aug") and r["recipe"]
        if modality == "image":
            assert (tmp_path / r["input"]).is_file()
        if modality == "embedding":
            partner = r["recipe"].split("(")[1].split(",")[0]
            assert split_of[partner] == r["split"] and label_of[partner] == r["label"]
    assert len({r["sample_id"] for r in rows}) == len(rows)
    assert {r["split"] for r in rows} == {"train", "validation", "test"}
