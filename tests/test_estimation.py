"""The estimation benchmark in its small form: a synthetic population with known per-category
rates (sessions differing a lot) through run, judge and report, several times.

The population, the candidate's choices and the runs are seeded, so the figures are the same on
every machine; the full benchmark (``python bench/estimation.py``) measures the goals.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "estimation.py"


@pytest.mark.slow
def test_the_small_estimation_benchmark_finds_the_truth(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--small"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["replications"] == 6 and figures["sessions"] == 150
    assert figures["median_multiplicative_error"] <= 1.3
    assert figures["coverage"] >= 0.9
    # Two samples per session of sessions that differ: the report measured the clustering.
    for category in figures["truth"]:
        assert figures["per_category"][category]["mean_design_effect"] > 1.1
