"""The helpers every benchmark script shares (``benchmarks/common.py``): a measured child
process reports its own wall time and peak memory, a worker that runs too long is killed, and
results land in ``benchmarks/results``."""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
common = importlib.import_module("common")

ALLOCATE = "import sys; n = int(sys.argv[1]) << 20; b = bytearray(b'x' * n); print(len(b))"


def test_measured_child_reports_peak_rss_that_grows_with_what_it_allocates(tmp_path):
    small = common.measured([sys.executable, "-c", ALLOCATE, "0"], tmp_path, tmp_path / "a.log")
    big = common.measured([sys.executable, "-c", ALLOCATE, "200"], tmp_path, tmp_path / "b.log")
    assert small["rc"] == big["rc"] == 0
    assert big["stdout"] == [str(200 << 20)]  # the child's own output comes back
    grown_mib = (big["maxrss_kib"] - small["maxrss_kib"]) / 1024
    # b"x" * n and its bytearray copy are both alive: about 400 MiB at the peak.
    assert 190 <= grown_mib <= 600, grown_mib
    assert small["wall_s"] > 0 and big["wall_s"] > 0


def test_measured_child_that_fails_exits_with_its_log(tmp_path):
    cmd = [sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"]
    with pytest.raises(SystemExit) as err:
        common.measured(cmd, tmp_path, tmp_path / "c.log")
    assert "rc=3" in str(err.value) and "boom" in str(err.value)


def test_json_child_returns_the_workers_last_line_and_kills_it_on_timeout():
    worker = "import json; print('noise'); print(json.dumps({'method': 'x', 'rows': 3}))"
    assert common.json_child([sys.executable, "-c", worker]) == {"method": "x", "rows": 3}
    t0 = time.perf_counter()
    out = common.json_child([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert out["timed_out"] is True and time.perf_counter() - t0 < 15
    failed = common.json_child([sys.executable, "-c", "raise SystemExit(4)"])
    assert failed["failed"] == 4


def test_limit_threads_keeps_what_the_caller_set(monkeypatch):
    for var in common.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "2")
    common.limit_threads()
    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "2"


def test_write_json_creates_the_folder_and_keeps_the_figures(tmp_path):
    path = common.write_json(tmp_path / "sub" / "r.json", {"x": 1.5, "seeds": [0, 1]})
    assert json.loads(path.read_text()) == {"x": 1.5, "seeds": [0, 1]}


def test_no_benchmark_file_is_over_400_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in BENCH.glob("*.py")}
    assert len(sizes) > 20
    assert {n: s for n, s in sizes.items() if s > 400} == {}
