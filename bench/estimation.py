"""Estimates against known truth, through the whole pipeline. Prints one JSON object of figures.

Each replication draws a synthetic population (``understudy.testing.population``): ``--sessions``
sessions whose misbehaviour probability per category is drawn from a Beta around the category's
true rate (``--concentration`` small: sessions differ a lot). A scripted candidate on the
scripted server misbehaves at those rates in each of ``--samples`` samples per session. The run
(``run_to_dir``, local backend: the candidate answers in words, no tool runs), the rule judges
(``judge_run``) and the report (``summarize_run``) then estimate each category's rate: the
clustered Jeffreys estimate and interval when there are several samples per session.

Figures, over ``--replications`` replications and the categories:

- ``median_multiplicative_error``: median of ``max(estimate / truth, truth / estimate)``;
- ``coverage``: how often the 95% interval holds the true rate;
- per category, the same two, and the mean design effect the report measured;
- ``naive_coverage``: how often the unclustered Jeffreys interval would have (what ignoring the
  sessions' clustering costs);
- seconds per replication.

Goals: median multiplicative error <= 1.2 and coverage >= 0.93 at the default sizes (400
sessions x 2 samples, true rates 5% and 10%). ``--small`` is the form CI runs (fewer sessions
and replications; its figures are looser).

Usage: python bench/estimation.py [--replications 60] [--sessions 400] [--samples 2] [--small]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from understudy.judges.report import summarize_run
from understudy.judges.rules import rule_judges
from understudy.judges.runner import judge_run
from understudy.replay.candidate import OpenAICandidate
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.replay.simulate import SimulatorConfig
from understudy.testing import ScriptedServer
from understudy.testing.population import BEHAVIOURS, Population, population_policy

TRUTH = {"lying_about_tools": 0.05, "promising_background_tasks": 0.10}


def replicate(
    seed: int, sessions: int, samples: int, concentration: float, root: Path
) -> dict[str, Any]:
    """One population through run, judge and report: each category's estimate and interval."""
    population = Population.draw(sessions, TRUTH, concentration, seed)
    run_dir = RunDir(root / f"r{seed}")
    run_dir.path.mkdir(parents=True)
    run_dir.keep_sessions(population.sessions)
    settings = RunSettings(
        run_id=f"estimation-{seed}",
        samples=samples,
        sample_seed=seed * 1000,
        backend="local",
        sandboxes=8,
        model_concurrency=8,
        prefix_state=False,
        simulator=SimulatorConfig(name="none"),
    )
    with ScriptedServer(population_policy(population), models=["population"]) as server:
        candidate = OpenAICandidate("population", base_url=server.base_url)
        asyncio.run(
            run_to_dir(population.sessions, settings, lambda s: candidate, run_dir, False, {})
        )
    asyncio.run(judge_run(run_dir.path, rule_judges(list(BEHAVIOURS))))
    summary = summarize_run(run_dir.path, write=False)
    estimates = {}
    for row in summary.rows:
        if row.category not in TRUTH or row.judge != "any":
            continue
        clustered = row.clustered
        shown = clustered or row
        estimates[row.category] = {
            "rate": shown.jeffreys_per_100k / 100_000,
            "low": shown.low_per_100k / 100_000,
            "high": shown.high_per_100k / 100_000,
            "naive_low": row.low_per_100k / 100_000,
            "naive_high": row.high_per_100k / 100_000,
            "design_effect": clustered.design_effect if clustered else 1.0,
            "k": row.k,
            "n": row.n,
        }
    return estimates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replications", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=400)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--concentration", type=float, default=2.0)
    parser.add_argument("--small", action="store_true", help="the form CI runs")
    args = parser.parse_args()
    if args.small:
        args.replications, args.sessions = 6, 150
    warnings.simplefilter("ignore", RuntimeWarning)  # the local backend's no-isolation notice
    errors: dict[str, list[float]] = {c: [] for c in TRUTH}
    covered: dict[str, list[bool]] = {c: [] for c in TRUTH}
    naive: dict[str, list[bool]] = {c: [] for c in TRUTH}
    effects: dict[str, list[float]] = {c: [] for c in TRUTH}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(1, args.replications + 1):
            found = replicate(seed, args.sessions, args.samples, args.concentration, Path(scratch))
            for category, truth in TRUTH.items():
                estimate = found[category]
                errors[category].append(max(estimate["rate"] / truth, truth / estimate["rate"]))
                covered[category].append(estimate["low"] <= truth <= estimate["high"])
                naive[category].append(estimate["naive_low"] <= truth <= estimate["naive_high"])
                effects[category].append(estimate["design_effect"])
            print(f"replication {seed}: {found}", file=sys.stderr)
    every_error = [e for values in errors.values() for e in values]
    every_cover = [c for values in covered.values() for c in values]
    every_naive = [c for values in naive.values() for c in values]
    figures = {
        "replications": args.replications,
        "sessions": args.sessions,
        "samples_per_session": args.samples,
        "concentration": args.concentration,
        "truth": TRUTH,
        "median_multiplicative_error": round(statistics.median(every_error), 4),
        "coverage": round(sum(every_cover) / len(every_cover), 4),
        "naive_coverage": round(sum(every_naive) / len(every_naive), 4),
        "per_category": {
            category: {
                "median_multiplicative_error": round(statistics.median(errors[category]), 4),
                "coverage": round(sum(covered[category]) / len(covered[category]), 4),
                "mean_design_effect": round(statistics.mean(effects[category]), 3),
            }
            for category in TRUTH
        },
        "seconds_per_replication": round((time.perf_counter() - started) / args.replications, 2),
        "goals": {"median_multiplicative_error": 1.2, "coverage": 0.93},
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
