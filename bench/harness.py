"""Harness throughput with an instant scripted model. Prints one JSON object of figures.

Each rollout makes ``--calls`` shell calls (``echo``; 10 by default) in its own Docker sandbox,
then stops. The scripted model runs in a separate process so that its CPU time is not counted as
the harness's. Figures, for concurrency 1, 4 and 8 (sandboxes and model requests at once):
rollouts/s, tool calls/s, and the harness's CPU time per tool call (this process, all threads:
agent loop, model requests, router, engine calls, run files).

Each figure is the median of ``--repeats`` runs (3). The CPU per call includes each rollout's
fixed costs (its container made, started, diffed and removed), so two more figures split it,
from a second run at concurrency 4 with four times the calls: ``cpu_ms_per_added_tool_call``
(what one more call costs) and ``cpu_ms_per_rollout_fixed``.
``request_cpu_ms_by_messages`` is the CPU of one model request by the length of the conversation
sent (the candidate alone, 200 requests each), which must stay flat as conversations grow.

Usage: python bench/harness.py [--rollouts 8] [--calls 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import git
from goals import goal_figure  # beside this script

from understudy.replay.candidate import OpenAICandidate
from understudy.replay.demo import BASH
from understudy.replay.loop import LoopLimits
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.sandbox.gc import remove_run_images
from understudy.testing import ChatRequest, ScriptedServer, ScriptedTurn
from understudy.trajectory import EnvSpec, Message, RepoSpec, Session, SourceInfo, ToolCall

CALLS_PER_ROLLOUT = 10
"""Tool calls per rollout unless ``--calls`` says otherwise."""
GOAL_CPU_MS_PER_CALL = 2.0
"""The harness's CPU per tool call that the performance goals ask for."""
REPEATS = 3
"""Runs of each measurement unless ``--repeats`` says otherwise; their median is reported."""
CONVERSATION_LENGTHS = (4, 20, 82, 200)
"""Conversation lengths (messages) at which one request's CPU is measured."""


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


RUN_PREFIX = f"bench-{uuid.uuid4().hex[:6]}"
"""The start of this process's run ids: unique, so that two benches at once never share (or
clean up) each other's containers and images."""


async def measure(
    sessions: list[Session], base_url: str, concurrency: int, run_dir: Path, calls_each: int
) -> dict[str, float]:
    candidate = OpenAICandidate("scripted", base_url=base_url)
    settings = RunSettings(
        run_id=f"{RUN_PREFIX}-c{concurrency}-{uuid.uuid4().hex[:6]}",
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


def conversation(length: int) -> list[Message]:
    """A shell session of ``length`` messages: a system prompt, the task, then call/result pairs
    with 20 lines of output each."""
    messages = [
        Message(role="system", content="You are a careful software engineer. " * 20),
        Message(role="user", content="Run the steps and report what they print. " * 10),
    ]
    step = 0
    while len(messages) < length:
        call = ToolCall(id=f"call-{step}", name="bash", arguments={"command": f"echo step {step}"})
        messages.append(Message(role="assistant", content="", tool_calls=[call]))
        output = f"output line {step}\n" * 20
        messages.append(Message(role="tool", content=output, tool_call_id=call.id, name="bash"))
        step += 1
    return messages[:length]


async def request_cpu(base_url: str, requests: int = 200) -> dict[str, float]:
    """CPU milliseconds of one candidate request, by conversation length."""
    candidate = OpenAICandidate("scripted", base_url=base_url)
    figures = {}
    try:
        for length in CONVERSATION_LENGTHS:
            messages = conversation(length)
            await candidate.complete(messages, [BASH])  # connection made, caches warm
            cpu = time.process_time()
            for _ in range(requests):
                await candidate.complete(messages, [BASH])
            figures[str(length)] = round((time.process_time() - cpu) * 1000 / requests, 3)
    finally:
        await candidate.close()
    return figures


def split_fixed_cost(
    short: dict[str, float], long: dict[str, float], calls: int
) -> dict[str, float]:
    """CPU per added call and per rollout's fixed part, from runs of ``calls`` and 4x ``calls``
    calls per rollout (CPU per rollout is linear in its calls)."""
    per_rollout_short = short["harness_cpu_ms_per_tool_call"] * calls
    per_rollout_long = long["harness_cpu_ms_per_tool_call"] * calls * 4
    per_call = (per_rollout_long - per_rollout_short) / (calls * 3)
    return {
        "cpu_ms_per_added_tool_call": round(per_call, 3),
        "cpu_ms_per_rollout_fixed": round(per_rollout_short - per_call * calls, 3),
    }


async def median_of(
    repeats: int, run: Callable[[int], Awaitable[dict[str, float]]]
) -> dict[str, float]:
    """Each figure of ``repeats`` runs of ``run`` (given the run's number): its median. One run
    of a few rollouts moves by a quarter between runs on a shared two-core machine."""
    runs = [await run(number) for number in range(repeats)]
    return {key: round(statistics.median(one[key] for one in runs), 3) for key in runs[0]}


async def main(
    rollouts: int, calls: int = CALLS_PER_ROLLOUT, repeats: int = REPEATS
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "rollouts": rollouts,
        "tool_calls_per_rollout": calls,
        "repeats": repeats,
    }
    servers = {count: start_server(count) for count in (calls, calls * 4, 10**9)}
    base_url = servers[calls][1]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            sessions = make_sessions(Path(scratch), rollouts)
            # Build the environment once so that every measurement starts from a cached image.
            await measure(sessions[:1], base_url, 1, Path(scratch) / "warm-up", calls)
            for concurrency in (1, 4, 8):
                figures[f"concurrency_{concurrency}"] = await median_of(
                    repeats,
                    lambda run, concurrency=concurrency: measure(
                        sessions,
                        base_url,
                        concurrency,
                        Path(scratch) / f"run-{concurrency}-{run}",
                        calls,
                    ),
                )
            long = await median_of(
                repeats,
                lambda run: measure(
                    sessions, servers[calls * 4][1], 4, Path(scratch) / f"run-long-{run}", calls * 4
                ),
            )
            figures[f"concurrency_4_calls_{calls * 4}"] = long
            figures.update(split_fixed_cost(figures["concurrency_4"], long, calls))
        figures["request_cpu_ms_by_messages"] = await request_cpu(servers[10**9][1])
    finally:
        for process, _ in servers.values():
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)
        # The env image, built from a repository made for this process, is never used again.
        remove_run_images(RUN_PREFIX)
    figures["goals"] = {
        "harness_cpu_ms_per_tool_call": goal_figure(
            figures["concurrency_4"]["harness_cpu_ms_per_tool_call"],
            GOAL_CPU_MS_PER_CALL,
            f"ms ({calls} calls/rollout, concurrency 4)",
            higher_is_better=False,
        ),
        "cpu_ms_per_added_tool_call": goal_figure(
            figures["cpu_ms_per_added_tool_call"],
            GOAL_CPU_MS_PER_CALL,
            "ms",
            higher_is_better=False,
        ),
    }
    return figures


def start_server(calls: int) -> tuple[subprocess.Popen[str], str]:
    """The scripted model in a process of its own, making ``calls`` calls per rollout; and its
    URL."""
    command = [sys.executable, __file__, "--serve", "--calls", str(calls)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=8, help="rollouts per concurrency level")
    parser.add_argument(
        "--calls", type=int, default=CALLS_PER_ROLLOUT, help="tool calls per rollout"
    )
    parser.add_argument(
        "--repeats", type=int, default=REPEATS, help="runs of each measurement (median reported)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if min(arguments.rollouts, arguments.calls, arguments.repeats) < 1:
        parser.error("--rollouts, --calls and --repeats must be at least 1")
    if arguments.serve:
        serve(arguments.calls)
    else:
        figures = main(arguments.rollouts, arguments.calls, arguments.repeats)
        print(json.dumps(asyncio.run(figures)))
