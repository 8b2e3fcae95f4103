"""Consistency of one rollout's simulated results, around whichever simulator answers the rest.

A simulator that drew each answer on its own could show a file's old text after simulating an
edit to it, or two different listings for the same ``ls``. :class:`GroundedSimulator` keeps what
the rollout simulated and answers from it first:

1. **Repeats.** A read-only call (as its adapter tells) made again with the same arguments, with
   no state-changing call simulated in between, gets the same answer.
2. **Files.** Calls of the canonical file tools (view, create, edit, write, apply a patch), and
   the tools that need no machine at all (notes, the calculator), run for real on a
   copy-on-write overlay of the rollout's container (:mod:`~understudy.replay.simulate.overlay`):
   a simulated edit is seen by later simulated reads, a read shows what the container holds
   beneath, and the container itself is never written. A read or edit of a file that neither
   the overlay nor the container has goes to the base simulator instead: a workspace rebuilt
   from a log can lack files the user's machine had, so its absence is no evidence.
3. **Shell reads** (:mod:`~understudy.replay.simulate.shell_reads`): a script that only reads
   (``ls``, ``cat``, ``grep``, ``git diff``, ...) is answered by the container, read without a
   change, so a simulated listing never contradicts it; ``cat FILE`` of a file the overlay
   holds shows the overlay's content.
4. Anything else goes to the base simulator (``retrieval`` or ``llm``).
"""

from __future__ import annotations

import json
from typing import Any

from understudy.errors import SandboxError, SimulatorError, ToolCallError, ToolUnavailableError
from understudy.protocols import SimulationRequest, Simulator
from understudy.replay.simulate.overlay import OverlaySandbox
from understudy.replay.simulate.shell_reads import shell_read
from understudy.tools import make_tool
from understudy.tools.adapters import describe_call, find_adapter
from understudy.tools.base import Adapter, CanonicalCall, Tool, ToolOutcome

OVERLAY_TOOLS = frozenset({"editor", "read_file", "write_file", "apply_patch"})
"""Canonical tools run on the overlay of the container's files."""
PURE_TOOLS = frozenset({"note", "calculator"})
"""Canonical tools that need no machine: their real answer is the simulation."""
CREATES = frozenset({"write_file", "create"})
"""Canonical tools and editor commands that make a file whatever was there."""
OVERLAY_CONFIDENCE = 0.9
"""Confidence of a file tool run on the overlay (a new file's mode and a directory listing are
the container's, not the overlay's)."""


class GroundedSimulator:
    """One rollout's simulator: repeats, the file overlay, then ``base``."""

    def __init__(self, base: Simulator, name: str) -> None:
        self._base = base
        self.name = name
        """The base simulator's short name, recorded on every outcome."""
        self._overlay: OverlaySandbox | None = None
        self._tools: dict[str, Tool] = {}  # per rollout: the editor keeps its undo history
        self._answers: dict[str, ToolOutcome] = {}
        """Read-only calls answered since the last state-changing one, by name and arguments."""

    async def simulate(self, request: SimulationRequest) -> ToolOutcome | None:
        call = request.call
        key = json.dumps([call.name, call.arguments], sort_keys=True, default=str)
        repeated = self._answers.get(key)
        if repeated is not None:
            return repeated.model_copy(update={"meta": {**repeated.meta, "repeated": True}})
        adapter = find_adapter(call.name, request.agent)  # None: an opaque tool
        grounded = await self._grounded(request, adapter) if adapter is not None else None
        outcome = grounded or await self._base.simulate(request)
        if outcome is None:
            return None
        outcome.meta.setdefault("simulator", self.name)
        outcome.meta.setdefault("pair_ids", [])
        if adapter is not None and adapter.read_only(call.name, call.arguments):
            self._answers[key] = outcome
        else:
            self._answers.clear()
        return outcome

    async def _grounded(self, request: SimulationRequest, adapter: Adapter) -> ToolOutcome | None:
        """The answer the rollout's own state gives, or None to ask the base simulator."""
        call = request.call
        try:
            canonical = adapter.translate(call.name, call.arguments)
        except ToolCallError:
            return None
        if canonical.tool in PURE_TOOLS:
            return await self._run(request, adapter, canonical, None, confidence=1.0)
        if request.sandbox is None:
            return None
        overlay = self._overlay or OverlaySandbox(request.sandbox)
        self._overlay = overlay
        if canonical.tool in OVERLAY_TOOLS:
            if not await self._knows_files(request, canonical, overlay):
                return None
            return await self._run(request, adapter, canonical, overlay, OVERLAY_CONFIDENCE)
        if canonical.tool == "shell":
            return await shell_read(request, adapter, overlay)
        return None

    async def _knows_files(
        self, request: SimulationRequest, canonical: CanonicalCall, overlay: OverlaySandbox
    ) -> bool:
        """Whether every file the call reads or edits is in the overlay or the container."""
        if canonical.tool in CREATES or canonical.arguments.get("command") in CREATES:
            return True
        facts = describe_call(request.call.name, request.call.arguments, request.agent)
        paths = facts.paths if facts else []
        for path in paths:
            try:
                if not await overlay.exists(path):
                    return False
            except SandboxError as failure:
                raise SimulatorError(f"the container failed: {failure}") from failure
        return True

    async def _run(
        self,
        request: SimulationRequest,
        adapter: Adapter,
        canonical: CanonicalCall,
        box: OverlaySandbox | None,
        confidence: float,
    ) -> ToolOutcome | None:
        tool = self._tools.get(canonical.tool) or make_tool(canonical.tool)
        self._tools[canonical.tool] = tool
        try:
            outcome = await tool.run(canonical.arguments, box)
        except ToolUnavailableError:
            return None
        except ToolCallError as error:  # the tool refused the call, as the real one would
            outcome = ToolOutcome.of_error(error)
        except SandboxError as failure:
            raise SimulatorError(f"the container failed: {failure}") from failure
        call = request.call
        rendered = adapter.render(call.name, call.arguments, outcome)
        grounding = "overlay" if box is not None else "pure"
        meta: dict[str, Any] = {"grounding": grounding, "confidence": confidence}
        return rendered.model_copy(update={"meta": {**rendered.meta, **meta}})
