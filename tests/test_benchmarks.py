"""Smoke test of the benchmark harness: it runs and reports every figure.

A benchmark, not a test of speed: nothing here compares a timing with a limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.report import OURS, OURS_OPS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "log_link_durable" in proc.stdout  # the table was printed

    results = json.loads(out.read_text())
    assert results["machine"]["cpu_count"] >= 1
    assert results["machine"]["python"]
    [run] = [r for r in results["runs"] if r["system"] == OURS]
    assert run["notes"] == [], run["notes"]
    assert set(OURS_OPS) <= set(run["ops"])
    for op in OURS_OPS:
        entry = run["ops"][op]
        assert entry["min"] > 0, (op, entry)
        assert entry["min"] <= entry["median"] <= entry["max"], (op, entry)
    figures = {(f["op"], f["n"]) for f in results["figures"] if f["system"] == OURS}
    assert {(op, run["n"]) for op in OURS_OPS} <= figures
    # The search figure is only meaningful if the filter found the workload's matches.
    assert run["ops"]["search_p95"]["hits"] > 0


def test_harness_refuses_unknown_options() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--no-such-option"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "--no-such-option" in proc.stderr
