"""The Ray executor against the local one on this machine. Prints one JSON object of figures.

The same batch of rollouts (``--rollouts``, each making ``--calls`` shell calls in its own
Docker sandbox, then stopping) is played through ``run_to_dir`` by the local executor and by the
Ray executor with 1 and with 2 workers (``ExecutorSettings(name="ray", workers=N)``), each
worker playing up to ``--sandboxes`` rollouts at once; the local executor runs at ``--sandboxes``
and at twice that, the in-flight total of 2 workers. The model is the instant scripted server of
``bench/harness.py``, in a process of its own so that its CPU is not counted. One local Ray
instance (``ray_cluster.connect(None, local_cpus=2)``) serves both Ray measurements and is shut
down at the end; each run still starts and stops its own workers, inside its wall time.

Figures per case: rollouts/s and wall seconds for the whole run (Ray's worker start included),
``steady_rollouts_per_s`` from the first finished rollout to the last (the rate once workers
play; it means something when ``--rollouts`` is several times the rollouts in flight), and
``driver_cpu_ms_per_rollout``: this process's CPU (``time.process_time``, all its threads, Ray's
core worker included) per rollout. Under Ray that is what the driver alone spends (starting and
stopping the workers, dispatch, results, the run directory), so ``driver_rollouts_per_cpu_s``
(its inverse) bounds how many rollouts per second one driver can take from a cluster; with the
local executor it is the whole harness. ``ray_start_s`` is the one-off time to start the local
Ray instance.

Both cases with Ray run on this one node: the two workers share its cores and Docker engine, so
they measure the executor's overhead and scheduling, not a second machine's capacity.

Usage: python bench/ray.py [--rollouts 24] [--calls 5] [--sandboxes 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from harness import make_sessions, start_server  # beside this script

from understudy.replay.executors import ExecutorSettings, ray_cluster
from understudy.replay.loop import LoopLimits
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.replay.shared_candidate import SharedCandidate
from understudy.sandbox.gc import remove_run_images
from understudy.trajectory import Session

# This script is named ray.py: its folder leaves the path before anything imports Ray (which
# understudy does only when a run uses it), or ``import ray`` would find this file.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]

LOCAL_CPUS = 2
"""CPUs of the local Ray instance (this machine's)."""


RUN_PREFIX = f"bench-ray-{uuid.uuid4().hex[:6]}"
"""The start of this process's run ids: unique, so that two benches at once never share (or
clean up) each other's containers and images."""


async def measure(
    sessions: list[Session],
    base_url: str,
    calls: int,
    sandboxes: int,
    run_dir: Path,
    executor: ExecutorSettings,
) -> dict[str, float]:
    """One run of ``sessions`` on ``executor``: its figures."""
    candidate = SharedCandidate("scripted", base_url=base_url)
    settings = RunSettings(
        run_id=f"{RUN_PREFIX}-{executor.name}{executor.workers or ''}-{uuid.uuid4().hex[:6]}",
        sandboxes=sandboxes,
        model_concurrency=sandboxes,
        limits=LoopLimits(max_steps=calls + 1),  # every call, then the final answer
        backend="docker",
    )
    finished_at: list[float] = []
    cpu, wall = time.process_time(), time.perf_counter()
    summary = await run_to_dir(
        sessions,
        settings,
        candidate,
        RunDir(run_dir),
        progress=lambda rollout: finished_at.append(time.perf_counter()),
        executor=executor,
    )
    cpu, end = time.process_time() - cpu, time.perf_counter()
    await candidate.close()
    assert summary["status"] == {"completed": len(sessions)}, summary
    assert summary["tool_calls"].get("executed", 0) == len(sessions) * calls, summary
    steady = finished_at[-1] - finished_at[0]
    return {
        "rollouts_per_s": round(len(sessions) / (end - wall), 3),
        "wall_s": round(end - wall, 2),
        "steady_rollouts_per_s": round((len(sessions) - 1) / steady, 3) if steady else 0.0,
        "driver_cpu_ms_per_rollout": round(cpu * 1000 / len(sessions), 2),
        "driver_rollouts_per_cpu_s": round(len(sessions) / cpu, 1) if cpu else 0.0,
    }


async def main(rollouts: int, calls: int, sandboxes: int) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "rollouts": rollouts,
        "tool_calls_per_rollout": calls,
        "sandboxes_per_worker": sandboxes,
        "backend": "docker",
        # Other work on the machine (a test run, another bench) shows here and in the figures.
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
    }
    server, base_url = start_server(calls)
    started = False
    try:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            sessions = make_sessions(root, rollouts)
            local = ExecutorSettings(name="local")
            # Build the environment once so that every measurement starts from a cached image.
            await measure(sessions[:1], base_url, calls, 1, root / "warm-up", local)
            figures["local"] = await measure(
                sessions, base_url, calls, sandboxes, root / "local", local
            )
            figures[f"local_sandboxes_{sandboxes * 2}"] = await measure(
                sessions, base_url, calls, sandboxes * 2, root / "local-2x", local
            )
            clock = time.perf_counter()
            started = ray_cluster.connect(None, local_cpus=LOCAL_CPUS)
            figures["ray_start_s"] = round(time.perf_counter() - clock, 2)
            for workers in (1, 2):
                executor = ExecutorSettings(name="ray", workers=workers)
                run_dir = root / f"ray-{workers}"
                figures[f"ray_workers_{workers}"] = await measure(
                    sessions, base_url, calls, sandboxes, run_dir, executor
                )
    finally:
        ray_cluster.disconnect(started)
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
        # The env image, built from a repository made for this process, is never used again.
        remove_run_images(RUN_PREFIX)
    local_cpu = figures["local"]["driver_cpu_ms_per_rollout"]
    ray_cpu = figures["ray_workers_2"]["driver_cpu_ms_per_rollout"]
    figures["driver_cpu_ray_over_local"] = round(ray_cpu / local_cpu, 2) if local_cpu else None
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=24, help="rollouts per case")
    parser.add_argument("--calls", type=int, default=5, help="tool calls per rollout")
    parser.add_argument("--sandboxes", type=int, default=4, help="sandboxes per worker")
    arguments = parser.parse_args()
    if arguments.rollouts < 2 or arguments.calls < 1 or arguments.sandboxes < 1:
        parser.error("--rollouts must be at least 2, --calls and --sandboxes at least 1")
    figures = asyncio.run(main(arguments.rollouts, arguments.calls, arguments.sandboxes))
    print(json.dumps(figures))
    sys.exit(0)
