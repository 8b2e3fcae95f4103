"""How long the command line takes to start. Prints one JSON object of figures.

Each command is run ``--repeat`` times as a fresh process (``understudy`` as installed, else
``python -m understudy``) with its output thrown away; the figures are the median wall time of
``understudy --help`` and of each listed command's own ``--help`` (which loads that command's
module), and the peak memory of ``understudy --help``. The goal, 0.3 s, holds for ``understudy
--help`` and for the slowest command's own start (``slowest_command_help_s``).

Usage: python bench/startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

from goals import goal_figure  # beside this script

GOAL_S = 0.3
COMMANDS = ("run", "judge", "report", "import", "view", "suite")
"""Commands whose own start is measured too (each loads its module)."""


def understudy_command() -> list[str]:
    installed = shutil.which("understudy")
    return [installed] if installed else [sys.executable, "-m", "understudy"]


def median_seconds(arguments: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([*understudy_command(), *arguments], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(repeat: int) -> dict[str, Any]:
    median_seconds(["--help"], 1)  # the bytecode compiled and the files cached
    help_s = median_seconds(["--help"], repeat)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures: dict[str, Any] = {
        "repeat": repeat,
        "help_s": round(help_s, 3),
        "help_peak_rss_mb": round(peak_kb / 1024, 1),
        "command_help_s": {
            name: round(median_seconds([name, "--help"], repeat), 3) for name in COMMANDS
        },
    }
    slowest = max(figures["command_help_s"].values())
    figures["goals"] = {
        "help_s": goal_figure(help_s, GOAL_S, "s", higher_is_better=False),
        "slowest_command_help_s": goal_figure(slowest, GOAL_S, "s", higher_is_better=False),
    }
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()
    if arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    print(json.dumps(main(arguments.repeat)))
