"""The redundancy benchmark's tuning / evaluation split: defaults are chosen on the tuning
split only, scored on disjoint seeds, test rows and a second data set, against every baseline."""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
redundancy = importlib.import_module("redundancy")
redundancy_sim = importlib.import_module("redundancy_sim")


def runs(correct: np.ndarray) -> list[dict]:
    """Runs (one per seed row of ``correct``) as the benchmark's workers return them."""
    return [
        {"seed": s, "accuracy": float(c.mean()), "correct": np.packbits(c.astype(bool))}
        for s, c in enumerate(correct)
    ]


def test_test_halves_are_disjoint_class_stratified_and_cover_the_test_set() -> None:
    y = np.array(["a"] * 40 + ["b"] * 41 + ["c"] * 3)
    a, b = redundancy_sim.test_halves(np.random.default_rng(0).permutation(y))
    assert not set(a) & set(b)
    assert sorted([*a, *b]) == list(range(len(y)))
    assert abs(len(a) - len(b)) <= 3  # at most one row per class apart


def test_subsample_and_stratified_random_keep_every_class_share() -> None:
    y = np.array(["a"] * 600 + ["b"] * 300 + ["c"] * 100)
    rows = redundancy_sim.subsample(y, 500, seed=1)
    assert len(rows) == 500 and len(set(rows)) == 500
    shares = {c: int((y[rows] == c).sum()) for c in "abc"}
    assert shares == pytest.approx({"a": 300, "b": 150, "c": 50}, abs=1)
    assert not np.array_equal(rows, redundancy_sim.subsample(y, 500, seed=2))  # seeds differ
    assert list(redundancy_sim.subsample(y, None, seed=1)) == list(range(1000))


def test_plan_never_scores_a_tuning_seed_or_tunes_on_the_second_data_set() -> None:
    jobs = redundancy.plan(
        [0, 1], [2, 3, 4], [1000, None], "agnews-gold", [None], [0.7], redundancy.SWEEP
    )
    tuning = [j for j in jobs if j[1] == "tuning"]
    evaluation = [j for j in jobs if j[1] == "evaluation"]
    assert {j[3] for j in tuning} == {0, 1}
    assert {j[3] for j in evaluation} == {2, 3, 4}
    assert {j[0] for j in tuning} == {redundancy.TUNING_DATASET}
    assert {j[0] for j in evaluation} == {redundancy.TUNING_DATASET, "agnews-gold"}
    assert all(j[5] == [] for j in evaluation)  # settings are swept on the tuning split only
    assert [j[5] for j in tuning if j[2] is None] == [redundancy.SWEEP] * 2
    with pytest.raises(ValueError, match="overlap"):
        redundancy.plan([0, 1], [1, 2], [None], "agnews-gold", [None], [0.7], [])
    with pytest.raises(ValueError, match="must not be"):
        redundancy.plan([0], [1], [None], redundancy.TUNING_DATASET, [None], [0.7], [])


def test_the_tuning_split_keeps_the_default_unless_a_candidate_beats_it() -> None:
    rng = np.random.default_rng(0)
    base = rng.random((3, 2000)) < 0.8
    noise = base.copy()
    for row in noise:  # 20 rows gained and 18 lost per seed: a better mean, within noise
        gained, lost = np.flatnonzero(~row)[:20], np.flatnonzero(row)[:18]
        row[gained], row[lost] = True, False
    better = base | (rng.random((3, 2000)) < 0.3)  # clearly more rows right
    cands = {1000: runs(base), 2500: runs(noise), 100000: runs(better)}
    chosen, info = redundancy.choose_setting(cands, 1000, 2000, rng)
    assert chosen == 100000 and info["best_minus_current"][1] > 0
    del cands[100000]
    chosen, info = redundancy.choose_setting(cands, 1000, 2000, rng)
    assert info["best"] == 2500 and info["best_minus_current"][1] <= 0
    assert chosen == 1000  # the best mean does not replace the default when it wins by noise


def test_paired_interval_covers_the_difference_and_excludes_zero_only_when_clear() -> None:
    rng = np.random.default_rng(1)
    a = rng.random((4, 3000)) < 0.9
    b = a.copy()
    b[:, :150] = False  # 5% fewer right on every seed
    b[:, 150:300] = True
    mean, lo, hi = redundancy.paired(runs(a), runs(b), 3000, rng)
    assert mean == pytest.approx((a.sum() - b.sum()) / a.size)
    assert lo <= mean <= hi
    same = redundancy.paired(runs(a), runs(a), 3000, rng)
    assert same == (0.0, 0.0, 0.0)


def test_verdict_fails_when_a_baseline_wins_or_random_is_not_beaten() -> None:
    win, tie, loss = (0.01, 0.005, 0.015), (0.001, -0.002, 0.004), (-0.01, -0.015, -0.005)
    holds = redundancy.verdict(
        {"random": win, "stratified random": tie, "keep easy": win, "keep hard": win}
    )
    assert holds["holds"] and holds["within_noise"] == ["stratified random"]
    assert not redundancy.verdict(
        {"random": win, "stratified random": loss, "keep easy": win, "keep hard": win}
    )["holds"]
    assert not redundancy.verdict(
        {"random": tie, "stratified random": tie, "keep easy": win, "keep hard": win}
    )["holds"]


def test_the_shipped_defaults_are_among_the_candidates_the_tuning_split_compares() -> None:
    from curate.config import RedundancyConfig, redundancy_threshold

    # The benchmark is text: a null threshold is the text default.
    default = RedundancyConfig()
    default = dataclasses.replace(default, threshold=redundancy_threshold(default, "text"))
    assert default.large_dataset_rows in redundancy.SWITCHES
    for field, values in redundancy.SWEEP:
        assert getattr(default, field) in values, field
