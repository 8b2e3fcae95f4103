"""Pair database throughput: build rate and nearest-pair query latency. Prints one JSON object.

The logs are ../shared/trajectories (beside the checkout) when it exists, else the copies of
those same logs in tests/data/trajectories (its real-agent folders only); ``--data`` picks
another folder. They are imported as ``understudy import auto`` does (de-identified) into a
temporary sessions file, read back, and replicated under varied session ids (``~rN``) until
they hold ``--pairs`` pairs (100k by default), since the real logs hold a few hundred.

Figures: the build rate in pairs/s (``build_from_sessions`` into a new file, including the
de-identification check of every session, on one core), the same rate for a rebuild (every
pair unchanged), the database size, and the p50/p95/max latency in ms of ``nearest(k=5)`` for
``--queries`` calls drawn from the logs (goal: p50 <= 10 ms at 100k pairs). Drawn calls repeat
(the logs hold a few hundred), so most find their words' frequencies cached; ``cold_query_*``
are the latencies of each distinct call asked once on a new connection, nothing cached.

Usage: python bench/pairs.py [--pairs 100000] [--queries 500] [--data ../shared/trajectories]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from real_logs import default_data  # beside this script

from understudy.jsonl import read_models, write_models
from understudy.replay.importers import import_paths
from understudy.replay.pairs import build_from_sessions, connect, nearest
from understudy.replay.pairs.build import session_pairs
from understudy.replay.prefix import session_agent
from understudy.trajectory import Session, ToolCall


def import_sessions(paths: list[Path], scratch: Path) -> list[Session]:
    """The logs imported as ``understudy import auto`` does, through a sessions file."""
    sessions_file = scratch / "sessions.jsonl"
    with sessions_file.open("w", encoding="utf-8") as handle:
        for _, session in import_paths(paths, fmt="auto", reports={}):
            write_models(handle, [session])
    return list(read_models(sessions_file, Session))


def replicas(sessions: list[Session], pairs: int) -> Iterator[tuple[str, Session]]:
    """The sessions again and again under new ids (``id~rN``) until ``pairs`` pairs are out."""
    per_round = sum(sum(1 for _ in session_pairs(session)) for session in sessions)
    rounds = max(1, -(-pairs // per_round))
    for number in range(rounds):
        for session in sessions:
            yield "bench", session.model_copy(update={"id": f"{session.id}~r{number}"})


def sample_calls(sessions: list[Session], queries: int) -> list[tuple[ToolCall, str]]:
    """``queries`` calls (with their agents) drawn from the logs, repeats allowed."""
    calls = [
        (call, session_agent(session))
        for session in sessions
        for message in session.messages
        for call in message.tool_calls
    ]
    return random.Random(0).choices(calls, k=queries)


def time_queries(database: Path, calls: list[tuple[ToolCall, str]]) -> tuple[list[float], int]:
    """Milliseconds of ``nearest(k=5)`` for each call on one new connection, and the pairs
    returned in all."""
    connection = connect(str(database))
    latencies, returned = [], 0
    for call, agent in calls:
        started = time.perf_counter()
        returned += len(nearest(connection, call, agent, k=5))
        latencies.append((time.perf_counter() - started) * 1000)
    connection.close()
    return latencies, returned


def measure(sessions: list[Session], pairs: int, queries: int, scratch: Path) -> dict[str, Any]:
    database = scratch / "pairs.db"
    started = time.perf_counter()
    built = build_from_sessions(database, replicas(sessions, pairs))
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    rebuilt = build_from_sessions(database, replicas(sessions, pairs))
    rebuild_s = time.perf_counter() - started
    calls = sample_calls(sessions, queries)
    cold, _ = time_queries(
        database, list({id(call): (call, agent) for call, agent in calls}.values())
    )
    latencies, returned = time_queries(database, calls)
    cuts, cold_cuts = statistics.quantiles(latencies, n=100), statistics.quantiles(cold, n=100)
    return {
        "pairs": built["added"],
        "build_s": round(build_s, 2),
        "build_pairs_per_s": round(built["added"] / build_s),
        "rebuild_unchanged": rebuilt["unchanged"],
        "rebuild_pairs_per_s": round(rebuilt["unchanged"] / rebuild_s),
        "db_mb": round(database.stat().st_size / 1e6, 1),
        "queries": queries,
        "query_p50_ms": round(cuts[49], 2),
        "query_p95_ms": round(cuts[94], 2),
        "query_max_ms": round(max(latencies), 2),
        "distinct_calls": len(cold),
        "cold_query_p50_ms": round(cold_cuts[49], 2),
        "cold_query_p95_ms": round(cold_cuts[94], 2),
        "mean_results": round(returned / queries, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000, help="pairs to build")
    parser.add_argument("--queries", type=int, default=500, help="nearest() calls timed")
    parser.add_argument("--data", type=Path, help="folder of logs (default: ../shared)")
    args = parser.parse_args()
    data, paths = (args.data, [args.data]) if args.data else default_data()
    print(f"logs: {data}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        sessions = import_sessions(paths, Path(scratch))
        figures = {"data": str(data), "sessions": len(sessions)}
        figures |= measure(sessions, args.pairs, args.queries, Path(scratch))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
