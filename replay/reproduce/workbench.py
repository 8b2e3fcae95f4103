"""A trajectory reproduced in a live sandbox: any step, stepped through, shelled into, branched.

:class:`Reproduction` holds one sandbox at a time, standing at a *step* N: the state after the
trajectory's first N messages. It gets there two ways:

- **Rebuilt** (any step, backwards included): the environment is built and the state-changing
  calls of ``messages[:N]`` are re-executed as the runner does for a cut
  (:meth:`~understudy.replay.runner.Runner.prepare`), so the state is a prefix image, cached and
  shared with runs; its fidelity (recorded outputs reproduced) is reported. Calls a rollout
  replayed or simulated did not run in its container and are not run here.
- **Stepped** (forward from the current step): each tool call between the two steps is run
  live in the open sandbox, read-only ones too, and its live output is set beside the recorded
  one, with a diff when they differ.

What a person did in the sandbox (``shell``) stays until :meth:`Reproduction.discard` starts
again from the current step's image. Branching and judging are the CLI's: they start a run from
:meth:`Reproduction.branch_session` (:mod:`understudy.cli_reproduce`).
"""

from __future__ import annotations

import difflib
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from understudy.errors import ConfigError
from understudy.protocols import ExecResult, FileChange, Sandbox
from understudy.replay.candidate import OriginalCandidate
from understudy.replay.prefix import (
    CallOutcome,
    PlannedCall,
    PrefixState,
    judge_live_result,
    plan_prefix,
    session_agent,
)
from understudy.replay.reproduce.target import Trajectory
from understudy.replay.rundir import RunDir
from understudy.replay.runner import Runner, RunSettings
from understudy.tools.policy import LIVE_DEFAULT, ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Message, Provenance, Session

EXEC_TIMEOUT_S = 300.0
"""Seconds a command given to :meth:`Reproduction.exec` may run."""
DIFF_LINES = 60
"""Lines of a recorded-vs-live diff kept."""


@dataclass
class SteppedCall:
    """One tool call run on the way to a step: recorded and live side by side."""

    index: int
    """Message index of the recorded result."""
    planned: PlannedCall
    live: Message | None
    """The live result (None when the call was skipped: see ``reason``)."""
    outcome: CallOutcome
    reason: str | None = None

    @property
    def diff(self) -> str:
        """A unified diff of the recorded result against the live one ('' when they match)."""
        if self.live is None or self.outcome == "matched":
            return ""
        lines = difflib.unified_diff(
            self.planned.recorded.content.splitlines(),
            self.live.content.splitlines(),
            "recorded",
            "live",
            lineterm="",
        )
        return "\n".join(list(lines)[:DIFF_LINES])


def state_runner(settings: RunSettings, scratch: Path) -> Runner:
    """A runner that builds environments and states only (its candidate is never called;
    ``scratch`` stands in for a run directory)."""
    return Runner(settings, OriginalCandidate, RunDir(scratch))


class Reproduction:
    """One trajectory in one sandbox at a time (see the module docstring)."""

    def __init__(self, trajectory: Trajectory, runner: Runner) -> None:
        self.trajectory = trajectory
        self.runner = runner
        self.step = 0
        """The sandbox holds the state after ``messages[:step]``."""
        self.built_step = 0
        """The step of the image the sandbox started from (what ``discard`` returns to)."""
        self.state: PrefixState | None = None
        """How the image's state was reached (None: nothing re-executed)."""
        self.sandbox: Sandbox | None = None
        self._image = ""
        self._stack: AsyncExitStack | None = None
        self._router: ToolRouter | None = None

    @property
    def messages(self) -> list[Message]:
        return self.trajectory.messages

    def session_at(self, step: int) -> Session:
        """The trajectory's first ``step`` messages, as a session."""
        return self.trajectory.as_session(step)

    async def goto(self, step: int) -> list[SteppedCall]:
        """Stand at ``step``: stepped forward from the current step, else rebuilt."""
        if not 0 <= step <= len(self.messages):
            raise ConfigError(f"step {step} is outside the trajectory's {len(self.messages)}")
        if self.sandbox is None or step < self.step:
            await self.rebuild(step)
            return []
        stepped = await self._step_to(step)
        self.step = step
        return stepped

    async def rebuild(self, step: int) -> None:
        """A fresh sandbox at ``step`` from its prefix image (built once, then cached)."""
        await self._close_sandbox()
        # The environment is the logged session's (as a run resolved it); the state is the
        # trajectory's up to the step.
        prepared = await self.runner.prepare(
            self.session_at(step), step, env_of=self.trajectory.session
        )
        self.state = prepared.prefix.state if prepared.prefix else None
        self._image = prepared.config.image
        self._stack = AsyncExitStack()
        self.sandbox = await self._stack.enter_async_context(
            self.runner.backend.started(prepared.config)
        )
        session = prepared.session
        agent = session_agent(session)
        # Live, network commands too: stepping re-runs what the trajectory ran.
        policy = ToolPolicy(default=list(LIVE_DEFAULT), network=list(LIVE_DEFAULT))
        self._router = ToolRouter(session.tools, ReplayStore([]), self.sandbox, policy, agent=agent)
        self.step = self.built_step = step

    async def discard(self) -> None:
        """Drop what happened in the sandbox since its image: start again from it, then step
        to the current step."""
        step = self.step
        await self.rebuild(self.built_step)
        await self.goto(step)

    async def _step_to(self, step: int) -> list[SteppedCall]:
        assert self._router is not None
        agent = session_agent(self.trajectory.session)
        planned = [
            p for p in plan_prefix(self.session_at(step), step) if p.message_index >= self.step
        ]
        stepped = []
        for call in planned:
            if call.skip is not None and call.skip != "read-only":
                stepped.append(SteppedCall(call.message_index, call, None, "skipped", call.skip))
                continue
            live = await self._router.call(call.call)
            outcome, reason, _ = judge_live_result(call.recorded, live, agent)
            stepped.append(SteppedCall(call.message_index, call, live, outcome, reason))
        return stepped

    async def exec(self, command: str) -> ExecResult:
        """Run ``command`` in the sandbox (fresh, in its working directory)."""
        return await self._open().exec(command, timeout=EXEC_TIMEOUT_S)

    async def changed_files(self) -> list[FileChange]:
        """Files changed since the image the sandbox started from (the state at
        ``built_step``)."""
        return await self._open().changed_files()

    def shell_command(self) -> list[str] | None:
        """The command that opens an interactive shell in the sandbox (None: the backend has
        none)."""
        return self.runner.backend.interactive_shell(self._open())

    def edit_result(self, index: int, content: str) -> None:
        """Replace the content of the tool result at message ``index`` (before branching); the
        sandbox is not touched."""
        if not 0 <= index < len(self.messages) or self.messages[index].role != "tool":
            raise ConfigError(f"message {index} is not a tool result")
        edited = self.messages[index].model_copy(
            update={
                "content": content,
                "provenance": Provenance.RECORDED,
                "meta": {**self.messages[index].meta, "edited": True},
            }
        )
        self.messages[index] = edited

    def branch_session(self) -> Session:
        """The trajectory up to the current step, as the session a branch continues (edited
        results included)."""
        return self.session_at(self.step)

    def _open(self) -> Sandbox:
        if self.sandbox is None:
            raise ConfigError("no sandbox yet: go to a step first")
        return self.sandbox

    async def _close_sandbox(self) -> None:
        if self._stack is not None:
            stack, self._stack, self.sandbox = self._stack, None, None
            await stack.aclose()

    async def close(self) -> None:
        """Remove the sandbox. Safe to call more than once."""
        await self._close_sandbox()
