"""understudy.tools: canonical tool implementations, the adapters of logged tools, the router.

Canonical tools are looked up by short name with :func:`get_tool`::

    tool = get_tool("shell")
    outcome = await tool.run({"command": "ls"}, sandbox)

Adapters (:mod:`understudy.tools.adapters`) map the tools real agents logged onto these.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from understudy.registry import Registry
from understudy.tools.base import Adapter, CanonicalCall, Tool, ToolOutcome

__all__ = [
    "LIVE_TOOL_NAMES",
    "TOOLS",
    "TOOL_NAMES",
    "Adapter",
    "CanonicalCall",
    "Tool",
    "ToolOutcome",
    "get_tool",
    "make_tool",
]

TOOLS: Registry[Any] = Registry(
    "tool",
    {
        "shell": "understudy.tools.shell:ShellTool",
        "editor": "understudy.tools.files:EditorTool",
        "read_file": "understudy.tools.files:ReadFileTool",
        "write_file": "understudy.tools.files:WriteFileTool",
        "calculator": "understudy.tools.calculator:CalculatorTool",
        "browser": "understudy.tools.browser:BrowserTool",
        "note": "understudy.tools.notes:NoteTool",
        "apply_patch": "understudy.tools.patch:ApplyPatchTool",
    },
)
"""Canonical tools by short name; the entries are classes (or ready instances, for dotted
paths that name one). ``note`` takes the plans, todo lists and thoughts agents write down: it
changes nothing, and the adapters render their harness's acknowledgement. ``apply_patch``
applies Codex's ``*** Begin Patch`` envelopes with Codex's wording."""

TOOL_NAMES: tuple[str, ...] = tuple(TOOLS.names())
"""The canonical tool names."""
LIVE_TOOL_NAMES: frozenset[str] = frozenset(TOOL_NAMES) - {"browser"}
"""Canonical tools whose ``run`` can serve a call; ``browser`` always raises
ToolUnavailableError, so calls mapped onto it are served by replay or simulation only."""

if TYPE_CHECKING:  # the type checker proves that every canonical tool is a Tool
    from understudy.tools.browser import BrowserTool
    from understudy.tools.calculator import CalculatorTool
    from understudy.tools.files import EditorTool, ReadFileTool, WriteFileTool
    from understudy.tools.notes import NoteTool
    from understudy.tools.patch import ApplyPatchTool
    from understudy.tools.shell import ShellTool

    _CHECKED: tuple[Tool, ...] = (
        ShellTool(),
        EditorTool(),
        ReadFileTool(),
        WriteFileTool(),
        CalculatorTool(),
        BrowserTool(),
        NoteTool(),
        ApplyPatchTool(),
    )


def make_tool(name: str, **settings: Any) -> Tool:
    """A new instance of the tool called ``name`` (or at a dotted path), with ``settings``
    (``output_limit=...``, for instance) passed to its constructor."""
    found = TOOLS.get(name)
    tool: Tool = found(**settings) if isinstance(found, type) else found
    return tool


@functools.cache
def get_tool(name: str) -> Tool:
    """The shared instance of the tool called ``name`` (default settings).

    Shared, so that state a tool keeps between calls (the editor's undo history) survives from
    one call to the next. ConfigError names the valid tools when ``name`` is unknown.
    """
    return make_tool(name)
