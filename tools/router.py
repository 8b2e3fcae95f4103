"""The tool-call router: every candidate tool call becomes exactly one tool message.

A call is checked first (is the tool offered? are the arguments JSON, and valid under the
offered schema?) and answered with an error result, as a real harness would, when it is not.
A valid call is then served by the first step of its policy chain that can serve it: ``live``
through the tool's adapter and canonical implementation in the sandbox, ``replay`` from a
recording with exactly the same canonical arguments, ``simulate`` through a simulator when one
is configured (one per rollout, see :class:`~understudy.protocols.Simulator`; a simulator that
fails is noted in the diagnostics and passed), ``unavailable`` as an explicit error. Every
message carries its provenance and its diagnostics in ``meta``: ``meta["diagnostics"]`` holds
the chain and why each step passed (or, for a refused call, ``invalid``: unknown_tool,
unparsable_arguments or invalid_arguments, and the ``reason``); an executed result also has
``duration_s`` and ``truncated`` (and ``exit_code`` from a shell), a replayed one
``recorded_call_id``. A shell call whose script needs a network (``pip install``, ``git push``;
:mod:`understudy.tools.network`) takes the policy's ``network`` chain, since the sandbox has
none, with the reason as ``diagnostics["network"]``.

A ``guard`` (the workspace a log rebuilt, :mod:`understudy.replay.workspace_guard`) may say
that a call touches content the sandbox does not hold: the live step then serves it from the
recording instead, with the guard's reason as ``diagnostics["workspace"]`` (and runs it after
all when nothing was recorded for it). The recorded calls a log shows the user refused
(``recorded_only``, see :func:`~understudy.tools.adapters.refused_by_user`) did not run then and
are not run now: the live step serves them from the recording.

Results ``forced`` in advance (:mod:`understudy.tools.forced`, a scenario's trap) answer the
valid calls they match before any step of the chain, as ``simulated`` by ``forced``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from understudy.errors import (
    InvalidToolArgumentsError,
    SimulatorError,
    ToolCallError,
    ToolUnavailableError,
    UnknownToolError,
)
from understudy.logging import get_logger
from understudy.protocols import Sandbox, SimulationRequest, Simulator
from understudy.tools import LIVE_TOOL_NAMES, make_tool
from understudy.tools.adapters import describe_call, ends_run, find_adapter
from understudy.tools.base import Adapter, CanonicalCall, Tool, ToolOutcome
from understudy.tools.common import schema_problem, schema_validator
from understudy.tools.forced import FORCED_BY, ForcedResult, ForcedResults
from understudy.tools.network import network_need
from understudy.tools.policy import Step, ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.trajectory import Message, Provenance, ToolCall, ToolSpec

log = get_logger("tools.router")

Served = tuple[Provenance, ToolOutcome]
Guard = Callable[[ToolCall], str | None]
"""Why a call touches content the sandbox lacks, or None."""


class ToolRouter:
    """Serves the tool calls of one rollout."""

    def __init__(
        self,
        tools: list[ToolSpec],
        recordings: ReplayStore,
        sandbox: Sandbox | None,
        policy: ToolPolicy | None = None,
        simulator: Simulator | None = None,
        agent: str | None = None,
        guard: Guard | None = None,
        recorded_only: frozenset[str] = frozenset(),
        session_id: str = "",
        forced: Sequence[ForcedResult] = (),
    ) -> None:
        self._agent = agent
        """The agent that wrote the log: picks its flavour of a shared tool name (``bash``)."""
        self._session_id = session_id
        """The session replayed, told to the simulator."""
        self._specs = {spec.name: spec for spec in tools}
        # Looked up once per rollout, not per call: tool calls are the hot path.
        self._validators = {spec.name: schema_validator(spec.parameters) for spec in tools}
        self._recordings = recordings
        self._sandbox = sandbox
        self._policy = policy or ToolPolicy()
        self._simulator = simulator
        self._guard = guard
        self._recorded_only = recorded_only
        """Ids of recorded calls the user refused in the log: served from the recording only."""
        self._forced = ForcedResults(forced, agent)
        """Results fixed in advance for the calls that match (a scenario's trap)."""
        self._cwd = sandbox.workdir if sandbox is not None else None
        """The shell's working directory as the last executed command left it (shown with
        forced shell results, as harnesses show it with every command's output)."""
        self._open_file: str | None = None
        """The file open in SWE-agent's viewer as the last executed call left it (shown with
        forced results of SWE-agent's tools)."""
        self._tools: dict[str, Tool] = {}  # per rollout: tools may keep state (editor undo)
        self.stats: Counter[str] = Counter()
        """Counts by provenance (executed, replayed, ...), plus ``invalid`` and ``errors``."""

    async def call(self, call: ToolCall, conversation: list[Message] | None = None) -> Message:
        """The tool message answering ``call``."""
        started = time.monotonic()
        try:
            self._check(call)
            adapter = find_adapter(call.name, self._agent)  # None: an opaque tool
            canonical = adapter.translate(call.name, call.arguments) if adapter else None
        except ToolCallError as error:
            self.stats["invalid"] += 1
            outcome = ToolOutcome.of_error(error)
            invalid = {"invalid": _invalid_kind(call, error), "reason": str(error)}
            return self._message(call, Provenance.UNAVAILABLE, outcome, invalid, started)
        forced = self._forced.answer(call, self._cwd, self._open_file)
        if forced is not None:
            return self._message(call, Provenance.SIMULATED, forced, {"chain": FORCED_BY}, started)
        live_capable = canonical is not None and canonical.tool in LIVE_TOOL_NAMES
        network = self._network_need(call)
        chain = self._policy.chain_for(
            call.name,
            canonical.tool if canonical else None,
            live_capable=live_capable,
            needs_network=network is not None,
        )
        diagnostics: dict[str, Any] = {"chain": ">".join(chain)}
        if network is not None:
            diagnostics["network"] = network
        for step in chain:
            served = await self._serve(
                step, call, adapter, canonical, conversation or [], diagnostics
            )
            if served is not None:
                return self._message(call, *served, diagnostics, started)
        return self._message(call, *_unavailable(call), diagnostics, started)

    @staticmethod
    def ends_run(answered: Message) -> bool:
        """Whether the harness ends its run with the call that ``answered`` (a tool message of
        :meth:`call`) answers: a finishing tool or a submission, unless the call was refused as
        ill-formed (the harness would have shown the error and asked again)."""
        diagnostics = answered.meta.get("diagnostics") or {}
        if answered.name is None or "invalid" in diagnostics:
            return False
        return ends_run(answered.name, answered.meta)

    def _network_need(self, call: ToolCall) -> str | None:
        """Why the shell script the call runs needs the network the sandbox lacks, or None."""
        facts = describe_call(call.name, call.arguments, self._agent)
        return network_need(facts.script) if facts is not None and facts.script else None

    def _check(self, call: ToolCall) -> None:
        """Raise the ToolCallError a real harness would answer an ill-formed call with."""
        spec = self._specs.get(call.name)
        if spec is None and self._specs:
            offered = ", ".join(sorted(self._specs))
            raise UnknownToolError(f"Tool {call.name!r} does not exist. Available tools: {offered}")
        if call.raw_arguments is not None:
            raise InvalidToolArgumentsError(
                f"Could not parse the arguments of {call.name} as a JSON object: "
                f"{call.raw_arguments[:200]!r}"
            )
        if spec is not None:
            problem = schema_problem(self._validators[call.name], call.arguments)
            if problem is not None:
                raise InvalidToolArgumentsError(f"Invalid arguments for {call.name}{problem}")

    async def _serve(
        self,
        step: Step,
        call: ToolCall,
        adapter: Adapter | None,
        canonical: CanonicalCall | None,
        conversation: list[Message],
        diagnostics: dict[str, Any],
    ) -> Served | None:
        """What ``step`` serves for the call, or None (with the reason noted) to go on."""
        if step == "replay":
            return self._replay(call, diagnostics)
        if step == "live":
            return await self._live(call, adapter, canonical, diagnostics)
        if step == "simulate":
            return await self._simulate(call, conversation, diagnostics)
        return _unavailable(call)

    async def _simulate(
        self, call: ToolCall, conversation: list[Message], diagnostics: dict[str, Any]
    ) -> Served | None:
        if self._simulator is None:
            diagnostics["simulate"] = "no simulator configured"
            return None
        request = SimulationRequest(
            call=call,
            spec=self._specs.get(call.name),
            conversation=conversation,
            session_id=self._session_id,
            agent=self._agent,
            sandbox=self._sandbox,
        )
        try:
            outcome = await self._simulator.simulate(request)
        except SimulatorError as failure:
            diagnostics["simulate"] = f"simulator failed: {failure}"
            log.warning("simulator failed", tool=call.name, error=str(failure))
            return None
        if outcome is None:
            diagnostics["simulate"] = "the simulator had nothing to go on"
            return None
        return Provenance.SIMULATED, outcome

    def _replay(self, call: ToolCall, diagnostics: dict[str, Any]) -> Served | None:
        recording = self._recordings.take(call.name, call.arguments)
        if recording is not None:
            result = recording.result
            meta = {**result.meta, "recorded_call_id": recording.call_id}
            return Provenance.REPLAYED, ToolOutcome(
                content=result.content, is_error=result.is_error, meta=meta
            )
        diagnostics["replay"] = "no matching recording"
        misses = self._recordings.near_misses(call.name, call.arguments)
        if misses:
            diagnostics["near_misses"] = [miss.model_dump() for miss in misses]
            log.info("replay near miss", tool=call.name, count=len(misses))
        return None

    async def _live(
        self,
        call: ToolCall,
        adapter: Adapter | None,
        canonical: CanonicalCall | None,
        diagnostics: dict[str, Any],
    ) -> Served | None:
        if adapter is None or canonical is None:
            diagnostics["live"] = "no live implementation (opaque tool)"
            return None
        if call.id in self._recorded_only:
            diagnostics["live"] = "the user refused this call in the log: it did not run"
            return self._replay(call, diagnostics)
        unknown = self._guard(call) if self._guard is not None else None
        if unknown is not None:
            diagnostics["workspace"] = unknown
            replayed = self._replay(call, diagnostics)
            if replayed is not None:
                return replayed
        tool = self._tool(canonical.tool)
        if tool.needs_sandbox and self._sandbox is None:
            diagnostics["live"] = "no sandbox"
            return None
        started = time.monotonic()
        try:
            outcome = await tool.run(canonical.arguments, self._sandbox)
        except ToolUnavailableError as reason:
            diagnostics["live"] = str(reason)
            return None
        except ToolCallError as error:  # the tool refused the call, as the real one would
            outcome = ToolOutcome.of_error(error)
        diagnostics["canonical_tool"] = canonical.tool
        rendered = adapter.render(call.name, call.arguments, outcome)
        # Every executed result says how long it ran and whether its text was cut: the shell
        # measures its own command; for the other tools the run as seen from here stands in,
        # and a tool that cuts its output says so itself (so an unsaid cut is none).
        defaults = {"duration_s": round(time.monotonic() - started, 6), "truncated": False}
        return Provenance.EXECUTED, rendered.model_copy(
            update={"meta": {**defaults, **rendered.meta}}
        )

    def _tool(self, name: str) -> Tool:
        if name not in self._tools:
            self._tools[name] = make_tool(name)
        return self._tools[name]

    def _message(
        self,
        call: ToolCall,
        provenance: Provenance,
        outcome: ToolOutcome,
        diagnostics: dict[str, Any],
        started: float,
    ) -> Message:
        self.stats[provenance.value] += 1
        cwd, open_file = outcome.meta.get("cwd"), outcome.meta.get("probe")
        if provenance == Provenance.EXECUTED and isinstance(cwd, str) and cwd:
            self._cwd = cwd
        if provenance == Provenance.EXECUTED and isinstance(open_file, str):
            self._open_file = open_file or None  # the probe prints nothing when none is open
        if outcome.is_error:
            self.stats["errors"] += 1
        meta = {**outcome.meta, "router_s": round(time.monotonic() - started, 6)}
        if diagnostics:
            meta["diagnostics"] = diagnostics
        return Message(
            role="tool",
            content=outcome.content,
            tool_call_id=call.id,
            name=call.name,
            is_error=outcome.is_error,
            provenance=provenance,
            meta=meta,
        )


def _invalid_kind(call: ToolCall, error: ToolCallError) -> str:
    """Why a call was refused before being served, as a short keyword for diagnostics."""
    if isinstance(error, UnknownToolError):
        return "unknown_tool"
    if call.raw_arguments is not None:
        return "unparsable_arguments"
    return "invalid_arguments"


def _unavailable(call: ToolCall) -> Served:
    content = f"Error: the tool {call.name!r} is not available in this environment."
    return Provenance.UNAVAILABLE, ToolOutcome(content=content, is_error=True)
