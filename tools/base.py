"""What tools and adapters are.

A **tool** is one of understudy's canonical implementations (``shell``, ``editor``,
``read_file``, ``write_file``, ``calculator``, ``browser``), run against a sandbox with canonical
arguments. An **adapter** maps a tool name and argument shape that a real agent logged (``Bash``,
``execute_bash``, Codex ``shell`` with an argv list, ``str_replace_editor``, ...) onto a
canonical tool, and renders the outcome the way that agent's harness did, so the candidate acts
in-distribution. A logged tool with no adapter is *opaque*: it can only be replayed.

Tools signal the failures a model should hear about by raising a
:class:`~understudy.errors.ToolCallError` subclass; the router turns those into error tool
results. Anything else that escapes a tool is a harness bug or a sandbox failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from understudy.protocols import Sandbox

if TYPE_CHECKING:  # the adapters package imports this module: a runtime import would be a cycle
    from understudy.tools.adapters.facts import CallFacts


class ToolOutcome(BaseModel):
    """What a tool produced."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    content: str
    """Text shown to the model (already truncated with a visible marker when too long)."""
    is_error: bool = False
    """The tool reports failure (a non-zero exit code is *not* an error for a shell)."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Diagnostics: exit_code, duration_s, truncated, output_bytes, timed_out, files changed."""

    @classmethod
    def of_error(cls, error: Exception) -> ToolOutcome:
        """The outcome a harness answers a refused call with: the error's text, flagged."""
        return cls(content=str(error), is_error=True, meta={"error_type": type(error).__name__})


class Tool(Protocol):
    """A canonical tool implementation."""

    name: str
    """Canonical name: shell, editor, read_file, write_file, calculator, browser, note (and
    apply_patch)."""
    read_only: bool
    """Whether a call can never change the sandbox (lets later work skip it when rebuilding
    state)."""
    needs_sandbox: bool
    """Whether ``run`` uses the sandbox (the calculator does not)."""

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Run with canonical arguments; raise a ToolCallError for model-visible failures."""
        ...


class CanonicalCall(BaseModel):
    """A logged tool call translated for a canonical tool."""

    tool: str
    """Canonical tool name."""
    arguments: dict[str, Any]
    """Canonical arguments."""


class Adapter(Protocol):
    """Maps one family of logged tool names onto a canonical tool."""

    names: tuple[str, ...]
    """Logged tool names this adapter handles (case-sensitive, as logged)."""
    stateful_shell: bool
    """Whether the logged agent's shell kept state (cwd, exports) between calls."""

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        """The canonical call for a logged call; InvalidToolArgumentsError if it cannot map."""
        ...

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        """Whether the logged call can never change the sandbox (a search, a file view), so
        rebuilding the state at a cut may skip it. Never assumed for a shell command."""
        ...

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        """What the logged call does as far as its name and arguments tell (what judges read).

        Never raises for arguments it cannot read: the facts say so (``unreadable``).
        """
        ...

    def unwrap(self, name: str, arguments: dict[str, Any], shown: str) -> str | None:
        """What the tool itself printed, inside a result as the harness showed it (what
        ``render`` wraps around it: a return-code header, a state footer); None when the result
        does not hold all of it (elided past a length). Readers of logged results (the workspace
        rebuilt from a log, the tree a log shows) ask this instead of knowing each wrapper."""
        ...

    def comparable(self, name: str, shown: str) -> str:
        """A result as fidelity compares it with another run's: wording that the harness's
        releases printed differently, and that a log cannot tell before it shows it, made one
        (each adapter documents what it merges); as shown otherwise."""
        ...

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        """The outcome as the logged agent's harness would have shown it.

        ``arguments`` are the logged ones (as given to ``translate``). ``outcome`` may also be an
        error outcome built from a ToolCallError (``is_error=True``, the error's text as content,
        ``meta["error_type"]`` its class name): adapters whose harness worded errors its own way
        (Claude Code's ``<tool_use_error>``) reword it, the others return it unchanged.
        """
        ...
