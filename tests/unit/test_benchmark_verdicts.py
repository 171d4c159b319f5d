"""Verdict lines of the benchmarks that score a fixed default against a baseline of the same
run (label_scale, evaluate_versions, augmentation, review_push, embed_throughput): each says
FAILS / NOT met when curate loses or a baseline figure is missing, HOLDS / met otherwise, names
its baseline and says whether the default was chosen in-sample."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def bench(name: str):
    return importlib.import_module(name)


def outcome(line: str) -> str:
    """The verdict word of a line: the last of HOLDS / FAILS / met / NOT met it holds."""
    words = [w for w in ("HOLDS", "FAILS", "NOT met", "-> met") if w in line]
    assert len(words) == 1, f"expected exactly one verdict word in {line!r}"
    return words[0].removeprefix("-> ")


# -- label_scale -----------------------------------------------------------------------------
def scale_run(curate: dict, baseline: dict) -> list[dict]:
    base = {"precision": 1.0, "recall": 0.98, "total_s": 12.0}
    return [
        {"method": "curate", **base, **curate},
        {"method": "baseline", **base, **baseline},
    ]


def test_label_scale_holds_when_curate_matches_the_baseline_within_the_bars() -> None:
    found = bench("label_scale").verdicts(scale_run({"recall": 0.975, "total_s": 30.0}, {}))
    assert [v["claim"] for v in found] == ["quality", "cost"]
    assert [v["holds"] for v in found] == [True, True]
    for v in found:
        assert outcome(v["line"]) == "HOLDS"
        assert "baseline" in v["line"] and "in-sample: no" in v["line"]
    assert "0.975" in found[0]["line"] and "0.980" in found[0]["line"]  # side by side
    assert "30.0 s" in found[1]["line"] and "12.0 s" in found[1]["line"]


@pytest.mark.parametrize(
    ("curate", "failing"),
    [({"recall": 0.95}, "quality"), ({"precision": 0.98}, "quality"), ({"total_s": 40.0}, "cost")],
)
def test_label_scale_fails_when_curate_loses(curate: dict, failing: str) -> None:
    found = {v["claim"]: v for v in bench("label_scale").verdicts(scale_run(curate, {}))}
    assert not found[failing]["holds"] and outcome(found[failing]["line"]) == "FAILS"


def test_label_scale_fails_without_a_baseline() -> None:
    found = bench("label_scale").verdicts(scale_run({}, {})[:1])
    assert [v["holds"] for v in found] == [False, False]
    assert all("no baseline figures" in v["line"] for v in found)


# -- evaluate_versions ---------------------------------------------------------------------
def version(accuracy: float, half_width: float = 0.0086) -> dict:
    return {"accuracy": accuracy, "within_noise_below": half_width}


def test_evaluate_versions_holds_for_a_rise_beyond_noise_not_behind_dropping() -> None:
    verdict = bench("evaluate_versions").verdict
    good = verdict(version(0.8203), version(0.8504), version(0.8450), "in-sample: no (planted)")
    assert good["holds"] and outcome(good["line"]) == "HOLDS"
    for text in ("0.8504", "0.8203", "0.8450", "raw version", "dropped", "in-sample: no (planted)"):
        assert text in good["line"]
    default = verdict(version(0.8203), version(0.8504), version(0.8450))["line"]
    assert "in-sample: YES" in default or "in-sample: no" in default  # says which, either way
    for after in (0.8250, 0.8100):  # within noise; worse
        bad = verdict(version(0.8203), version(after), version(0.8200))
        assert not bad["holds"] and outcome(bad["line"]) == "FAILS"
    wide = verdict(version(0.8203), version(0.8504, half_width=0.04), version(0.84))
    assert not wide["holds"]  # the wider interval counts


def test_evaluate_versions_fails_when_dropping_the_flagged_rows_does_better() -> None:
    found = bench("evaluate_versions").verdict(version(0.8203), version(0.8504), version(0.8700))
    assert not found["holds"] and outcome(found["line"]) == "FAILS"


def test_evaluate_versions_fails_without_a_baseline() -> None:
    verdict = bench("evaluate_versions").verdict
    cases = [
        (None, version(0.85), version(0.84)),
        ({"accuracy": 0.82}, version(0.85), version(0.84)),
        (version(0.82), None, version(0.84)),
        (version(0.82), version(0.85), None),
    ]
    for raw, after, dropped in cases:
        found = verdict(raw, after, dropped)
        assert not found["holds"] and outcome(found["line"]) == "FAILS"


def test_evaluate_versions_held_out_split_groups_copies_and_plants_noise_in_train_only() -> None:
    import pandas as pd

    texts = [f"text {i}" for i in range(200)] + ["copy"] * 12 + ["again"] * 7
    labels = ["spam" if i % 5 == 0 else "ham" for i in range(200)] + ["ham"] * 12 + ["spam"] * 7
    frame = pd.DataFrame({"label": labels, "text": texts})
    split = bench("evaluate_versions").split_and_noise
    train, test = split(frame, 0.1, 1)
    assert len(train) + len(test) == len(frame) and not set(train.text) & set(test.text)
    assert 0.15 < len(test) / len(frame) < 0.35
    assert (test.label == test.gold_label).all()  # the test split stays clean
    gold = dict(zip(frame.text, frame.label, strict=False))
    assert (train.gold_label == train.text.map(gold)).all()
    for c in ("ham", "spam"):
        in_class = train[train.gold_label == c]
        assert (in_class.label != c).sum() == round(0.1 * len(in_class))
    again, _ = split(frame, 0.1, 1)
    assert again.equals(train)  # seeded
    assert not split(frame, 0.1, 2)[0].equals(train)


def test_evaluate_versions_says_the_held_out_run_is_not_in_sample() -> None:
    note = bench("evaluate_versions").in_sample_note
    held = note("sms_spam", 1)
    assert held.startswith("in-sample: no") and "sms_spam" in held and "seed 1" in held
    assert "noisy_agnews" in note("noisy_agnews")


# -- augmentation --------------------------------------------------------------------------
def aug_table(**override: list[float]) -> dict[str, list[float]]:
    table = {
        "none": [0.10, 0.05, 0.15, 0.12, 0.08],
        "curate aug x2": [0.55, 0.50, 0.60, 0.52, 0.58],
        "oversample x2": [0.54, 0.52, 0.58, 0.53, 0.57],
        "class_weight=balanced": [0.50, 0.49, 0.61, 0.50, 0.59],
    }
    return {**table, **override}


def test_augmentation_holds_when_it_beats_none_and_no_baseline_beats_it() -> None:
    found = bench("augmentation").verdict(aug_table(), 2)
    assert found["holds"] and outcome(found["line"]) == "HOLDS"
    for name in ("none", "oversample x2", "class_weight=balanced", "in-sample: no"):
        assert name in found["line"]


@pytest.mark.parametrize(
    "override",
    [
        {"oversample x2": [0.60, 0.55, 0.65, 0.57, 0.63]},  # oversampling better on every seed
        {"class_weight=balanced": [0.80, 0.82, 0.85, 0.79, 0.84]},
        {"none": [0.55, 0.50, 0.60, 0.52, 0.58]},  # no better than adding nothing
    ],
)
def test_augmentation_fails_when_a_baseline_wins_or_it_does_not_help(override: dict) -> None:
    found = bench("augmentation").verdict(aug_table(**override), 2)
    assert not found["holds"] and outcome(found["line"]) == "FAILS"


def test_augmentation_fails_without_a_baseline_or_with_one_seed() -> None:
    table = aug_table()
    del table["class_weight=balanced"]
    found = bench("augmentation").verdict(table, 2)
    assert not found["holds"] and "class_weight=balanced" in found["line"]
    one = {k: v[:1] for k, v in aug_table().items()}
    assert not bench("augmentation").verdict(one, 2)["holds"]


# -- review_push ---------------------------------------------------------------------------
def test_review_push_is_met_at_the_target_and_says_whether_it_is_in_sample() -> None:
    rp = bench("review_push")
    ev = {"tasks_per_s": {"baseline": 700.0, "curate": 690.0}}
    found = rp.verdict(ev, 1000, "agnews", 1000)
    assert found["holds"] and outcome(found["line"]) == "met"
    assert "690.0" in found["line"] and "700.0" in found["line"]
    assert "in-sample: no" in found["line"] and "is it" in found["line"]
    same_data = rp.verdict(ev, 1000, rp.TUNING_DATA, 2500)["line"]
    assert "in-sample: YES" in same_data and "is NOT it" in same_data


def test_review_push_is_not_met_when_slower_or_without_a_baseline() -> None:
    rp = bench("review_push")
    slow = rp.verdict({"tasks_per_s": {"baseline": 700.0, "curate": 500.0}}, 1000, "agnews", 1000)
    assert not slow["holds"] and outcome(slow["line"]) == "NOT met"
    alone = rp.verdict({"tasks_per_s": {"curate": 690.0}}, 1000, "agnews", None)
    assert not alone["holds"] and "no baseline figures" in alone["line"]


def test_review_push_tuning_choice_prefers_the_smaller_chunk_within_the_tie() -> None:
    choose = bench("review_push").choose_chunk
    assert choose({500: 700.0, 1000: 720.0, 2500: 740.0}) == 1000  # 700 < 0.95 * 740
    assert choose({500: 710.0, 1000: 720.0, 2500: 740.0}) == 500
    assert choose({500: 600.0, 1000: 650.0, 2500: 740.0}) == 2500


# -- embed_throughput ----------------------------------------------------------------------
def embed_run(**override: dict) -> dict:
    """One run's figures where every claim holds; ``override`` replaces parts by path, e.g.
    ``{"agnews/curate/auto": {"rows_per_s": 240.0}}`` (merged into that dict)."""
    run = {
        "datasets": {
            "agnews": {
                "baseline": {"rows": 3000, "rows_per_s": 120.0, "load_s": 5.0, "encode_s": 25.0,
                             "peak_rss_mib": 1000.0},
                "curate": {"auto": {"rows_per_s": 250.0, "peak_rss_mib": 400.0}},
                "agreement": {"auto": {"mean_cosine": 0.995, "knn_overlap": 0.93}},
            },
            "twentynews": {
                "baseline": {"rows": 2000, "rows_per_s": 25.0, "load_s": 5.0, "encode_s": 80.0,
                             "peak_rss_mib": 1100.0},
                "curate": {"auto": {"rows_per_s": 40.0, "peak_rss_mib": 420.0}},
                "agreement": {"auto": {"mean_cosine": 0.994, "knn_overlap": 0.94}},
            },
        },
        "quality": {"torch": {"auprc": 0.592}, "auto": {"auprc": 0.588}},
        "incremental": {"embedded": 100, "step_s": 3.0, "wall_s": 8.0},
    }  # fmt: skip
    for path, values in override.items():
        node = run if path in ("quality", "incremental") else run["datasets"]
        for key in path.split("/"):
            node = node.setdefault(key, {})
        node.update(values)
    return run


def embed_verdicts(run: dict) -> dict[str, dict]:
    found = bench("embed_throughput").verdicts(run)
    assert [v["claim"] for v in found] == ["speed", "agreement", "memory", "incremental"]
    return {v["claim"]: v for v in found}


def test_embed_throughput_holds_when_auto_is_fast_faithful_and_lean() -> None:
    found = embed_verdicts(embed_run())
    assert all(v["holds"] and outcome(v["line"]) == "HOLDS" for v in found.values())
    speed = found["speed"]["line"]
    assert "250.0" in speed and "120.0" in speed and "2.08x" in speed and "1.60x" in speed
    assert "same run" in speed and "plain SentenceTransformer.encode" in speed
    assert "0.5880 (auto) vs 0.5920 (fp32 torch" in found["agreement"]["line"]
    assert "400 vs baseline (same run) 1000 MiB (-600)" in found["memory"]["line"]
    assert "in-sample: partly" in speed and "in-sample: partly" in found["agreement"]["line"]
    assert "twentynews is not" in found["agreement"]["line"]


def test_embed_throughput_holds_exactly_at_the_bars() -> None:
    found = embed_verdicts(
        embed_run(
            **{
                "agnews/curate/auto": {"rows_per_s": 240.0, "peak_rss_mib": 1150.0},  # 2.0x
                "twentynews/curate/auto": {"rows_per_s": 37.5},  # 1.5x
                "twentynews/agreement/auto": {"mean_cosine": 0.99, "knn_overlap": 0.90},
                "quality": {"auto": {"auprc": 0.582}},  # 0.01 below fp32's 0.592
            }
        )
    )
    assert all(v["holds"] for v in found.values()), [v["line"] for v in found.values()]


@pytest.mark.parametrize(
    ("override", "failing"),
    [
        ({"agnews/curate/auto": {"rows_per_s": 230.0}}, "speed"),  # 1.92x < 2x
        ({"twentynews/curate/auto": {"rows_per_s": 36.0}}, "speed"),  # 1.44x < 1.5x
        ({"agnews/agreement/auto": {"mean_cosine": 0.989}}, "agreement"),
        ({"twentynews/agreement/auto": {"knn_overlap": 0.89}}, "agreement"),
        ({"quality": {"auto": {"auprc": 0.580}}}, "agreement"),  # 0.012 below fp32
        ({"quality": {"auto": {"auprc": 0.604}}}, "agreement"),  # 0.012 above: not "within"
        ({"agnews/curate/auto": {"peak_rss_mib": 1151.0}}, "memory"),  # baseline + 151 MiB
        ({"twentynews/curate/auto": {"peak_rss_mib": 1300.0}}, "memory"),
        ({"incremental": {"embedded": 3100}}, "incremental"),  # re-embedded everything
        ({"incremental": {"step_s": 31.0}}, "incremental"),  # slower than re-running the script
    ],
)
def test_embed_throughput_fails_when_curate_loses(override: dict, failing: str) -> None:
    found = embed_verdicts(embed_run(**override))
    assert not found[failing]["holds"] and outcome(found[failing]["line"]) == "FAILS"
    assert all(v["holds"] for claim, v in found.items() if claim != failing)


def test_embed_throughput_fails_without_a_baseline_or_a_figure() -> None:
    run = embed_run()
    del run["datasets"]["twentynews"]["baseline"]
    found = embed_verdicts(run)
    assert not found["speed"]["holds"] and not found["memory"]["holds"]
    assert "no baseline figures for twentynews" in found["speed"]["line"]
    assert "no baseline RSS for twentynews" in found["memory"]["line"]
    run = embed_run()
    del run["datasets"]["agnews"]["baseline"]
    found = embed_verdicts(run)
    assert not found["incremental"]["holds"]
    assert "no baseline figures" in found["incremental"]["line"]
    run = embed_run()
    del run["quality"]["torch"]
    found = embed_verdicts(run)
    assert not found["agreement"]["holds"] and outcome(found["agreement"]["line"]) == "FAILS"
    assert "no fp32 (baseline) AUPRC" in found["agreement"]["line"]
    run = embed_run()
    del run["datasets"]["agnews"]["curate"]["auto"]
    found = embed_verdicts(run)
    assert (
        not found["speed"]["holds"]
        and "no curate auto figures for agnews" in found["speed"]["line"]
    )
