"""The label summary's noise bracket contains the planted noise rate, and its readers show it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curate import checks, layout
from curate.checks.label import bracket_text
from curate.config import LabelConfig

CLASSES = ("a", "b", "c", "d", "e")


def planted(rate: float, seed: int = 0, n: int = 3000, accuracy: float = 0.9, learnt=0.4):
    """Given labels with ``rate`` of them wrong, and out-of-fold-like pred_probs.

    On correct labels the model is right ``accuracy`` of the time, and less sure when wrong
    (the true class its runner-up). On a wrong label it either finds the true class or,
    ``learnt`` of the time, repeats the mistake with the true class as its runner-up
    (ambiguous samples whose noise a model trained on them learns, as crowd noise is).
    Probabilities are Dirichlet around the predicted class.
    """
    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    truth = rng.integers(0, k, n)
    wrong = rng.random(n) < rate
    given = np.where(wrong, (truth + rng.integers(1, k, n)) % k, truth)
    predicted = np.where(rng.random(n) < accuracy, truth, (truth + rng.integers(1, k, n)) % k)
    mistaken = (predicted != truth) & ~wrong
    repeats = wrong & (rng.random(n) < learnt)
    predicted = np.where(repeats, given, np.where(wrong, truth, predicted))
    alpha = np.ones((n, k))
    alpha[np.arange(n), predicted] = 12.0
    alpha[mistaken, predicted[mistaken]] = 5.0
    alpha[mistaken, truth[mistaken]] = 3.0
    alpha[repeats, truth[repeats]] = 8.0
    P = np.array([rng.dirichlet(a) for a in alpha])
    return [CLASSES[g] for g in given], P, float(wrong.mean())


def summary(labels, P, splits=None) -> dict:
    n = len(labels)
    return checks.get("label")(
        sample_ids=[f"s{i}" for i in range(n)],
        splits=splits or ["test" if i % 5 == 0 else "train" for i in range(n)],
        labels=labels,
        content_hashes=[f"h{i}" for i in range(n)],
        pred_probs=P,
        classes=CLASSES,
        cfg=LabelConfig(bootstrap=100),
    ).summary


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.35])
def test_the_bracket_contains_the_planted_rate(rate) -> None:
    labels, P, true_rate = planted(rate)
    bracket = summary(labels, P)["noise_bracket"]["overall"]
    assert bracket["lower"] <= true_rate <= bracket["upper"], (true_rate, bracket)
    assert bracket["upper"] - bracket["lower"] < 0.3  # informative, not [0, 1]


def test_planted_20_percent_is_inside_the_bracket_where_the_flagged_share_is_not() -> None:
    """A model that learnt part of the noise flags well under the real rate; the bracket still
    holds it."""
    labels, P, true_rate = planted(0.2, seed=1)
    s = summary(labels, P)
    assert s["overall"]["ci95"][1] < true_rate  # the share flagged alone misleads
    bracket = s["noise_bracket"]
    assert bracket["overall"]["lower"] <= true_rate <= bracket["overall"]["upper"]
    assert set(bracket["method"]) == {"lower", "upper"}
    assert "confident joint" in bracket["method"]["lower"]
    assert "disagreement" in bracket["method"]["upper"]


def test_bounds_are_ordered_and_consistent_per_class_and_split() -> None:
    labels, P, _ = planted(0.2, seed=2)
    s = summary(labels, P)
    bracket = s["noise_bracket"]
    entries = [bracket["overall"], *bracket["per_class"].values(), *bracket["per_split"].values()]
    assert all(0 <= e["lower"] <= e["upper"] <= 1 for e in entries)
    assert set(bracket["per_class"]) == set(CLASSES)
    assert set(bracket["per_split"]) == {"test", "train"}
    assert sum(e["n"] for e in bracket["per_class"].values()) == bracket["overall"]["n"] == 3000
    assert sum(e["n"] for e in bracket["per_split"].values()) == 3000
    assert {k: e["n"] for k, e in bracket["per_class"].items()} == {
        c: labels.count(c) for c in CLASSES
    }
    # A part is less certain than the whole: its bracket reaches at least as far out.
    for part in ("per_class", "per_split"):
        lows = [e["lower"] for e in bracket[part].values()]
        highs = [e["upper"] for e in bracket[part].values()]
        assert min(lows) <= bracket["overall"]["lower"] <= bracket["overall"]["upper"] <= max(highs)
    assert s["test_noise_bracket"] == bracket["per_split"]["test"]
    assert bracket_text(s["test_noise_bracket"]) in s["test_note"]
    # The keys other stages read are still there.
    assert s["test_noise_rate"] == s["per_split"]["test"]["noise_rate"]


def test_a_perfect_model_on_clean_labels_gives_a_bracket_near_zero() -> None:
    labels, P, true_rate = planted(0.0, accuracy=1.0)
    bracket = summary(labels, P)["noise_bracket"]["overall"]
    assert true_rate == 0 and bracket["lower"] == 0 and bracket["upper"] < 0.2


def test_no_labelled_sample_has_an_empty_bracket() -> None:
    s = summary([None, None], np.zeros((2, 0)), splits=["unlabeled"] * 2)
    assert s["noise_bracket"]["overall"] == {"n": 0, "lower": None, "upper": None}
    assert bracket_text(s["noise_bracket"]["overall"]) is None


def test_bracket_text() -> None:
    assert bracket_text({"lower": 0.0312, "upper": 0.2254}) == "between 3.1% and 22.5%"


def test_the_report_shows_the_bracket_not_a_single_number(tmp_path) -> None:
    from curate.report.page import build_report

    labels, P, _ = planted(0.2)
    s = summary(labels, P)
    (tmp_path / layout.LABEL_SUMMARY).parent.mkdir(parents=True)
    (tmp_path / layout.LABEL_SUMMARY).write_text(json.dumps(s))
    page = build_report(tmp_path, "text")
    assert f"Label noise: {bracket_text(s['noise_bracket']['overall'])}" in page
    assert bracket_text(s["noise_bracket"]["per_split"]["test"]) in page
    assert s["noise_bracket"]["method"]["upper"] in page


def test_the_diff_shows_the_bracket_of_both_versions() -> None:
    from curate.versions.versioning import _label_noise

    before = {"noise_bracket": {"overall": {"n": 10, "lower": 0.05, "upper": 0.25}}}
    noise = _label_noise(before, {})
    assert noise["before"]["text"] == "between 5.0% and 25.0%" and noise["after"] is None
