"""Plans, todo lists and thoughts: tools whose harness only acknowledges them.

Claude Code's ``TodoWrite``, Codex's ``update_plan`` and OpenHands' ``think`` change nothing in
the sandbox, and their harnesses answer every valid call with the same text. They run live on
the canonical ``note`` tool (which answers with nothing) and render that text. Judges read them
as before, when they had no adapter: calls that change nothing (``describe_no_effect``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from understudy.errors import InvalidToolArgumentsError
from understudy.tools.adapters.base import BaseAdapter, with_meta
from understudy.tools.adapters.describers import describe_no_effect
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.adapters.shell import claude_error
from understudy.tools.base import CanonicalCall, ToolOutcome

CLAUDE_TODOS_REPLY = (
    "Todos have been modified successfully. Ensure that you continue to use the todo list to "
    "track your progress. Please proceed with the current tasks if applicable"
)
"""What Claude Code answers a ``TodoWrite`` with (as its logs show)."""
CODEX_PLAN_REPLY = "Plan updated"
"""What Codex answers an ``update_plan`` with (codex-rs's plan handler)."""
OPENHANDS_THINK_REPLY = "Your thought has been logged."
"""What OpenHands answers a ``think`` with (its ``AgentThinkObservation``)."""


class NoteAdapter(BaseAdapter):
    """A note tool ``{<argument>: <a list or a string>, ...}`` answered with ``reply``.

    Subclasses set ``names``, the required ``argument`` and its type (``shape``), and ``reply``.
    """

    canonical: str = "note"
    argument: ClassVar[str] = ""
    shape: ClassVar[type] = list
    reply: ClassVar[str] = ""

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        value = arguments.get(self.argument)
        if value is None:
            raise InvalidToolArgumentsError(f"{name}: the argument {self.argument!r} is required")
        if not isinstance(value, self.shape):
            wanted = "a list" if self.shape is list else "a string"
            raise InvalidToolArgumentsError(
                f"{name}: the argument {self.argument!r} must be {wanted}, "
                f"not {type(value).__name__}"
            )
        return CanonicalCall(tool=self.canonical, arguments={"content": value})

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return outcome
        return with_meta(outcome, self.reply, False)

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return True

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_no_effect(name, arguments)


class ClaudeTodoWriteAdapter(NoteAdapter):
    """Claude Code ``TodoWrite`` ``{todos: [{content, status, activeForm}, ...]}``."""

    names: tuple[str, ...] = ("TodoWrite",)
    argument: ClassVar[str] = "todos"
    reply: ClassVar[str] = CLAUDE_TODOS_REPLY

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return claude_error(outcome, outcome.content)
        return super().render(name, arguments, outcome)


class CodexUpdatePlanAdapter(NoteAdapter):
    """Codex CLI ``update_plan`` ``{plan: [{step, status}, ...], explanation?}``."""

    names: tuple[str, ...] = ("update_plan",)
    argument: ClassVar[str] = "plan"
    reply: ClassVar[str] = CODEX_PLAN_REPLY

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        translated = super().translate(name, arguments)
        explanation = arguments.get("explanation")
        if explanation is None:
            return translated
        if not isinstance(explanation, str):
            raise InvalidToolArgumentsError(
                f"{name}: the argument 'explanation' must be a string, "
                f"not {type(explanation).__name__}"
            )
        return translated.model_copy(
            update={"arguments": {**translated.arguments, "explanation": explanation}}
        )


class OpenHandsThinkAdapter(NoteAdapter):
    """OpenHands ``think`` ``{thought}`` (only OpenHands': other agents' ``think`` is opaque)."""

    names: tuple[str, ...] = ("think",)
    argument: ClassVar[str] = "thought"
    shape: ClassVar[type] = str
    reply: ClassVar[str] = OPENHANDS_THINK_REPLY
