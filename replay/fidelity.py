"""Environment fidelity of whole sessions: how many recorded tool outputs a live replay gives back.

:func:`session_fidelity` builds the session's environment (with the backend of the settings:
docker, or local without an engine), starts one sandbox, and lets
:class:`~understudy.replay.candidate.OriginalCandidate` play the recorded assistant turns back
from the first cut (right after the first user message), every tool call served live. The agent
loop stops at an assistant turn without tool calls, so the replay goes on in the same sandbox
from the next recorded assistant turn until the recording is played out. Every produced tool
message is then compared with the recorded result of the same call id, after normalization,
exactly as the calls of a prefix are (:func:`~understudy.replay.prefix.judge_live_result`).
Calls that cannot run live (opaque tools, the browser) count as compared and not reproduced,
with the reason ``"no live implementation"``. Calls the user answered, not the environment
(``AskUserQuestion``, ``ExitPlanMode``, ...; see
:func:`~understudy.tools.adapters.is_user_answered`), and work handed to another agent
(Claude Code's ``Task``: its result is that agent's report), are served from the recording
instead (``replay>unavailable``), so they are not compared, unless the ``tools`` spec names them
(``AskUserQuestion=live``).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import EnvBuildError, ImageNotFoundError, SandboxError
from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.replay.candidate import OriginalCandidate
from understudy.replay.cuts import user_turn_cuts
from understudy.replay.env_resolution import EnvResolver, WorkspaceMode
from understudy.replay.loop import LoopLimits, run_rollout
from understudy.replay.prefix import (
    DETAIL_LIMIT,
    judge_live_result,
    refused_calls,
    session_agent,
)
from understudy.replay.workspace_guard import WorkspaceGuard
from understudy.sandbox.backend_config import BackendConfig, EnvBuilds
from understudy.sandbox.backends import BackendName, run_backend
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.repo_source import parse_mirror_rules
from understudy.tools.adapters import describe_call, is_user_answered
from understudy.tools.policy import LIVE_DEFAULT, REPLAY_DEFAULT, ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Message, Session, ToolCall

log = get_logger("replay.fidelity")

TOP_REASONS = 5
"""Mismatch reasons listed in a summary."""


class FidelitySettings(BaseModel):
    """How sessions are replayed to measure their fidelity."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    run_id: str
    """Labels every container of the measurement."""
    tools: str | None = None
    """Tool policy spec; None serves every call live except the user's answers (questions,
    plan approvals), which are served from the recording; replayed results are not compared."""
    sandboxes: int = Field(default=2, gt=0)
    """Sessions replayed at once."""
    timeout_s: float = Field(default=1800.0, gt=0)
    """Wall-clock limit of each stretch of the replay (between recorded text-only turns)."""
    base_image: str = BASE_IMAGE
    """Image for sessions that declare no image of their own."""
    allow_base_image: bool = False
    """Build on ``base_image`` when a session's declared image is absent (else an error)."""
    backend: BackendName = "auto"
    """Sandbox backend: a declared one (``docker``; ``local``, with no isolation), or ``auto``
    (docker when an engine answers, else local with a warning)."""
    sandbox_root: bool = False
    """Run commands as root instead of the unprivileged sandbox user (Docker)."""
    read_only_root: bool = False
    """Replay in sandboxes with a read-only root (the working directory, /tmp and the user's
    home stay writable), as ``run --read-only-root`` gives the candidate."""
    disk_limit: str | None = None
    """Most disk a sandbox may write (Docker syntax: 10g), where the storage driver can limit it."""
    repo_mirrors: list[str] = Field(default_factory=list)
    """``--repo-mirror`` rules (``URL=PATH``, see :mod:`understudy.sandbox.repo_source`):
    where repositories are cloned from instead of the URLs the logs name."""
    workspace: WorkspaceMode = "auto"
    """Where sessions' files come from: the repository, else a workspace rebuilt from the log
    (``auto``); always the log (``log``); only the repository (``repo``)."""


class CallMismatch(BaseModel):
    """A recorded tool output the live replay did not give back."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    message_index: int
    """Index of the recorded result in ``session.messages``."""
    call_id: str
    """The call's id."""
    tool: str
    """The tool name as logged."""
    reason: str
    """A MISMATCH_REASONS entry."""
    detail: str
    """The difference found, shortened."""


class SessionFidelity(BaseModel):
    """How much of one session's recorded tool output a live replay reproduced."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    session_id: str
    """The session replayed."""
    compared: int = 0
    """Recorded tool results compared with a live one."""
    matched: int = 0
    """Compared results that were reproduced (after normalization)."""
    fidelity: float | None = None
    """matched / compared; None when nothing was compared."""
    mismatches: list[CallMismatch] = Field(default_factory=list)
    """The compared results that were not reproduced, in order."""
    error: str | None = None
    """Why the replay could not be done (or finished): env build, sandbox failure."""
    env: dict[str, Any] = Field(default_factory=dict)
    """How the environment was resolved: clone source, commit and how it was chosen, the
    ``--envs`` row that set it, or the coverage of a workspace rebuilt from the log
    (``workspace``; see :mod:`understudy.replay.env_resolution`)."""
    unknown_content: int = 0
    """Calls served from the recording because they touch content a workspace rebuilt from the
    log does not hold (not compared)."""


async def session_fidelity(
    session: Session,
    settings: FidelitySettings,
    builder: EnvBuilds | None = None,
    backend: BackendConfig | None = None,
    resolver: EnvResolver | None = None,
) -> SessionFidelity:
    """Replay ``session`` with its own recorded turns and live tools; compare the outputs."""
    record: dict[str, Any] = {"row": session.meta["env_row"]} if "env_row" in session.meta else {}
    backend = backend or run_backend(settings.backend)
    builder = builder or backend.builder(
        settings.base_image,
        settings.run_id,
        settings.allow_base_image,
        sandbox_root=settings.sandbox_root,
    )
    resolver = resolver or _resolver(settings, builder)
    try:
        session, record = await resolver.resolve(session)
        env = await builder.build(session.env)
        if env.installed:
            record["installed"] = env.installed
        config = SandboxConfig(
            image=env.image,
            workdir=session.env.workdir,
            env=session.env.env,
            run_id=settings.run_id,
            read_only_root=settings.read_only_root,
            disk_limit=settings.disk_limit,
        )
        async with backend.started(config) as sandbox:
            produced, error = await _replay(session, sandbox, settings, record)
    except (EnvBuildError, ImageNotFoundError, SandboxError) as failure:
        log.warning("fidelity replay failed", session=session.id, error=str(failure))
        return SessionFidelity(
            session_id=session.id, error=f"{type(failure).__name__}: {failure}", env=record
        )
    result = compare_replay(session, produced)
    result.error = error
    result.env = record
    result.unknown_content = sum(
        "workspace" in message.meta.get("diagnostics", {}) for message in produced
    )
    log.info(
        "session fidelity",
        session=session.id,
        compared=result.compared,
        matched=result.matched,
        fidelity=result.fidelity,
    )
    return result


def _resolver(settings: FidelitySettings, builder: EnvBuilds) -> EnvResolver:
    mirrors = parse_mirror_rules(settings.repo_mirrors)
    return EnvResolver(mirrors, settings.workspace, builder.has_image)


async def _replay(
    session: Session, sandbox: Sandbox, settings: FidelitySettings, record: dict[str, Any]
) -> tuple[list[Message], str | None]:
    """The messages produced by playing the recording back; an error that stopped it, if any."""
    agent = session_agent(session)
    workspace = record.get("workspace")
    # Network commands run live too, unless the spec says otherwise: the measurement compares
    # live outputs with the recorded ones, and a sandbox's failed download is one to count.
    policy = ToolPolicy.parse(settings.tools or "live").with_network(LIVE_DEFAULT)
    # The user's answers and other agents' reports cannot be re-executed: served from the
    # recording, so not compared.
    for call in (call for message in session.messages for call in message.tool_calls):
        if call.name not in policy.overrides and _answered_elsewhere(call, agent):
            policy.overrides[call.name] = list(REPLAY_DEFAULT)
    router = ToolRouter(
        session.tools,
        ReplayStore(session.messages),
        sandbox,
        policy,
        agent=agent,
        guard=WorkspaceGuard.of(workspace, session.env.workdir, agent).check if workspace else None,
        recorded_only=refused_calls(session),
    )
    candidate = OriginalCandidate(session)
    turns = sum(message.role == "assistant" for message in session.messages)
    limits = LoopLimits(max_steps=turns + 1, timeout_s=settings.timeout_s)
    produced: list[Message] = []
    cuts = user_turn_cuts(session)
    cut = cuts[0] if cuts else None
    while cut is not None:
        rollout = await run_rollout(session, cut, 0, candidate, router, limits)
        produced.extend(rollout.messages)
        if rollout.status in ("error", "timeout"):
            return produced, rollout.error
        cut = _next_assistant_turn(session, rollout.messages)
    return produced, None


def _answered_elsewhere(call: ToolCall, agent: str) -> bool:
    """A call the user answered, or one handed to another agent (``Task``)."""
    if is_user_answered(call.name, agent):
        return True
    facts = describe_call(call.name, call.arguments, agent)
    return facts is not None and facts.delegated


def _next_assistant_turn(session: Session, played: list[Message]) -> int | None:
    """Index of the first recorded assistant turn after the last one ``played``, or None."""
    indices = [m.meta["recorded_index"] for m in played if "recorded_index" in m.meta]
    if not indices:
        return None
    return next(
        (
            index
            for index in range(max(indices) + 1, len(session.messages))
            if session.messages[index].role == "assistant"
        ),
        None,
    )


def compare_replay(session: Session, produced: Sequence[Message]) -> SessionFidelity:
    """Compare each produced tool message with the recorded result of the same call id."""
    recorded = {
        message.tool_call_id: (index, message)
        for index, message in enumerate(session.messages)
        if message.role == "tool" and message.tool_call_id
    }
    agent = session_agent(session)
    result = SessionFidelity(session_id=session.id)
    for live in produced:
        if live.role != "tool" or live.tool_call_id not in recorded:
            continue
        index, original = recorded[live.tool_call_id]
        outcome, reason, detail = judge_live_result(original, live, agent)
        if outcome == "skipped":
            continue
        result.compared += 1
        if outcome == "matched":
            result.matched += 1
            continue
        result.mismatches.append(
            CallMismatch(
                message_index=index,
                call_id=live.tool_call_id,
                tool=original.name or live.name or "?",
                reason=reason or "output differs",
                detail=(detail or "")[:DETAIL_LIMIT],
            )
        )
    result.fidelity = result.matched / result.compared if result.compared else None
    return result


async def measure_fidelity(
    sessions: Sequence[Session],
    settings: FidelitySettings,
    progress: Callable[[SessionFidelity], None] = lambda result: None,
) -> list[SessionFidelity]:
    """The fidelity of every session (``settings.sandboxes`` at once), in the given order."""
    backend = run_backend(settings.backend)
    builder = backend.builder(
        settings.base_image,
        settings.run_id,
        settings.allow_base_image,
        sandbox_root=settings.sandbox_root,
    )
    slots = asyncio.Semaphore(settings.sandboxes)
    resolver = _resolver(settings, builder)

    async def one(session: Session) -> SessionFidelity:
        async with slots:
            result = await session_fidelity(session, settings, builder, backend, resolver)
        progress(result)
        return result

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(session)) for session in sessions]
    return [task.result() for task in tasks]


def fidelity_summary(results: Sequence[SessionFidelity]) -> dict[str, Any]:
    """Totals over sessions: compared, matched, fidelity, and the top mismatch reasons with
    their counts and the tools they hit. Sessions with an error are counted apart."""
    measured = [result for result in results if result.error is None]
    compared = sum(result.compared for result in results)
    matched = sum(result.matched for result in results)
    reasons: Counter[str] = Counter()
    tools: dict[str, Counter[str]] = defaultdict(Counter)
    for result in results:
        for mismatch in result.mismatches:
            reasons[mismatch.reason] += 1
            tools[mismatch.reason][mismatch.tool] += 1
    return {
        "sessions": len(results),
        "measured": len(measured),
        "errors": len(results) - len(measured),
        "compared": compared,
        "matched": matched,
        "fidelity": matched / compared if compared else None,
        "top_reasons": [
            {"reason": reason, "count": count, "tools": dict(tools[reason].most_common())}
            for reason, count in reasons.most_common(TOP_REASONS)
        ],
    }
