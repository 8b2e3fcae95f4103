"""The canonical ``browser`` tool: web search and page fetches.

Sandboxes have no network, so there is no live implementation: ``run`` raises
ToolUnavailableError, and the router serves browser calls from the session's recordings (or a
simulator). The schema still matters: adapters map ``WebSearch``, ``WebFetch``, ``web_search``,
... onto it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from understudy.errors import ToolUnavailableError
from understudy.protocols import Sandbox
from understudy.tools.base import ToolOutcome
from understudy.tools.common import validate_arguments

UNAVAILABLE = "the browser has no live implementation; served by replay or simulation"


class BrowserTool:
    """Search the web or open a URL (replay or simulation only)."""

    name: str = "browser"
    read_only: bool = True
    needs_sandbox: bool = False
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["search", "open"]},
            "query": {"type": "string", "description": "search: what to search for."},
            "url": {"type": "string", "description": "open: the address to fetch."},
        },
        "required": ["action"],
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"action": {"const": "search"}}},
                "then": {"required": ["query"]},
            },
            {"if": {"properties": {"action": {"const": "open"}}}, "then": {"required": ["url"]}},
        ],
    }

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Always ToolUnavailableError (after checking the arguments)."""
        validate_arguments(self.name, self.parameters, arguments)
        raise ToolUnavailableError(UNAVAILABLE)
