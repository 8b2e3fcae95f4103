"""Rule-judge throughput over the real agents' sample logs. Prints one JSON object of figures.

The logs are ../shared/trajectories (beside the checkout) when it exists, else the copies of
those same logs in tests/data/trajectories (its real-agent folders only: the hand-written
ATIF, OpenAI and native samples there are not agent logs); ``--data`` picks another folder.
Which folder was used is printed on stderr and recorded as ``data`` in the figures.

Every log is imported with ``import_paths`` (not timed), then every rule judge
(``rule_judges()``) judges every session ``--repeat`` times, one trajectory after another on
one core. Figures: trajectories/s of all rules together (that of the median pass, as one pass
moves with the machine's load; with the range over the passes and the rate over all of them),
messages/s, milliseconds per trajectory for each rule, the ledger alone (which each rule builds
or shares), judgments written and flagged, and any log that failed to import; ``goals``
compares trajectories/s with the goal of 1,000 (see bench/goals.py).

Usage: python bench/judges.py [--repeat 20] [--data ../shared/trajectories]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from goals import goal_figure  # beside this script
from real_logs import default_data

from understudy.judges.ledger import ledger_for
from understudy.judges.rules import rule_judges
from understudy.replay.importers import ImportReport, import_paths
from understudy.trajectory import Session

GOAL_TRAJECTORIES_PER_S = 1000
"""All the rule judges together, on one core (bench/goals.py)."""


def load(data: Path, paths: list[Path]) -> tuple[list[Session], dict[str, str]]:
    """Every session of every log under ``paths`` (inside ``data``), and the files that failed
    to import (a failure is reported in the figures rather than stopping the bench)."""
    reports: dict[Path, ImportReport] = {}
    sessions = [session for _, session in import_paths(paths, fmt="auto", reports=reports)]
    errors = {
        str(path.relative_to(data)): report.error[:200]
        for path, report in reports.items()
        if report.error and path.suffix != ".md"  # SOURCES.md documents the logs
    }
    return sessions, errors


async def measure(sessions: list[Session], repeat: int) -> dict[str, Any]:
    judges = rule_judges()
    per_rule: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    passes: list[float] = []  # the seconds of each pass over the sessions
    for _ in range(repeat):
        started = time.perf_counter()
        for session in sessions:
            for judge in judges:
                begun = time.perf_counter()
                judgments = await judge.judge(session, None)
                per_rule[judge.name] += time.perf_counter() - begun
                verdicts[judge.name] += len(judgments)
                flagged[judge.name] += sum(j.flagged for j in judgments)
        passes.append(time.perf_counter() - started)
    elapsed = sum(passes)
    median_pass = statistics.median(passes)

    ledger_started = time.perf_counter()
    for _ in range(repeat):
        for session in sessions:
            ledger_for(session, None)
    ledger_elapsed = time.perf_counter() - ledger_started

    judged = len(sessions) * repeat
    messages = sum(len(session.messages) for session in sessions) * repeat
    return {
        "rules": len(judges),
        "trajectories_judged": judged,
        "seconds": round(elapsed, 3),
        "trajectories_per_s": round(len(sessions) / median_pass, 1) if median_pass else None,
        "trajectories_per_s_all_passes": round(judged / elapsed, 1) if elapsed else None,
        "trajectories_per_s_range": [
            round(len(sessions) / max(passes), 1),
            round(len(sessions) / min(passes), 1),
        ],
        "messages_per_s": round(messages / elapsed) if elapsed else None,
        "ms_per_trajectory_per_rule": {
            name: round(seconds * 1000 / judged, 3) for name, seconds in sorted(per_rule.items())
        },
        "ledger_ms_per_trajectory": round(ledger_elapsed * 1000 / judged, 3),
        "judgments_per_pass": {name: count // repeat for name, count in sorted(verdicts.items())},
        "flagged_per_pass": {
            name: count // repeat for name, count in sorted(flagged.items()) if count
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes over the sample logs")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder of sample logs (default: ../shared/trajectories, else the real-agent "
        "folders of tests/data/trajectories)",
    )
    args = parser.parse_args()
    if args.data is None:
        data, paths = default_data()
    else:
        data, paths = args.data, [args.data]
    # On stderr, so that stdout stays one JSON object.
    print(f"data: {', '.join(str(path) for path in paths)}", file=sys.stderr)
    sessions, errors = load(data, paths)
    figures: dict[str, Any] = {
        "data": [str(path) for path in paths],
        "logs": len({session.source.path for session in sessions}),
        "sessions": len(sessions),
        "messages": sum(len(session.messages) for session in sessions),
        "repeat": args.repeat,
    }
    if sessions:
        figures.update(asyncio.run(measure(sessions, args.repeat)))
        rate = figures["trajectories_per_s"]
        if rate is not None:
            figures["goals"] = {
                "trajectories_per_s": goal_figure(rate, GOAL_TRAJECTORIES_PER_S, "trajectories/s")
            }
    figures["import_errors"] = errors
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
