"""How realistic a simulator is, measured on real logs by leaving each result out.

For every recorded call of every session, the simulator is asked for the call's result as it
would be during a replay: with the session's messages before the call (its earlier real results
included) and the pair database without any pair of that session (``leave_out_session``), so it
cannot simply look the answer up. The simulated result is compared with the recorded one:

- **exit agreement**: both failed or both succeeded (an error flag or a non-zero exit code is a
  failure), a call the simulator could not answer counting as a disagreement;
- **similarity**: difflib's ratio of the two results after normalising whitespace (trailing
  spaces, runs of blank lines), 0 for a call left unanswered;

overall, per tool (canonical, else the logged name) and per log format. With a discriminator
(:mod:`~understudy.replay.simulate.discriminator`), a model is also shown the call's context and
both results, in random order, and asked which is real: its accuracy near 50% (chance) means
the simulated results pass for real ones.

Each call is simulated by a fresh simulator (nothing simulated earlier carries over): the
prefix before it is the real one, as it is at a replay's cut. By default no container is
involved, so what is measured is the base simulator (retrieval, or the model) alone;
:func:`check_session_in_sandbox` stands the session's rebuilt environment at each call's step,
so that the consistency layer (file tools on the overlay, reads answered by the container) is
measured too, as it works in a run.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from understudy.errors import EnvBuildError, ImageNotFoundError, SandboxError, SimulatorError
from understudy.protocols import Sandbox, SimulationRequest
from understudy.replay.pairs.query import tool_and_text
from understudy.replay.prefix import session_agent
from understudy.replay.simulate import Simulators
from understudy.replay.simulate.adapt import text_similarity
from understudy.tools.base import ToolOutcome
from understudy.trajectory import Message, Session, ToolCall

COMPARED_CHARS = 4000
"""Characters of each result compared (difflib is quadratic in the worst case)."""


class PicksReal(Protocol):
    """A discriminator: whether a model shown both results picked the real one."""

    async def pick_real(
        self, conversation: Sequence[Message], call: ToolCall, real: str, simulated: str
    ) -> bool: ...

    async def close(self) -> None: ...


@dataclass
class Comparison:
    """One recorded result against its simulation."""

    session_id: str
    call_id: str
    tool: str
    format: str
    answered: bool
    exit_agrees: bool
    similarity: float
    confidence: float | None = None
    pair_ids: list[str] = field(default_factory=list)
    picked_real: bool | None = None
    """The discriminator picked the real result (None: not asked, or it failed)."""
    error: str | None = None
    """Why the simulator (or the discriminator) failed on this call."""
    in_sandbox: bool = False
    """The simulator had the session's sandbox, standing where the call was made."""
    environment: str | None = None
    """Why the session's sandbox could not be had at this call (in-sandbox checks only)."""


def normalised(text: str) -> str:
    """A result as compared: lines without trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))[:COMPARED_CHARS]


def failed(is_error: bool, meta: dict[str, Any]) -> bool:
    """Whether a result reports failure: an error, or a non-zero exit code."""
    code = meta.get("exit_code")
    return is_error or (isinstance(code, int) and not isinstance(code, bool) and code != 0)


async def check_call(
    session: Session,
    index: int,
    call: ToolCall,
    recorded: Message,
    simulators: Simulators,
    discriminator: PicksReal | None = None,
    sandbox: Sandbox | None = None,
) -> Comparison:
    """Simulate one recorded call from the messages before its result (and ``sandbox``, standing
    at the state the call was made in, when given), and compare."""
    agent = session_agent(session)
    conversation = session.messages[: index + 1]
    spec = next((tool for tool in session.tools if tool.name == call.name), None)
    request = SimulationRequest(call, spec, conversation, session.id, agent, sandbox)
    tool = tool_and_text(call, agent)[0] or call.name
    comparison = Comparison(session.id, call.id, tool, session.source.format, False, False, 0.0)
    try:
        outcome = await simulators.for_rollout().simulate(request)
    except SimulatorError as failure:
        comparison.error = str(failure)
        return comparison
    if outcome is None:
        return comparison
    _compare(comparison, recorded, outcome)
    if discriminator is not None:
        try:
            comparison.picked_real = await discriminator.pick_real(
                conversation, call, recorded.content, outcome.content
            )
        except SimulatorError as failure:
            comparison.error = f"discriminator: {failure}"
    return comparison


def _compare(comparison: Comparison, recorded: Message, outcome: ToolOutcome) -> None:
    comparison.answered = True
    comparison.exit_agrees = failed(recorded.is_error, recorded.meta) == failed(
        outcome.is_error, outcome.meta
    )
    comparison.similarity = round(
        text_similarity(normalised(recorded.content), normalised(outcome.content)), 4
    )
    confidence = outcome.meta.get("confidence")
    comparison.confidence = float(confidence) if isinstance(confidence, int | float) else None
    comparison.pair_ids = list(outcome.meta.get("pair_ids") or [])


async def check_sessions(
    sessions: Iterable[Session],
    simulators: Simulators,
    discriminator: PicksReal | None = None,
    concurrency: int = 4,
    on_call: Callable[[Comparison], None] = lambda comparison: None,
) -> list[Comparison]:
    """Every recorded call of ``sessions`` simulated and compared, in the sessions' order."""
    slots = asyncio.Semaphore(concurrency)

    async def one(session: Session, index: int, call: ToolCall, recorded: Message) -> Comparison:
        async with slots:
            comparison = await check_call(session, index, call, recorded, simulators, discriminator)
        on_call(comparison)
        return comparison

    work = [
        one(session, index, call, recorded)
        for session in sessions
        for index, call, recorded in session.answered_calls()
    ]
    return list(await asyncio.gather(*work))


class StandsAtSteps(Protocol):
    """A sandbox that can be stood at any step of a session (a
    :class:`~understudy.replay.reproduce.Reproduction`)."""

    sandbox: Sandbox | None

    async def goto(self, step: int) -> object: ...


async def check_session_in_sandbox(
    session: Session,
    simulators: Simulators,
    stand: StandsAtSteps,
    discriminator: PicksReal | None = None,
    on_call: Callable[[Comparison], None] = lambda comparison: None,
) -> list[Comparison]:
    """Every recorded call of ``session`` simulated with the session's sandbox standing where
    the call was made: stepped forward call by call, each earlier call run live, so that the
    simulator's container facts and reads are those the real call met (as in a run).

    When the environment cannot be had at a call's step (a workspace rebuilt from a log shows
    no file yet, an image is missing), that call and the session's later ones are simulated
    without a sandbox, and say so (``in_sandbox`` False; the reason in ``environment``).
    """
    comparisons = []
    failure: str | None = None
    for index, call, recorded in session.answered_calls():
        if failure is None:
            try:
                await stand.goto(index)
            except (EnvBuildError, ImageNotFoundError, SandboxError) as problem:
                failure = f"{type(problem).__name__}: {problem}"
        sandbox = stand.sandbox if failure is None else None
        comparison = await check_call(
            session, index, call, recorded, simulators, discriminator, sandbox
        )
        comparison.in_sandbox = sandbox is not None
        comparison.environment = failure
        on_call(comparison)
        comparisons.append(comparison)
    return comparisons


def summarize(comparisons: Sequence[Comparison]) -> dict[str, Any]:
    """The figures: ``overall``, ``per_tool`` and ``per_format`` (calls, answered, exit
    agreement, similarity), and the discriminator's counts when it was asked."""
    per_tool: dict[str, list[Comparison]] = defaultdict(list)
    per_format: dict[str, list[Comparison]] = defaultdict(list)
    for comparison in comparisons:
        per_tool[comparison.tool].append(comparison)
        per_format[comparison.format].append(comparison)
    summary: dict[str, Any] = {
        "overall": _figures(comparisons),
        "per_tool": {name: _figures(group) for name, group in sorted(per_tool.items())},
        "per_format": {name: _figures(group) for name, group in sorted(per_format.items())},
        "errors": sum(1 for comparison in comparisons if comparison.error),
        "in_sandbox_calls": sum(1 for comparison in comparisons if comparison.in_sandbox),
    }
    judged = [c.picked_real for c in comparisons if c.picked_real is not None]
    if judged:
        summary["discriminator"] = {"n": len(judged), "correct": sum(judged)}
    return summary


def _figures(group: Sequence[Comparison]) -> dict[str, Any]:
    calls = len(group)
    if not calls:
        return {"calls": 0, "answered": 0, "exit_agreement": None, "similarity": None}
    return {
        "calls": calls,
        "answered": sum(1 for c in group if c.answered),
        "exit_agreement": round(sum(1 for c in group if c.exit_agrees) / calls, 4),
        "similarity": round(sum(c.similarity for c in group) / calls, 4),
    }
