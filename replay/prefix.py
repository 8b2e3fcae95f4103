"""State at the cut: the recorded state-changing tool calls of a session's prefix, re-executed.

The candidate must find the environment as the original model left it at the cut. Starting
from the session's env image, :func:`restore_prefix` walks ``session.messages[:cut]`` and, for
every tool call with a recorded result in the prefix, in order:

- **skips** it when nothing it did can matter: ``"invalid arguments"`` (its arguments were not
  JSON, so the harness cannot have run it), ``"refused by the user"`` (its recorded result says
  the user refused or interrupted it, see :func:`~understudy.tools.adapters.refused_by_user`) or
  ``"read-only"`` (the adapters know it cannot
  change the sandbox: searches, file reads, ``str_replace_editor view``, plan notes; a shell
  command never counts as one);
- otherwise runs it live through a :class:`~understudy.tools.router.ToolRouter` with an all-live
  policy and the session's agent (so the shell keeps state as the agent's shell did), and
  compares the live tool message with the recorded one after normalization
  (:func:`~understudy.replay.normalize.compare_tool_results`).

A compared call is **matched** (no difference left after normalization), **mismatched** (its
output differs; the reason and the first differing line are kept), or **failed**: it could not
be re-executed as it was recorded, so the state after it may be missing something. A call fails

- when it has no live implementation: an opaque tool, or a tool whose live side refused to
  serve it (reason ``"no live implementation"``);
- when the router refused it (unknown tool, arguments invalid under the offered schema) although
  the recording shows a normal result (reason ``"live call failed"``); refused by both, it is
  simply compared;
- when it ran but ended in an error (a tool error, a timeout) where the recording had none, or
  exited non-zero where the recording exited 0 (reason: what the comparison found, usually
  ``"error flag differs"`` or ``"exit code differs"``).

Failed calls are compared calls that did not match: ``fidelity`` is matched / compared. With
``on_error="abort"`` the walk stops at the first failed call. A sandbox that breaks down (a
:class:`~understudy.errors.SandboxError`) is not a failed call: the error propagates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.replay.normalize import compare_tool_results
from understudy.tools.adapters import find_adapter, is_read_only, refused_by_user
from understudy.tools.policy import LIVE_DEFAULT, ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Message, Provenance, Session, ToolCall

log = get_logger("replay.prefix")

RECIPE_VERSION = 1
"""Part of every prefix recipe: bump it when the way a prefix is re-executed changes."""
DETAIL_LIMIT = 300
"""Characters of a mismatch detail kept (the state is stored in an image label)."""
STORED_MISMATCHES = 40
"""Calls that did not match kept in the stored state (the image label has a size limit)."""
PrefixErrors = Literal["continue", "abort"]
CallOutcome = Literal["matched", "mismatched", "failed", "skipped"]
_REFUSALS = frozenset({"InvalidToolArgumentsError", "UnknownToolError"})
"""Error types of calls the router answers without running anything."""


class PrefixCall(BaseModel):
    """What became of one tool call of the prefix."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    message_index: int
    """Index of the call's recorded result in ``session.messages``."""
    call_id: str
    """The call's id."""
    tool: str
    """The tool name as logged."""
    outcome: CallOutcome
    """matched, mismatched, failed (see the module docstring) or skipped."""
    reason: str | None = None
    """Why it did not match (a MISMATCH_REASONS entry) or why it was skipped."""
    detail: str | None = None
    """The difference found, shortened."""


class PrefixState(BaseModel):
    """The prefix as re-executed: per-call outcomes and the fidelity they add up to."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    calls: list[PrefixCall] = Field(default_factory=list)
    """Every tool call of the prefix with a recorded result, in order (up to an abort); the
    stored form (:meth:`stored`) keeps only the first calls that did not match."""
    skipped: int = 0
    """Calls not re-executed (read-only, invalid arguments)."""
    compared: int = 0
    """Calls re-executed (or attempted) and compared with their recording."""
    matched: int = 0
    """Compared calls whose live output matched the recorded one."""
    fidelity: float | None = None
    """matched / compared; None when nothing was compared."""
    failed_call: PrefixCall | None = None
    """The first call that could not be re-executed as recorded."""
    aborted: bool = False
    """The walk stopped at ``failed_call`` (``on_error="abort"``)."""

    def mismatches(self) -> list[PrefixCall]:
        """The compared calls that did not match."""
        return [call for call in self.calls if call.outcome in ("mismatched", "failed")]

    def stored(self) -> dict[str, Any]:
        """The compact JSON record kept on the prefix image: the counts and at most
        ``STORED_MISMATCHES`` of the calls that did not match."""
        kept = self.model_copy(update={"calls": self.mismatches()[:STORED_MISMATCHES]})
        return kept.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class PlannedCall:
    """A tool call of the prefix with its recorded result and whether it is skipped."""

    call: ToolCall
    recorded: Message
    message_index: int
    skip: str | None
    """The reason it is not re-executed, or None."""


def session_agent(session: Session) -> str:
    """The agent whose harness the session's tool calls follow, with its version (picks
    adapters: SWE-agent 0.x and 1.x print the same tools differently)."""
    agent = session.source.agent or session.source.format
    version = session.source.version
    return f"{agent} {version}" if version else agent


def plan_prefix(session: Session, cut: int) -> list[PlannedCall]:
    """Every tool call of ``session.messages[:cut]`` with a recorded result there, in order.

    Calls without a recorded result in the prefix are left out: there is nothing to compare
    them with, and the original harness may never have run them.
    """
    prefix = session.messages[:cut]
    results: dict[str, int] = {}
    for index, message in enumerate(prefix):
        if message.role == "tool" and message.tool_call_id:
            results.setdefault(message.tool_call_id, index)
    agent = session_agent(session)
    planned = []
    for message in prefix:
        for call in message.tool_calls:
            found = results.get(call.id)
            if found is not None:
                skip = _skip_reason(call, prefix[found], agent)
                planned.append(PlannedCall(call, prefix[found], found, skip))
    return planned


def refused_calls(session: Session) -> frozenset[str]:
    """Ids of the calls whose recorded result says the user refused them: they did not run."""
    return frozenset(
        message.tool_call_id
        for message in session.messages
        if message.role == "tool" and message.tool_call_id and refused_by_user(message.content)
    )


NOT_RUN = frozenset({Provenance.REPLAYED, Provenance.SIMULATED, Provenance.UNAVAILABLE})
"""Provenances of a rollout's results whose calls did not run in its container."""


def _skip_reason(call: ToolCall, recorded: Message, agent: str) -> str | None:
    if call.raw_arguments is not None:
        return "invalid arguments"
    if recorded.provenance in NOT_RUN:
        # A rollout's replayed or simulated call changed nothing: rebuilding its state at a
        # later step must not run it either.
        return f"not run in the rollout ({recorded.provenance.value})"
    if refused_by_user(recorded.content):
        return "refused by the user"
    if is_read_only(call.name, call.arguments, agent):
        return "read-only"
    return None


def needs_prefix(session: Session, cut: int) -> bool:
    """Whether the prefix has any call to re-execute."""
    return any(planned.skip is None for planned in plan_prefix(session, cut))


def prefix_recipe(session: Session, cut: int, on_error: PrefixErrors = "continue") -> str:
    """A stable hash of what :func:`restore_prefix` would do for ``(session, cut)``.

    It covers the re-executed calls (names and arguments, in order), the agent, the offered
    tool specs (they decide which calls are refused), the recorded results the calls are
    compared with (they are part of the stored state) and ``on_error`` (an aborted prefix is
    a different state).
    """
    work = [planned for planned in plan_prefix(session, cut) if planned.skip is None]
    recipe = {
        "version": RECIPE_VERSION,
        "agent": session_agent(session),
        "on_error": on_error,
        "tools": sorted((spec.name, spec.parameters) for spec in session.tools),
        "calls": [
            [p.call.name, p.call.arguments, p.recorded.content, p.recorded.is_error] for p in work
        ],
    }
    text = json.dumps(recipe, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mismatch_fields(call: PrefixCall) -> dict[str, Any]:
    """What an event says of a call that mismatched or failed (never its output)."""
    return {
        "message_index": call.message_index,
        "call_id": call.call_id,
        "tool": call.tool,
        "outcome": call.outcome,
        "reason": call.reason,
    }


async def restore_prefix(
    session: Session, cut: int, sandbox: Sandbox, on_error: PrefixErrors = "continue"
) -> PrefixState:
    """Re-execute the state-changing calls of ``session.messages[:cut]`` in ``sandbox``."""
    agent = session_agent(session)
    # Everything re-executed runs live, network commands too: a prefix has nothing to replay.
    policy = ToolPolicy(default=list(LIVE_DEFAULT), network=list(LIVE_DEFAULT))
    router = ToolRouter(session.tools, ReplayStore([]), sandbox, policy, agent=agent)
    calls: list[PrefixCall] = []
    aborted = False
    for planned in plan_prefix(session, cut):
        if planned.skip is not None:
            calls.append(_record(planned, "skipped", planned.skip))
            continue
        outcome = await _rerun(router, planned, agent)
        calls.append(outcome)
        if outcome.outcome in ("mismatched", "failed"):
            fields = mismatch_fields(outcome)
            log.info("prefix call mismatch", session=session.id, cut=cut, **fields)
        if outcome.outcome == "failed" and on_error == "abort":
            aborted = True
            break
    state = summarize_calls(calls, aborted)
    log.info(
        "prefix restored",
        session=session.id,
        cut=cut,
        calls=len(calls),
        compared=state.compared,
        matched=state.matched,
        fidelity=state.fidelity,
        aborted=aborted,
    )
    return state


async def _rerun(router: ToolRouter, planned: PlannedCall, agent: str) -> PrefixCall:
    """Run one recorded call live and judge its output against the recording."""
    live = await router.call(planned.call)
    return _record(planned, *judge_live_result(planned.recorded, live, agent))


Verdict = tuple[CallOutcome, str | None, str | None]
"""Outcome, reason and detail of a call re-executed live."""


def judge_live_result(recorded: Message, live: Message, agent: str | None) -> Verdict:
    """How the live tool message of a recorded call compares with the recorded one.

    ``matched``, ``mismatched`` or ``failed`` as the module docstring defines them; a live
    message that was not executed (replayed, simulated) is ``skipped``. ``agent`` picks the
    adapters, as it did for the router.
    """
    if live.provenance in (Provenance.REPLAYED, Provenance.SIMULATED):
        return "skipped", f"not live ({live.provenance.value})", None
    name = live.name or recorded.name or ""
    if find_adapter(name, agent) is None:
        return "failed", "no live implementation", f"{name} is an opaque tool: not re-executed"
    refused = live.meta.get("error_type") in _REFUSALS
    if live.provenance != Provenance.EXECUTED and not refused:
        why = live.meta.get("diagnostics", {}).get("live", "the router could not serve it")
        return "failed", "no live implementation", f"{name}: {why}"
    if refused and not recorded.is_error:
        return "failed", "live call failed", live.content
    adapter = find_adapter(name, agent)
    if adapter is not None:  # wording its harness's releases differ in is made one
        recorded = recorded.model_copy(
            update={"content": adapter.comparable(name, recorded.content)}
        )
        live = live.model_copy(update={"content": adapter.comparable(name, live.content)})
    mismatch = compare_tool_results(recorded, live)
    if mismatch is None:
        return "matched", None, None
    outcome: CallOutcome = "failed" if _failed_live(recorded, live) else "mismatched"
    return outcome, mismatch.reason, mismatch.detail


def _failed_live(recorded: Message, live: Message) -> bool:
    """The live call ended in an error, or exited non-zero, where the recording did not."""
    if live.is_error and not recorded.is_error:
        return True
    recorded_code, live_code = recorded.meta.get("exit_code"), live.meta.get("exit_code")
    return recorded_code == 0 and isinstance(live_code, int) and live_code != 0


def _record(
    planned: PlannedCall,
    outcome: CallOutcome,
    reason: str | None = None,
    detail: str | None = None,
) -> PrefixCall:
    return PrefixCall(
        message_index=planned.message_index,
        call_id=planned.call.id,
        tool=planned.call.name,
        outcome=outcome,
        reason=reason,
        detail=_shorten(detail) if detail is not None else None,
    )


def _shorten(text: str) -> str:
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 3] + "..."


def summarize_calls(calls: list[PrefixCall], aborted: bool = False) -> PrefixState:
    """The state of a walk that produced ``calls``."""
    compared = [call for call in calls if call.outcome != "skipped"]
    matched = sum(call.outcome == "matched" for call in compared)
    return PrefixState(
        calls=calls,
        skipped=len(calls) - len(compared),
        compared=len(compared),
        matched=matched,
        fidelity=matched / len(compared) if compared else None,
        failed_call=next((call for call in calls if call.outcome == "failed"), None),
        aborted=aborted,
    )


def describe_call(call: PrefixCall) -> str:
    """``message 5 (bash, call c1): no live implementation`` for errors and reports."""
    return f"message {call.message_index} ({call.tool}, call {call.call_id}): {call.reason}"
