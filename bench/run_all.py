"""Run the benchmarks that carry performance goals and print one table of their figures.

Each benchmark runs in a process of its own, as ``python bench/NAME.py ARGS``, and prints one
JSON object; every figure it lists under ``goals`` becomes a row: the benchmark, the figure, its
value, the goal, the ratio to the goal (1.0 or more is met) and whether it is met. The scale run
adds its memory growth and sessions/min, and the Ray run its rollouts/s and driver CPU per rollout
by executor, which have no goal of their own. ``--output FILE``
also writes every benchmark's whole JSON object to FILE.

Exits with 1 when a benchmark fails, 0 otherwise (a goal missed is a row that says so, not a
failure: the table is for reading).

Usage: python bench/run_all.py [--quick] [--only startup,judges,...] [--output figures.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent

BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "startup": ([], ["--repeat", "3"]),
    "judges": ([], ["--repeat", "5"]),
    "import": ([], ["--mb", "20", "--json-list-mb", "20"]),
    "harness": ([], ["--rollouts", "4"]),
    "scale": ([], ["--sessions", "200", "--concurrency", "1,8"]),
    "ray": ([], ["--rollouts", "16", "--calls", "3"]),
}
"""Each benchmark's arguments: in a full run, and with ``--quick``."""


def run_one(name: str, arguments: list[str]) -> dict[str, Any]:
    """The JSON object the benchmark printed last, with how long it took."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"bench/{name}.py failed ({result.returncode}): {result.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def rows(name: str, figures: dict[str, Any]) -> list[list[str]]:
    """The table rows of one benchmark's figures: its goals (nested cases included)."""
    found = []
    for case, value in figures.items():
        if case == "goals":
            found += [[name, figure, goal] for figure, goal in value.items()]
        elif isinstance(value, dict) and "goals" in value:
            found += [[name, f"{case}: {figure}", goal] for figure, goal in value["goals"].items()]
    table = [
        [
            bench,
            figure,
            f"{goal['value']:g} {goal['unit']}",
            f"{goal['goal']:g}",
            f"{goal['ratio']:.2f}",
            "yes" if goal["met"] else "NO",
        ]
        for bench, figure, goal in found
    ]
    if name == "scale":
        for case, value in figures.items():
            if case.startswith("concurrency_"):
                level = case.removeprefix("concurrency_")
                table.append(
                    [
                        name,
                        f"sessions/min at concurrency {level}",
                        f"{value['sessions_per_min']:g}",
                        "-",
                        "-",
                        "-",
                    ]
                )
        table.append(
            [
                name,
                "memory growth over the run",
                f"{figures['max_rss_growth_mb']:g} MB",
                "-",
                "-",
                "-",
            ]
        )
    if name == "ray":
        table += ray_rows(figures)
    if name == "import" and "real_logs" in figures:
        real = figures["real_logs"]
        table.append([name, "real_logs: mb_per_s", f"{real['mb_per_s']:g} MB/s", "-", "-", "-"])
    return table


RAY_CASES = {
    "local": "local executor",
    "ray_workers_1": "Ray, 1 worker",
    "ray_workers_2": "Ray, 2 workers",
}
"""The cases of ``bench/ray.py`` that get rows, and what the rows call them."""


def ray_rows(figures: dict[str, Any]) -> list[list[str]]:
    """Rows of ``bench/ray.py``'s figures, which have no goals: throughput and the driver's CPU
    per rollout by executor."""
    table = []
    for case, label in RAY_CASES.items():
        value = figures[case]
        table.append(["ray", f"rollouts/s, {label}", f"{value['rollouts_per_s']:g}", "-", "-", "-"])
        table.append(
            [
                "ray",
                f"driver CPU per rollout, {label}",
                f"{value['driver_cpu_ms_per_rollout']:g} ms",
                "-",
                "-",
                "-",
            ]
        )
    return table


def print_table(table: list[list[str]]) -> None:
    header = ["bench", "figure", "value", "goal", "ratio", "met"]
    widths = [max(len(row[column]) for row in [header, *table]) for column in range(6)]
    for row in [header, ["-" * width for width in widths], *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs (a few minutes)")
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--output", type=Path, help="also write every figure here as JSON")
    arguments = parser.parse_args()
    names = arguments.only.split(",") if arguments.only else list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    cpus, python = len(os.sched_getaffinity(0)), platform.python_version()
    print(f"machine: {platform.machine()}, {cpus} CPUs, Python {python}")
    everything: dict[str, Any] = {}
    table: list[list[str]] = []
    failed = False
    for name in names:
        full, quick = BENCHMARKS[name]
        print(f"running bench/{name}.py ...", file=sys.stderr, flush=True)
        try:
            everything[name] = run_one(name, quick if arguments.quick else full)
        except RuntimeError as failure:
            print(failure, file=sys.stderr)
            failed = True
            continue
        table += rows(name, everything[name])
    print_table(table)
    sys.stdout.flush()
    if arguments.output is not None:
        arguments.output.write_text(json.dumps(everything, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
