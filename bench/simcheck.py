"""Realism of the retrieval simulator on real logs, leaving each result out. Prints one JSON object.

The logs are ../shared/trajectories (beside the checkout) when it exists, else the copies of
those same logs in tests/data/trajectories; ``--data`` picks another folder. They are imported
(de-identified) and their pairs built into a temporary database; then every recorded call is
simulated from the messages before it, with no pair of its own session to draw on, and compared
with its recorded result (see :mod:`understudy.replay.simulate.simcheck`).

Figures: ``overall`` (calls, answered, exit agreement, similarity), the same ``per_format``, the
share of answers drawn from the conversation itself, from a pair of the same tool or of another,
mean confidence of the answers against their similarity (is confidence a ranking signal?), and
the simulation rate in calls/s.

Usage: python bench/simcheck.py [--data ../shared/trajectories]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pairs import import_sessions  # beside this script
from real_logs import default_data  # beside this script

from understudy.replay.pairs import build_from_sessions
from understudy.replay.simulate import SimulatorConfig, Simulators
from understudy.replay.simulate.simcheck import Comparison, check_sessions, summarize


def confidence_figures(comparisons: list[Comparison]) -> dict[str, Any]:
    """Mean similarity of the answers above and below the median confidence."""
    scored = [c for c in comparisons if c.answered and c.confidence is not None]
    if len(scored) < 2:
        return {}
    middle = statistics.median(c.confidence for c in scored if c.confidence is not None)
    high = [c.similarity for c in scored if c.confidence is not None and c.confidence > middle]
    low = [c.similarity for c in scored if c.confidence is not None and c.confidence <= middle]
    return {
        "median_confidence": round(middle, 3),
        "similarity_above_median_confidence": round(statistics.fmean(high), 4) if high else None,
        "similarity_at_or_below_median_confidence": round(statistics.fmean(low), 4)
        if low
        else None,
    }


async def measure(paths: list[Path], scratch: Path) -> dict[str, Any]:
    sessions = import_sessions(paths, scratch)
    database = scratch / "pairs.db"
    build_from_sessions(database, [("bench", session) for session in sessions])
    simulators = Simulators(SimulatorConfig(pairs=database, leave_out_session=True))
    started = time.perf_counter()
    try:
        comparisons = await check_sessions(sessions, simulators, concurrency=1)
    finally:
        await simulators.close()
    seconds = time.perf_counter() - started
    summary = summarize(comparisons)
    answered = [c for c in comparisons if c.answered]
    from_conversation = sum(1 for c in answered if not c.pair_ids)
    return {
        "sessions": len(sessions),
        "overall": summary["overall"],
        "per_format": summary["per_format"],
        "answers_from_the_conversation": from_conversation,
        "answers_from_pairs": len(answered) - from_conversation,
        **confidence_figures(comparisons),
        "calls_per_s": round(len(comparisons) / seconds, 1) if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder of logs (default: the shared logs)")
    options = parser.parse_args()
    shown, paths = (options.data, [options.data]) if options.data else default_data()
    with tempfile.TemporaryDirectory() as scratch:
        figures = asyncio.run(measure(paths, Path(scratch)))
    json.dump({"data": str(shown), **figures}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
