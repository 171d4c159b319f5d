"""Summaries, paired comparisons, verdicts and tables of ``active_learning.py``."""

from __future__ import annotations

import numpy as np

ACCEPT_SAVINGS = 0.25  # at least 25% fewer labels than random needs for its final accuracy


def labels_to_reach(labels: list[int], curve: np.ndarray, target: float) -> float | None:
    """Labels at which the mean curve first reaches ``target`` (linear interpolation)."""
    for i, acc in enumerate(curve):
        if acc >= target:
            if i == 0:
                return float(labels[0])
            a0, a1 = curve[i - 1], acc
            return float(labels[i - 1] + (target - a0) / (a1 - a0) * (labels[i] - labels[i - 1]))
    return None


def summarise(runs: list[dict], name: str) -> dict:
    runs = sorted((r for r in runs if r["strategy"] == name), key=lambda r: r["seed"])
    acc = np.array([r["accuracy"] for r in runs])
    # Per seed: the mean accuracy over the rounds after the shared start (area under the curve).
    return {"mean": acc.mean(axis=0), "std": acc.std(axis=0), "n": len(acc),
            "seeds": [r["seed"] for r in runs], "aulc": acc[:, 1:].mean(axis=1),
            "final": acc[:, -1]}  # fmt: skip


def judge(s: dict, rnd: dict, labels: list[int]) -> dict:
    target = float(rnd["mean"][-1])
    need = labels_to_reach(labels, s["mean"], target)
    gap = s["mean"] - rnd["mean"]
    worst = int(np.argmin(gap + rnd["std"]))
    savings = None if need is None else 1 - need / labels[-1]
    return {
        "labels_to_reach": need,
        "savings": savings,
        "aulc": float(s["aulc"].mean()),
        "worst_gap": float(gap.min()),
        "worst_gap_labels": labels[int(np.argmin(gap))],
        "never_below_one_std": bool(np.all(gap >= -rnd["std"])),
        "worst_gap_minus_std_labels": labels[worst],
        "holds": bool(
            savings is not None and savings >= ACCEPT_SAVINGS - 1e-12 and np.all(gap >= -rnd["std"])
        ),
    }


def paired(a: dict, b: dict, key: str = "aulc") -> dict:
    """Paired difference a - b of a per-seed figure: mean, 95% t-interval, and p (two-sided)."""
    from scipy import stats

    assert a["seeds"] == b["seeds"], "paired comparison needs the same seeds"
    d = np.asarray(a[key]) - np.asarray(b[key])
    n = len(d)
    if n < 2 or np.allclose(d, 0.0, atol=1e-12):
        return {"mean": float(d.mean()) if n else 0.0, "low": float(d.min()) if n else 0.0,
                "high": float(d.max()) if n else 0.0, "p": 1.0, "n": n,
                "identical": bool(n and np.allclose(d, 0.0, atol=1e-12))}  # fmt: skip
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)
    p = float(stats.ttest_rel(a[key], b[key]).pvalue)
    return {"mean": float(d.mean()), "low": float(d.mean() - half),
            "high": float(d.mean() + half), "p": p, "n": n, "identical": False}  # fmt: skip


def paired_text(name: str, c: dict) -> str:
    if c["identical"]:
        return f"vs {name}: identical picks on every seed (the same configuration)"
    return (f"vs {name}: {c['mean']:+.4f} [95% CI {c['low']:+.4f}, {c['high']:+.4f}], "
            f"paired t p={c['p']:.3g}, {c['n']} seeds")  # fmt: skip


def savings_line(name: str, j: dict, target: float, final_labels: int) -> str:
    if j["labels_to_reach"] is None:
        return f"{name}: not reached (random's final {target:.4f})"
    return (
        f"{name}: reaches {target:.4f} at {j['labels_to_reach']:.0f} labels "
        f"({j['savings']:+.1%} fewer than random's {final_labels})"
    )


def curve_table(res: dict, names: list[str]) -> None:
    stats = res["stats"]
    print("| labels | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for i, lab in enumerate(res["labels"]):
        cells = [f"{stats[m]['mean'][i]:.4f} ± {stats[m]['std'][i]:.4f}" for m in names]
        print(f"| {lab} | " + " | ".join(cells) + " |")
    target = float(stats["random"]["mean"][-1])
    print(f"label savings (labels to reach random's final mean accuracy {target:.4f}):")
    for m in names:
        print("  " + savings_line(m, res["judged"][m], target, res["labels"][-1]))


def choose(res: dict, names: list[str]) -> str:
    """The tuning choice: among configurations meeting the acceptance, fewest labels to reach
    random's final accuracy (ties: higher mean accuracy over the rounds); if none meets it,
    the highest mean accuracy over the rounds."""
    j = res["judged"]
    ok = [m for m in names if j[m]["holds"]]
    if ok:
        return min(ok, key=lambda m: (round(j[m]["labels_to_reach"]), -j[m]["aulc"]))
    return max(names, key=lambda m: j[m]["aulc"])
