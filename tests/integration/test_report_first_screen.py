"""The report a team lead opens, on a real data set (banking77, train + test as a new user
would set it up): its first screen (1280 x 900, headless Chromium) states the test set's
leakage share and the accuracy with and without the leaked rows."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from curate import layout
from curate.scaffold.tools import dvc_command, run_tool, tool_env
from tests.helpers import require_shared_data
from tests.integration.browser import browser_skip_reason, open_page

BANKING77 = Path(__file__).resolve().parents[3] / "shared" / "data" / "banking77"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def visible_without_scrolling(tab, text: str, height: int = 900) -> bool:
    box = tab.get_by_text(text, exact=False).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


@pytest.mark.skipif(browser_skip_reason() is not None, reason=str(browser_skip_reason()))
def test_banking77_first_screen_states_leakage_and_leak_adjusted_accuracy(
    tmp_path, artifacts_dir, monkeypatch
) -> None:

    require_shared_data(BANKING77)
    monkeypatch.setenv("CURATE_REMOTES_DIR", str(tmp_path / "remotes"))
    root = tmp_path / "banking77"
    (root / "data").mkdir(parents=True)
    for name in ("train.csv", "test.csv"):
        shutil.copy(BANKING77 / name, root / "data" / name)
    init = [sys.executable, "-m", "curate", "init", "--data", "data/train.csv",
            "--data", "test=data/test.csv"]  # fmt: skip
    proc = subprocess.run(init, cwd=root, env=tool_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run_tool(dvc_command("repro"), root, "dvc repro")

    metrics = json.loads((root / layout.EVALUATION).read_text())
    share, raw = metrics["leak_share"], metrics["accuracy"]
    adjusted = metrics["accuracy_without_leaks"]
    # What the pipeline measured on this data set when leakage was first reported: 13.5% of
    # the test queries leaked, 0.908 raw and 0.902 without them (this run: 13.3%, 0.907,
    # 0.901; the evaluation embeds with the int8 model).
    assert 0.125 <= share <= 0.145 and abs(raw - 0.908) <= 0.005
    assert abs(adjusted - 0.902) <= 0.005 and adjusted < raw

    page = root / layout.REPORT
    assert page.stat().st_size < 2_000_000
    shot = artifacts_dir / "banking77-first-screen.png"
    with open_page(page) as (tab, errors):
        tab.screenshot(path=str(shot))  # the first screen only
        texts = [f"{100 * share:.1f}% of the test split", f"{raw:.3f}", f"{adjusted:.3f}"]
        seen = {t: visible_without_scrolling(tab, t) for t in texts}
    assert errors == []
    assert all(seen.values()), seen
    assert shot.is_file() and shot.stat().st_size > 20_000
