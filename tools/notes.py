"""The canonical ``note`` tool: a plan, a todo list or a thought the agent writes down.

Such tools (Claude Code's ``TodoWrite``, Codex's ``update_plan``, OpenHands' ``think``) change
nothing in the sandbox, and their harnesses answer them with a fixed acknowledgement. The tool
itself only checks that there is a note and answers with nothing; each adapter renders its
harness's acknowledgement (see :mod:`understudy.tools.adapters.notes`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from understudy.protocols import Sandbox
from understudy.tools.base import ToolOutcome
from understudy.tools.common import validate_arguments


class NoteTool:
    """Takes a note (a todo list, a plan, a thought) and changes nothing."""

    name: str = "note"
    read_only: bool = True
    needs_sandbox: bool = False
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "content": {
                "type": ["string", "array", "object"],
                "description": "The note: text, or a structured list (todos, plan steps).",
            },
            "explanation": {
                "type": "string",
                "description": "Why the note changed (a plan update's explanation).",
            },
        },
        "required": ["content"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Nothing to show: the adapter renders its harness's acknowledgement."""
        validate_arguments(self.name, self.parameters, arguments)
        return ToolOutcome(content="")
