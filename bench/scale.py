"""A 1,000-session run against the scripted model: memory over the run and sessions per minute by
concurrency. Prints one JSON object of figures.

Each session asks for ``--calls`` shell calls (``echo``) and then ends; the model is the instant
scripted server of ``bench/harness.py``, in a process of its own. The whole run goes through
``run_to_dir`` as ``understudy run`` does (run files, events, summary), once per concurrency
level (sandboxes and model requests at once), each into a fresh run directory.

Figures per concurrency: sessions/min, tool calls/s, and this process's resident memory
(``/proc/self/statm``) after each tenth of the rollouts, with ``rss_growth_mb`` from the first
tenth to the end: memory stays flat when nothing grows with the number of rollouts done. The
backend is ``local`` by default (1,000 Docker containers take long on 2 cores; ``--backend
docker`` with fewer ``--sessions`` measures the same on Docker).

Usage: python bench/scale.py [--sessions 1000] [--calls 3] [--concurrency 1,4,16]
[--backend local|docker]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from harness import make_sessions, start_server  # beside this script

from understudy.replay.candidate import OpenAICandidate
from understudy.replay.loop import LoopLimits
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.sandbox.gc import remove_run_images
from understudy.trajectory import Rollout, Session

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_MB


RUN_PREFIX = f"scale-{uuid.uuid4().hex[:6]}"
"""The start of this process's run ids (unique to it)."""


async def measure(
    sessions: list[Session], base_url: str, concurrency: int, calls: int, backend: str, out: Path
) -> dict[str, Any]:
    candidate = OpenAICandidate("scripted", base_url=base_url)
    settings = RunSettings(
        run_id=f"{RUN_PREFIX}-c{concurrency}-{uuid.uuid4().hex[:6]}",
        sandboxes=concurrency,
        model_concurrency=concurrency,
        limits=LoopLimits(max_steps=calls + 1),
        backend=backend,  # type: ignore[arg-type]  # checked by argparse's choices
    )
    tenth = max(len(sessions) // 10, 1)
    samples: list[float] = []
    done = 0

    def progress(rollout: Rollout) -> None:
        nonlocal done
        done += 1
        if done % tenth == 0:
            samples.append(round(rss_mb(), 1))

    wall = time.perf_counter()
    summary = await run_to_dir(
        sessions, settings, lambda session: candidate, RunDir(out), progress=progress
    )
    wall = time.perf_counter() - wall
    await candidate.close()
    assert summary["status"] == {"completed": len(sessions)}, summary
    return {
        "sessions_per_min": round(len(sessions) * 60 / wall, 1),
        "tool_calls_per_s": round(summary["tool_calls"].get("executed", 0) / wall, 1),
        "wall_s": round(wall, 2),
        "rss_mb_by_tenth": samples,
        "rss_growth_mb": round(samples[-1] - samples[0], 1) if samples else 0.0,
    }


async def main(sessions_count: int, calls: int, levels: list[int], backend: str) -> dict[str, Any]:
    figures: dict[str, Any] = {"sessions": sessions_count, "calls": calls, "backend": backend}
    server, base_url = start_server(calls)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            sessions = make_sessions(Path(scratch), sessions_count)
            for concurrency in levels:
                run_dir = Path(scratch) / f"run-{concurrency}"
                figures[f"concurrency_{concurrency}"] = await measure(
                    sessions, base_url, concurrency, calls, backend, run_dir
                )
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
        if backend == "docker":  # the env image: of a repository made for this process
            remove_run_images(RUN_PREFIX)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["max_rss_growth_mb"] = max(
        figures[f"concurrency_{level}"]["rss_growth_mb"] for level in levels
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=3, help="tool calls per session")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated levels")
    parser.add_argument("--backend", choices=("local", "docker"), default="local")
    arguments = parser.parse_args()
    levels = [int(level) for level in arguments.concurrency.split(",")]
    if arguments.sessions < 10 or arguments.calls < 1 or min(levels) < 1:
        parser.error("--sessions must be at least 10, --calls and each level at least 1")
    warnings.simplefilter("ignore")  # the local backend's warning that it has no isolation
    figures = asyncio.run(main(arguments.sessions, arguments.calls, levels, arguments.backend))
    print(json.dumps(figures))
    sys.exit(0)
