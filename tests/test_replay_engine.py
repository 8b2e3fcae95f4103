"""The replay engine end to end: real engine, real git repos, the real openai client talking to
the scripted server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from understudy.jsonl import read_models, write_models
from understudy.replay.candidate import OpenAICandidate
from understudy.replay.demo import DEMO_MODEL, demo_policy, demo_sessions
from understudy.replay.fidelity import FidelitySettings, session_fidelity
from understudy.replay.rundir import RunDir
from understudy.replay.runner import CandidateFactory, RunSettings, run_to_dir
from understudy.sandbox import labels
from understudy.sandbox.engine import docker_client
from understudy.sandbox.gc import collect_garbage
from understudy.testing import ChatRequest, Fault, ScriptedServer, ScriptedTurn
from understudy.trajectory import Message, Provenance, Rollout, Session

pytestmark = pytest.mark.docker


def by_session(rollouts: list[Rollout]) -> dict[str, Rollout]:
    return {rollout.session_id: rollout for rollout in rollouts}


def tool_messages(rollout: Rollout) -> list[Message]:
    return [message for message in rollout.messages if message.role == "tool"]


async def run_scripted(
    sessions: list[Session],
    policy: Callable[[ChatRequest], ScriptedTurn | Fault],
    run_dir: Path,
    run_id: str,
    **settings: object,
) -> tuple[list[Rollout], ScriptedServer]:
    """The rollouts of a run against ``policy``, and the (closed) server that answered it."""
    with ScriptedServer(policy, models=[DEMO_MODEL]) as server:
        candidate = OpenAICandidate(DEMO_MODEL, base_url=server.base_url, max_retries=2)
        candidate_for: CandidateFactory = lambda session: candidate  # noqa: E731
        await run_to_dir(
            sessions, RunSettings(run_id=run_id, **settings), candidate_for, RunDir(run_dir)
        )
        await candidate.close()
    return RunDir(run_dir).rollouts(), server


async def run_demo_like(
    sessions: list[Session],
    policy: Callable[[ChatRequest], ScriptedTurn | Fault],
    run_dir: Path,
    run_id: str,
    **settings: object,
) -> list[Rollout]:
    rollouts, _ = await run_scripted(sessions, policy, run_dir, run_id, **settings)
    return rollouts


def task_of(request: ChatRequest) -> str:
    """The last user message of a request: which session (and cut) it belongs to."""
    return str(next(m for m in reversed(request.messages) if m["role"] == "user")["content"])


async def test_candidate_edits_and_runs_real_tests_with_provenance(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = demo_sessions(tmp_path / "repos")
    run, server = await run_scripted(sessions, demo_policy, tmp_path / "run", run_id, sandboxes=3)
    rollouts = by_session(run)
    assert set(rollouts) == {"demo-calc", "demo-slug", "demo-temps"}

    # Each request offers exactly its session's own tools: names, descriptions, schemas.
    specs = {session.task: session.tools for session in sessions}
    for request in server.requests:
        offered = [tool["function"] for tool in request.tools]
        expected = specs[task_of(request)]
        assert [tool["name"] for tool in offered] == [spec.name for spec in expected]
        assert [tool["parameters"] for tool in offered] == [spec.parameters for spec in expected]
        assert [tool["description"] for tool in offered] == [s.description for s in expected]
    assert {len(request.tools) for request in server.requests} == {2, 3}

    calc = rollouts["demo-calc"]
    assert calc.status == "completed", calc.error
    calc_tools = tool_messages(calc)
    assert [m.provenance for m in calc_tools] == [Provenance.EXECUTED] * 3
    assert "FAILED" in calc_tools[0].content  # the bug was really there
    assert "OK" in calc_tools[2].content.splitlines()  # and really fixed
    # The diagnostics tell the same story as the output: the real exit codes of the test runs.
    assert calc_tools[0].meta["exit_code"] != 0
    assert calc_tools[2].meta["exit_code"] == 0
    assert "exit_code" not in calc_tools[1].meta  # the edit is not a command
    for message in (m for rollout in rollouts.values() for m in tool_messages(rollout)):
        if message.provenance == Provenance.EXECUTED:
            assert message.meta["duration_s"] > 0, message.meta
            assert message.meta["truncated"] is False, message.meta
            assert message.meta["diagnostics"]["chain"] == "live", message.meta
    assert calc.messages[-1].content == "Fixed add(); the tests pass."
    changed = {change["path"] for change in calc.meta["changed_files"]}
    assert "/workspace/calc.py" in changed
    assert calc.tool_stats["executed"] == 3

    slug = rollouts["demo-slug"]
    slug_tools = tool_messages(slug)
    assert "FAILED" in slug_tools[-1].content  # the incomplete fix left a failing test
    assert slug_tools[-1].meta["exit_code"] != 0
    assert "all tests pass" in slug.messages[-1].content  # ...and the candidate said otherwise

    temps = rollouts["demo-temps"]
    search = tool_messages(temps)[0]
    assert search.provenance == Provenance.REPLAYED
    assert search.meta["recorded_call_id"] == "rec-search-1"
    assert "9/5" in search.content
    assert temps.tool_stats == {"replayed": 1, "executed": 1}
    for rollout in rollouts.values():
        assert rollout.usage["total_tokens"] > 0
        assert rollout.timing["env_s"] > 0


def fault_policy(request: ChatRequest) -> ScriptedTurn | Fault:
    """Per session (found by its task): rate limit once, fail forever, or a malformed call."""
    last_user = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    task = str(request.messages[last_user]["content"])
    answered = any(m["role"] == "tool" for m in request.messages[last_user:])
    if "calc.py" in task:
        if request.retry_count == 0:
            return Fault.rate_limit(retry_after=0.01)
        return ScriptedTurn(content="Nothing to do.")
    if "slug.py" in task:
        return Fault.server_error(retry_after=0.01)
    if answered:
        return ScriptedTurn(content="The call failed; stopping.")
    return ScriptedTurn(content="Running.", tool_calls=[("bash", '{"command": "ls"')])


async def test_endpoint_faults_and_malformed_calls_do_not_stop_the_run(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = demo_sessions(tmp_path / "repos")
    rollouts = by_session(
        await run_demo_like(sessions, fault_policy, tmp_path / "run", run_id, sandboxes=3)
    )
    assert rollouts["demo-calc"].status == "completed"
    assert rollouts["demo-calc"].messages[-1].content == "Nothing to do."
    # The turn shows it was retried after the 429 (two requests for one reply).
    assert rollouts["demo-calc"].messages[-1].meta["model_call"]["attempts"] == 2
    failed = rollouts["demo-slug"]
    assert failed.status == "error"
    assert failed.error is not None and "HTTP 500" in failed.error
    malformed = rollouts["demo-temps"]
    assert malformed.status == "completed"
    call = malformed.messages[0].tool_calls[0]
    assert call.raw_arguments == '{"command": "ls"' and call.arguments == {}
    answer = tool_messages(malformed)[0]
    assert answer.is_error and "Could not parse the arguments of bash" in answer.content
    assert answer.meta["diagnostics"]["invalid"] == "unparsable_arguments"
    assert malformed.tool_stats["invalid"] == 1


def slow_two_turns(request: ChatRequest) -> ScriptedTurn:
    """One quick shell call, then a final answer; each reply takes a while to come."""
    if not request.tool_results():
        return ScriptedTurn(
            content="Looking.", tool_calls=[("bash", {"command": "ls"})], delay_s=0.4
        )
    return ScriptedTurn(content="Done.", delay_s=0.4)


class ContainerSampler:
    """Counts, in a background thread, the running containers labelled with a run id."""

    def __init__(self, run_id: str) -> None:
        self._filters = {"label": f"{labels.RUN_ID}={run_id}"}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak = 0
        self.samples = 0

    def _sample(self) -> None:
        client = docker_client()
        while not self._stop.wait(0.05):
            # The low-level listing: containers.list() inspects each container and fails on
            # one removed in between.
            running = len(client.api.containers(filters=self._filters))
            self.peak = max(self.peak, running)
            self.samples += 1

    def __enter__(self) -> ContainerSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_model_and_sandbox_concurrency_limits_hold(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = demo_sessions(tmp_path / "repos")
    with ContainerSampler(run_id) as containers:
        rollouts, server = await run_scripted(
            sessions,
            slow_two_turns,
            tmp_path / "run",
            run_id,
            samples=2,
            model_concurrency=2,
            sandboxes=3,
        )
    assert [r.status for r in rollouts] == ["completed"] * 6
    assert len(server.requests) == 12
    # At most the allowed number at once, and more than one when more is allowed.
    assert server.peak_in_flight == 2
    assert containers.samples > 10
    assert 1 < containers.peak <= 3


def slow(policy: Callable[[ChatRequest], ScriptedTurn], delay_s: float) -> Callable[..., object]:
    def slowed(request: ChatRequest) -> ScriptedTurn:
        return policy(request).model_copy(update={"delay_s": delay_s})

    return slowed


def demo_run_command(
    tmp_path: Path, base_url: str, run_id: str, *, samples: int
) -> tuple[list[str], Path]:
    """`understudy run` of the demo sessions (written to a file here) on 2 sandboxes; and the
    rollouts file it writes."""
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w") as handle:
        write_models(handle, demo_sessions(tmp_path / "repos"))
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "understudy", "run", str(sessions_file), "--model", DEMO_MODEL,
        "--base-url", base_url, "--samples", str(samples), "--sandboxes", "2", "-o", str(run_dir),
        "--run-id", run_id,
    ]  # fmt: skip
    return command, run_dir / "rollouts.jsonl"


def start_until_written(
    command: list[str], rollouts_file: Path, lines: int
) -> subprocess.Popen[bytes]:
    """Start a run; return once it has written ``lines`` rollouts (or ended, or 120 s)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if rollouts_file.exists() and rollouts_file.read_bytes().count(b"\n") >= lines:
            break
        time.sleep(0.05)
    return process


def test_sigkill_mid_run_then_resume_loses_and_duplicates_nothing(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    with ScriptedServer(slow(demo_policy, 0.4), models=[DEMO_MODEL]) as server:
        command, rollouts_file = demo_run_command(tmp_path, server.base_url, run_id, samples=2)
        first = start_until_written(command, rollouts_file, lines=2)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        written_before = rollouts_file.read_bytes().count(b"\n")
        assert 2 <= written_before < 6, "the kill should land mid-run"
        collect_garbage()  # what the killed run left running
        resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {written_before} of 6" in resumed.stderr
    keys = [(r.session_id, r.cut, r.sample) for r in read_models(rollouts_file, Rollout)]
    assert len(keys) == 6
    assert len(set(keys)) == 6
    assert {sample for _, _, sample in keys} == {0, 1}


def deterministic_session(tmp_path: Path) -> tuple[Session, list[ScriptedTurn]]:
    """A session and a script whose every tool call gives the same output each time."""
    base = demo_sessions(tmp_path / "repos")[0]
    turns = [
        ScriptedTurn(content="Look.", tool_calls=[("bash", {"command": "cat calc.py"})]),
        ScriptedTurn(
            content="Fix.",
            tool_calls=[
                (
                    "str_replace_editor",
                    {
                        "command": "str_replace",
                        "path": "/workspace/calc.py",
                        "old_str": "a - b",
                        "new_str": "a + b",
                    },
                )
            ],
        ),
        ScriptedTurn(
            content="Check.",
            tool_calls=[
                ("bash", {"command": "python3 -c 'from calc import add; print(add(2, 3))'"}),
                ("str_replace_editor", {"command": "view", "path": "/workspace/calc.py"}),
            ],
        ),
        ScriptedTurn(content="Done: add(2, 3) is 5 now."),
    ]
    return base.model_copy(update={"id": "recorded-calc"}), turns


async def test_original_candidate_reproduces_recorded_outputs(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    base, turns = deterministic_session(tmp_path)
    with ScriptedServer(turns) as server:
        candidate = OpenAICandidate("scripted", base_url=server.base_url)
        await run_to_dir(
            [base], RunSettings(run_id=run_id), lambda s: candidate, RunDir(tmp_path / "live")
        )
        await candidate.close()
    [live] = RunDir(tmp_path / "live").rollouts()
    assert live.status == "completed"
    recorded = base.model_copy(update={"messages": [*base.messages[: live.cut], *live.messages]})
    settings = FidelitySettings(run_id=run_id)

    result = await session_fidelity(recorded, settings)
    print(
        f"OriginalCandidate fidelity: {result.matched}/{result.compared} recorded outputs "
        f"reproduced ({result.fidelity:.0%})"
    )
    assert result.error is None
    assert result.compared == len(tool_messages(live)) == 4  # every call ran live, none skipped
    assert result.matched == 4 and result.fidelity == 1.0 and result.mismatches == []

    # The comparison is not blind: a recorded output changed by one character is caught.
    edited = recorded.model_copy(deep=True)
    viewed = next(m for m in reversed(edited.messages) if m.role == "tool")
    viewed.content = viewed.content.replace("a + b", "a * b")
    changed = await session_fidelity(edited, settings)
    assert (changed.compared, changed.matched) == (4, 3)
    [mismatch] = changed.mismatches
    assert mismatch.message_index == edited.messages.index(viewed)
    assert mismatch.reason == "output differs" and "a * b" in mismatch.detail


def test_ctrl_c_stops_cleanly_keeping_written_rollouts(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    with ScriptedServer(slow(demo_policy, 0.5), models=[DEMO_MODEL]) as server:
        command, rollouts_file = demo_run_command(tmp_path, server.base_url, run_id, samples=3)
        running = start_until_written(command, rollouts_file, lines=1)
        running.send_signal(signal.SIGINT)
        _, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, stderr.decode()
    assert b"continue with --resume" in stderr
    written = list(read_models(rollouts_file, Rollout))
    assert 1 <= len(written) < 9
    assert len({r.id for r in written}) == len(written)
    left = docker_client().containers.list(all=True, filters={"label": f"{labels.RUN_ID}={run_id}"})
    assert left == []
