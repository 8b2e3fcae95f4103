"""A rollout ends where the logged harness ended its run: at a finishing tool (SWE-agent's
``submit``, OpenHands' ``finish``) or at a submission (a mini-swe-agent command whose output
starts with its submission line), on the real logs in ../shared and live in a sandbox."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from understudy.replay.candidate import OpenAICandidate
from understudy.replay.demo import BASH
from understudy.replay.importers import import_paths
from understudy.replay.loop import LoopLimits, run_rollout
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.testing import ScriptedServer, ScriptedTurn
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Message, Rollout, Session, SourceInfo, ToolCall

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "trajectories"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not there")

AFTER = ScriptedTurn(content="one more look", tool_calls=[("bash", {"command": "ls"})])
"""What the candidate would do next, if it were asked again."""


def real_session(folder: str, session_id: str) -> Session:
    for _, session in import_paths([SHARED / folder]):
        if session.id == session_id:
            return session
    raise AssertionError(f"no session {session_id} in {folder}")


def last_call(session: Session, name: str) -> tuple[int, ToolCall]:
    """The index of the assistant message of the session's last ``name`` call, and the call."""
    for index in range(len(session.messages) - 1, -1, -1):
        for call in session.messages[index].tool_calls:
            if call.name == name:
                return index, call
    raise AssertionError(f"{session.id} has no {name} call")


async def replay_from(
    session: Session,
    cut: int,
    turns: list[Any],
    sandbox: DockerSandbox | None = None,
    policy: str | None = None,
) -> tuple[Rollout, int]:
    """The rollout of the scripted ``turns`` from ``cut``, and how many requests were made."""
    with ScriptedServer(turns) as server:
        candidate = OpenAICandidate("scripted", base_url=server.base_url, max_retries=0)
        router = ToolRouter(
            session.tools,
            ReplayStore(session.messages),
            sandbox,
            ToolPolicy.parse(policy) if policy else None,
            agent=session.source.agent or session.source.format,
        )
        try:
            rollout = await run_rollout(session, cut, 0, candidate, router, LoopLimits())
        finally:
            await candidate.close()
    return rollout, len(server.requests)


@needs_shared
@pytest.mark.parametrize(
    ("folder", "session_id", "name"),
    [
        ("swe-agent", "marshmallow-code__marshmallow-1867", "submit"),
        ("swe-agent", "legacy-test-repo-i1", "submit"),
        ("openhands", "basic", "finish"),
        ("openhands", "basic_interactions", "finish"),
    ],
)
async def test_a_finishing_tool_ends_the_rollout(folder: str, session_id: str, name: str) -> None:
    session = real_session(folder, session_id)
    cut, logged = last_call(session, name)
    finishing = ScriptedTurn(content="done", tool_calls=[(name, logged.arguments)])
    rollout, requests = await replay_from(session, cut, [finishing, AFTER, AFTER])
    assert rollout.status == "completed"
    assert rollout.meta["finished_by"] == name
    assert requests == 1, "the candidate was asked again after the harness would have stopped"
    assert [message.role for message in rollout.messages] == ["assistant", "tool"]


@needs_shared
async def test_the_logged_mini_swe_agent_submission_ends_the_rollout() -> None:
    session = real_session("mini-swe-agent", "django__django-11039")
    cut, logged = last_call(session, "bash")
    assert logged.arguments["command"].startswith("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")
    submitting = ScriptedTurn(content="submitting", tool_calls=[("bash", logged.arguments)])
    # Served from the log, whose exit message answered it.
    rollout, requests = await replay_from(session, cut, [submitting, AFTER], policy="bash=replay")
    assert requests == 1
    assert rollout.meta["finished_by"] == "bash"
    answer = rollout.messages[-1]
    assert answer.content.startswith("diff --git a/django/core/management/commands/sqlmigrate.py")


def mini_swe_agent_session() -> Session:
    return Session(
        id="mini-live",
        source=SourceInfo(format="mini-swe-agent", agent="mini-swe-agent"),
        tools=[BASH],
        messages=[Message(role="user", content="Fix it, then submit.")],
    )


@pytest.mark.docker
async def test_a_live_mini_swe_agent_submission_ends_the_rollout() -> None:
    session = mini_swe_agent_session()
    marker = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
    turns = [
        # The submission line must come first in the output; here it does not.
        ScriptedTurn(content="a", tool_calls=[("bash", {"command": f"echo first; {marker}"})]),
        ScriptedTurn(content="b", tool_calls=[("bash", {"command": f"{marker}; echo the-patch"})]),
        AFTER,
    ]
    sandbox = await DockerSandbox.start(SandboxConfig(run_id=f"finish-{uuid.uuid4().hex[:6]}"))
    try:
        rollout, requests = await replay_from(session, 1, turns, sandbox, "bash=live")
    finally:
        await sandbox.close()
    assert requests == 2
    assert rollout.status == "completed"
    assert rollout.meta["finished_by"] == "bash"
    not_yet, submitted = (m for m in rollout.messages if m.role == "tool")
    assert "<returncode>0</returncode>" in not_yet.content
    assert not not_yet.meta.get("submitted")
    assert submitted.content == "the-patch\n"  # the submission, as mini-swe-agent shows it
    assert submitted.meta["submitted"] is True


async def test_a_refused_finishing_call_does_not_end_the_rollout() -> None:
    session = mini_swe_agent_session()  # offers bash only: ``finish`` does not exist here
    refused = ScriptedTurn(content="done?", tool_calls=[("finish", {})])
    turns = [refused, ScriptedTurn(content="done")]
    rollout, requests = await replay_from(session, 1, turns)
    assert requests == 2, "a refused call is answered with its error and the model asked again"
    assert rollout.status == "completed"
    assert "finished_by" not in rollout.meta
    assert "does not exist" in rollout.messages[1].content
