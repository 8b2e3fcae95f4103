"""The agent loop: the candidate plays the assistant from a cut until it stops.

From ``session.messages[:cut]`` the candidate is asked for the next turn with the session's own
tools on offer; every tool call in its turn is answered, in order, by the router; the loop ends
at an assistant turn without tool calls or once a call the harness ends its run with is
answered (``completed``; ``meta["finished_by"]`` names that call's tool, see
:func:`~understudy.tools.adapters.ends_run`), after ``max_steps`` turns or a spent
token budget (``max_steps``), at the wall-clock limit (``timeout``), or when the endpoint or the
sandbox fails for good (``error``). Whatever was produced until then is kept in the rollout.
Each assistant message keeps the facts of the model call that produced it in
``meta["model_call"]``: ``latency_s``, ``attempts`` (requests sent, retries included) and
``usage``; the rollout holds their sums.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import CandidateError, EnvBuildError, ImageNotFoundError, SandboxError
from understudy.logging import get_logger
from understudy.protocols import Candidate, CandidateReply
from understudy.tools.router import ToolRouter
from understudy.trajectory import (
    CandidateInfo,
    Message,
    Rollout,
    RolloutErrorKind,
    RolloutStatus,
    Session,
)

log = get_logger("replay.loop")


class LoopLimits(BaseModel):
    """When a rollout is stopped."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    max_steps: int = Field(default=30, gt=0)
    """Most candidate turns in one rollout."""
    token_budget: int | None = Field(default=None, gt=0)
    """Most tokens (prompt + completion, summed over turns) in one rollout; None: no limit."""
    timeout_s: float = Field(default=1800.0, gt=0)
    """Wall-clock limit of one rollout, tool calls included."""


def rollout_id(session_id: str, cut: int, sample: int) -> str:
    """The id of the rollout for (session, cut, sample); stable across reruns."""
    return f"{session_id}@{cut}#{sample}"


def new_rollout(session: Session, cut: int, sample: int, candidate: Candidate) -> Rollout:
    """An empty rollout of (session, cut, sample) by ``candidate``, to fill in."""
    return Rollout(
        id=rollout_id(session.id, cut, sample),
        session_id=session.id,
        cut=cut,
        sample=sample,
        candidate=CandidateInfo(model=candidate.model, params=dict(candidate.params)),
    )


def _with_call_facts(reply: CandidateReply) -> Message:
    """The reply's message with the facts of its model call in ``meta["model_call"]``.

    Kept per turn (not only summed on the rollout) so a rollout shows which turn was slow,
    retried after a 429 or expensive.
    """
    facts = {
        "latency_s": round(reply.latency_s, 4),
        "attempts": reply.attempts,
        "usage": dict(reply.usage),
    }
    return reply.message.model_copy(update={"meta": {**reply.message.meta, "model_call": facts}})


def failure_kind(failure: BaseException) -> RolloutErrorKind:
    """The error kind of a rollout that ``failure`` ended (see ``RolloutErrorKind``)."""
    if isinstance(failure, EnvBuildError | ImageNotFoundError):
        return "environment"
    if isinstance(failure, SandboxError):
        return "sandbox"
    if isinstance(failure, CandidateError):
        return "candidate"
    return "harness"


async def run_rollout(
    session: Session,
    cut: int,
    sample: int,
    candidate: Candidate,
    router: ToolRouter,
    limits: LoopLimits | None = None,
) -> Rollout:
    """Let ``candidate`` continue ``session`` after ``cut``; the rollout of what it did."""
    limits = limits or LoopLimits()
    prefix = session.messages[:cut]
    produced: list[Message] = []
    usage: Counter[str] = Counter()
    timing: dict[str, float] = {"model_s": 0.0, "tools_s": 0.0}
    status: RolloutStatus = "max_steps"
    error: str | None = None
    kind: RolloutErrorKind | None = None
    finished_by: str | None = None  # the tool of the call that ended the run, if one did
    started = time.monotonic()
    try:
        async with asyncio.timeout(limits.timeout_s):
            for _ in range(limits.max_steps):
                reply = await candidate.complete([*prefix, *produced], session.tools)
                usage.update(reply.usage)
                timing["model_s"] += reply.latency_s
                produced.append(_with_call_facts(reply))
                if not reply.message.tool_calls:
                    status = "completed"
                    break
                tools_started = time.monotonic()
                for call in reply.message.tool_calls:
                    answered = await router.call(call, [*prefix, *produced])
                    produced.append(answered)
                    if finished_by is None and router.ends_run(answered):
                        finished_by = call.name
                timing["tools_s"] += time.monotonic() - tools_started
                if finished_by is not None:  # the harness would ask nothing more
                    status = "completed"
                    break
                if limits.token_budget and usage["total_tokens"] >= limits.token_budget:
                    error = f"token budget of {limits.token_budget} spent"
                    break
    except TimeoutError:
        status, error = "timeout", f"rollout ran past {limits.timeout_s:g} s"
    except (CandidateError, SandboxError) as failure:
        status, error = "error", f"{type(failure).__name__}: {failure}"
        kind = failure_kind(failure)
        log.warning("rollout failed", session=session.id, cut=cut, sample=sample, error=error)
    timing["total_s"] = time.monotonic() - started
    return new_rollout(session, cut, sample, candidate).model_copy(
        update={
            "messages": produced,
            "status": status,
            "error": error,
            "error_kind": kind,
            "usage": dict(usage),
            "timing": {key: round(value, 4) for key, value in timing.items()},
            "tool_stats": dict(router.stats),
            "meta": {"finished_by": finished_by} if finished_by else {},
        }
    )
