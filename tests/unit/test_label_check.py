"""The label check on planted noise: issues found, suggestions right, summary complete."""

from __future__ import annotations

import numpy as np
import pytest

from curate import checks
from curate.config import LabelConfig, PredictConfig
from curate.model.predict import out_of_sample_pred_probs


@pytest.fixture(scope="module")
def planted():
    """Three separable blobs, 10% of labels flipped, one exact-duplicate pair that disagrees."""
    rng = np.random.default_rng(0)
    classes = ("ant", "bee", "cat")
    centers = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 0, 4.0]])
    truth = np.repeat([0, 1, 2], 100)
    X = centers[truth] + rng.normal(scale=0.8, size=(300, 3))
    given = truth.copy()
    flipped = rng.choice(300, size=30, replace=False)
    given[flipped] = (truth[flipped] + rng.integers(1, 3, size=30)) % 3
    hashes = [f"h{i}" for i in range(300)]
    # Sample 299 is an exact copy of sample 0 (a clean 'ant') carrying the label 'bee'.
    X[299], hashes[299], truth[299], given[299], given[0] = X[0], hashes[0], 0, 1, 0
    flipped = np.setdiff1d(flipped, [0, 299])
    labels = [classes[k] for k in given]
    splits = ["test" if i % 5 == 0 else "train" for i in range(300)]
    p = out_of_sample_pred_probs(X, labels, hashes, PredictConfig(), seed=0)
    result = checks.get("label")(
        sample_ids=[f"s{i}" for i in range(300)],
        splits=splits,
        labels=labels,
        content_hashes=hashes,
        pred_probs=p.pred_probs,
        classes=p.classes,
        cfg=LabelConfig(),
        seed=0,
    )
    return result, flipped, truth, classes


def test_planted_flips_are_found_with_the_right_suggestion(planted) -> None:
    result, flipped, truth, classes = planted
    t = result.table.to_pydict()
    flagged = {
        int(s[1:]) for s, bad in zip(t["sample_id"], t["is_label_issue"], strict=True) if bad
    }
    found = flagged & set(flipped.tolist())
    assert len(found) / len(flipped) >= 0.8  # recall on planted flips
    assert len(found) / len(flagged) >= 0.8  # precision
    right = [i for i in found if t["suggested_label"][i] == classes[truth[i]]]
    # An outlier between two blobs may get the other neighbour's label, depending on the split.
    assert len(right) >= 0.95 * len(found)
    for i in found:
        assert t["reason"][i].startswith(f"model predicts '{t['suggested_label'][i]}' with ")
    scores = np.array(t["label_score"])
    assert ((0 <= scores) & (scores <= 1)).all()
    assert scores[list(found)].mean() < scores[~np.isin(np.arange(300), list(found))].mean()


def test_exact_duplicates_with_conflicting_labels_are_issues(planted) -> None:
    t = planted[0].table.to_pydict()
    assert t["is_label_issue"][299] and not t["is_label_issue"][0]
    assert t["suggested_label"][299] == "ant"
    assert "exact duplicate of s0 ('ant') with a different label" in t["reason"][299]


def test_summary_has_rates_intervals_matrix_pairs_and_test_note(planted) -> None:
    s = planted[0].summary
    assert 0.05 < s["overall"]["noise_rate"] < 0.2
    lo, hi = s["overall"]["ci95"]
    assert lo <= s["overall"]["noise_rate"] <= hi
    assert set(s["per_class"]) == {"ant", "bee", "cat"}
    assert set(s["per_split"]) == {"test", "train"}
    assert s["per_split"]["test"]["n"] == 60
    total = sum(v for row in s["noise_matrix"].values() for v in row.values())
    assert total == pytest.approx(1.0, abs=1e-3)
    assert len(s["confused_pairs"]) >= 1
    assert s["test_noise_rate"] == s["per_split"]["test"]["noise_rate"]
    assert "not meaningful" in s["test_note"]


def test_the_check_is_registered() -> None:
    assert "label" in checks.names()


def test_exact_zero_one_probabilities_do_not_break_entropy_scores() -> None:
    """A confident kNN gives exact 0/1 probabilities; the most certain correct labels must not
    get the worst score."""
    labels = ["a", "a", "b", "b"]
    P = np.array([[1.0, 0.0], [0.6, 0.4], [0.0, 1.0], [0.9, 0.1]])
    result = checks.get("label")(
        sample_ids=list("wxyz"), splits=["train"] * 4, labels=labels, content_hashes=list("wxyz"),
        pred_probs=P, classes=("a", "b"),
        cfg=LabelConfig(score_method="confidence_weighted_entropy"),
    )  # fmt: skip
    scores = result.table.column("label_score").to_pylist()
    assert scores[0] > scores[1] > scores[3] and scores[2] > scores[3]


def test_no_labelled_sample_gives_an_empty_result() -> None:
    result = checks.get("label")(
        sample_ids=["a", "b"],
        splits=["unlabeled"] * 2,
        labels=[None, None],
        content_hashes=["h1", "h2"],
        pred_probs=np.zeros((2, 0)),
        classes=(),
        cfg=LabelConfig(bootstrap=10),
    )
    assert result.table.num_rows == 0 and "is_label_issue" in result.table.column_names
    assert result.summary["labelled"] == 0 and result.summary["issues"] == 0
