"""Harness throughput with an instant scripted model. Prints one JSON object of figures.

Each rollout makes ``--calls`` shell calls (``echo``; 10 by default) in its own Docker sandbox,
then stops. The scripted model runs in a separate process so that its CPU time is not counted as
the harness's. Figures, for concurrency 1, 4 and 8 (sandboxes and model requests at once):
rollouts/s, tool calls/s, and the harness's CPU time per tool call (this process: agent loop,
router, docker SDK calls).

Usage: python bench/harness.py [--rollouts 8] [--calls 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git

from understudy.replay.candidate import OpenAICandidate
from understudy.replay.demo import BASH
from understudy.replay.loop import LoopLimits
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.testing import ChatRequest, ScriptedServer, ScriptedTurn
from understudy.trajectory import EnvSpec, Message, RepoSpec, Session, SourceInfo

CALLS_PER_ROLLOUT = 10
"""Tool calls per rollout unless ``--calls`` says otherwise."""


def instant_policy(calls: int) -> Callable[[ChatRequest], ScriptedTurn]:
    """A model that answers at once: ``calls`` shell calls, then a final message."""

    def policy(request: ChatRequest) -> ScriptedTurn:
        done = sum(message["role"] == "tool" for message in request.messages)
        if done >= calls:
            return ScriptedTurn(content="done")
        return ScriptedTurn(content=None, tool_calls=[("bash", {"command": f"echo step {done}"})])

    return policy


def serve(calls: int) -> None:
    """Run the scripted model until stdin closes (the parent process went away)."""
    with ScriptedServer(instant_policy(calls)) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


def make_sessions(root: Path, count: int) -> list[Session]:
    repo = git.Repo.init(root / "repo")
    (root / "repo" / "README").write_text("bench\n")
    repo.index.add(["README"])
    author = git.Actor("bench", "bench@understudy.invalid")
    commit = repo.index.commit("init", author=author, committer=author).hexsha
    env = EnvSpec(repo=RepoSpec(path=str(root / "repo"), commit=commit))
    messages = [Message(role="user", content="Run the steps.")]
    return [
        Session(
            id=f"bench-{number}",
            source=SourceInfo(format="native"),
            env=env,
            tools=[BASH],
            messages=messages,
        )
        for number in range(count)
    ]


async def measure(
    sessions: list[Session], base_url: str, concurrency: int, run_dir: Path, calls_each: int
) -> dict[str, float]:
    candidate = OpenAICandidate("scripted", base_url=base_url)
    settings = RunSettings(
        # Unique, so that two benches at once never share (or clean up) each other's containers.
        run_id=f"bench-c{concurrency}-{uuid.uuid4().hex[:6]}",
        sandboxes=concurrency,
        model_concurrency=concurrency,
        limits=LoopLimits(max_steps=calls_each + 1),  # every call, then the final answer
    )
    cpu, wall = time.process_time(), time.perf_counter()
    summary = await run_to_dir(sessions, settings, lambda session: candidate, RunDir(run_dir))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await candidate.close()
    calls = summary["tool_calls"].get("executed", 0)
    assert summary["status"] == {"completed": len(sessions)}, summary
    assert calls == len(sessions) * calls_each, summary
    return {
        "rollouts_per_s": len(sessions) / wall,
        "tool_calls_per_s": calls / wall,
        "harness_cpu_ms_per_tool_call": cpu * 1000 / calls,
        "wall_s": wall,
    }


async def main(rollouts: int, calls: int = CALLS_PER_ROLLOUT) -> dict[str, Any]:
    figures: dict[str, Any] = {"rollouts": rollouts, "tool_calls_per_rollout": calls}
    serve_command = [sys.executable, __file__, "--serve", "--calls", str(calls)]
    server = subprocess.Popen(
        serve_command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            sessions = make_sessions(Path(scratch), rollouts)
            # Build the environment once so that every measurement starts from a cached image.
            await measure(sessions[:1], base_url, 1, Path(scratch) / "warm-up", calls)
            for concurrency in (1, 4, 8):
                run_dir = Path(scratch) / f"run-{concurrency}"
                measured = await measure(sessions, base_url, concurrency, run_dir, calls)
                figures[f"concurrency_{concurrency}"] = {
                    key: round(value, 3) for key, value in measured.items()
                }
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=8, help="rollouts per concurrency level")
    parser.add_argument(
        "--calls", type=int, default=CALLS_PER_ROLLOUT, help="tool calls per rollout"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.rollouts < 1 or arguments.calls < 1:
        parser.error("--rollouts and --calls must be at least 1")
    if arguments.serve:
        serve(arguments.calls)
    else:
        print(json.dumps(asyncio.run(main(arguments.rollouts, arguments.calls))))
