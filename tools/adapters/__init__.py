"""Adapters: the tool names and argument shapes real agents logged, mapped onto canonical tools.

:func:`find_adapter` looks an adapter up by the logged tool name. A few names mean different
things to different harnesses (``bash`` is SWE-agent's, mini-swe-agent's and inspect_ai's), so
it also takes the session's agent (``Session.source.agent`` or ``source.format``): with it, the
agent's own variant is found first; without it, the name's default (see ``ADAPTERS``).
A name with no adapter (``TodoWrite``, ``think``, ``finish``, ``update_plan``, SWE-agent's
windowed ``open``/``goto``/``edit``, ...) is *opaque*: it can only be replayed.

Adapter table (logged name -> canonical tool; S = persistent shell):

=========================================  ============  ====================================
logged name (harness)                      canonical     rendering
=========================================  ============  ====================================
bash (default; {command} or inspect {cmd})  shell (S)     output as is
bash (agent swe-agent)                     shell (S)     + (Open file)/(Current directory)
bash (agent mini-swe-agent)                shell         <returncode>/<output>
bash, python (agent inspect)               shell         output; non-zero exit is an error
Bash (Claude Code)                         shell (S)     trimmed; "Exit code N" on failure
execute_bash (OpenHands)                   shell (S)     + [... exit code N.] lines
shell (Codex argv), container.exec         shell         {"output","metadata"} JSON
shell_command (later Codex)                shell         Exit code/Wall time/Output
str_replace_editor, ..._based_edit_tool    editor        as is (same tool)
Edit, MultiEdit (Claude Code)              editor        "has been updated" + N→ snippet
Write (Claude Code)                        write_file    "File created successfully at"
Read (Claude Code)                         read_file     N→ lines + system reminder
Grep, Glob (Claude Code)                   shell         Found N files / paths
find_file, search_dir, search_file         shell (S)     SWE-agent output + footer
submit (agent swe-agent)                   shell (S)     the diff
WebSearch, web_search                      browser       (replay/simulation only)
WebFetch, web_fetch, web_read, ..._go      browser       (replay/simulation only)
editor, read_file, write_file, ...         themselves    as is
=========================================  ============  ====================================
"""

from __future__ import annotations

import functools
import re
from typing import Any

from understudy.errors import ToolCallError
from understudy.tools import get_tool
from understudy.tools.adapters.base import BaseAdapter
from understudy.tools.adapters.files import (
    CanonicalAdapter,
    ClaudeEditAdapter,
    ClaudeReadAdapter,
    ClaudeWriteAdapter,
    StrReplaceEditorAdapter,
)
from understudy.tools.adapters.search import (
    ClaudeGlobAdapter,
    ClaudeGrepAdapter,
    SweAgentSearchAdapter,
)
from understudy.tools.adapters.shell import (
    BashAdapter,
    ClaudeBashAdapter,
    CodexShellAdapter,
    CodexShellCommandAdapter,
    InspectShellAdapter,
    MiniSweAgentBashAdapter,
    OpenHandsBashAdapter,
    SweAgentBashAdapter,
)
from understudy.tools.adapters.web import WebAdapter
from understudy.tools.base import Adapter

__all__ = [
    "ADAPTERS",
    "AGENT_ADAPTERS",
    "OPAQUE_READ_ONLY",
    "BaseAdapter",
    "find_adapter",
    "is_read_only",
    "normalize_agent",
]


def _by_name(*adapters: Adapter, skip: tuple[str, ...] = ()) -> dict[str, Adapter]:
    table: dict[str, Adapter] = {}
    for adapter in adapters:
        for name in adapter.names:
            if name not in skip:
                table.setdefault(name, adapter)
    return table


_swe_agent_search = SweAgentSearchAdapter()
_inspect = InspectShellAdapter()

ADAPTERS: dict[str, Adapter] = _by_name(
    BashAdapter(),
    ClaudeBashAdapter(),
    OpenHandsBashAdapter(),
    CodexShellAdapter(),
    CodexShellCommandAdapter(),
    _inspect,  # contributes "python"; "bash" is BashAdapter's
    StrReplaceEditorAdapter(),
    ClaudeEditAdapter(),
    ClaudeWriteAdapter(),
    ClaudeReadAdapter(),
    ClaudeGrepAdapter(),
    ClaudeGlobAdapter(),
    _swe_agent_search,
    WebAdapter(),
    *(
        CanonicalAdapter(tool)
        for tool in ("editor", "read_file", "write_file", "calculator", "browser")
    ),
    skip=("submit",),
)
"""The default adapter of every logged tool name."""

AGENT_ADAPTERS: dict[str, dict[str, Adapter]] = {
    "sweagent": {"bash": SweAgentBashAdapter(), "submit": _swe_agent_search},
    "minisweagent": {"bash": MiniSweAgentBashAdapter()},
    "inspect": {"bash": _inspect, "python": _inspect},
}
"""Agent-specific adapters, by normalized agent name, then tool name; they win over ADAPTERS."""

_AGENT_ALIASES = {"inspectai": "inspect", "swe": "sweagent", "mini": "minisweagent"}


@functools.lru_cache(maxsize=256)  # asked on every tool call, with a handful of distinct names
def normalize_agent(agent: str) -> str:
    """``"SWE-agent"`` -> ``"sweagent"``, ``"inspect_ai"`` -> ``"inspect"``, ...

    Importers name agents with details appended: inspect_ai sessions are
    ``"inspect_ai (use_tools > generate)"`` (the solver chain), other logs may add a version
    (``"SWE-agent 1.0"``). When the whole name is not a known agent, its longest leading run of
    whole words that is one decides, so such sessions still get their agent's adapters; a word
    is never cut (``"inspector"`` is not ``inspect``).
    """
    words = re.findall(r"[a-z0-9]+", agent.lower())
    key = "".join(words)
    key = _AGENT_ALIASES.get(key, key)
    known = {*AGENT_ADAPTERS, *(name for name in OPAQUE_READ_ONLY if name is not None)}
    if key in known:
        return key
    leading = {**{name: name for name in known}, "inspectai": "inspect"}
    for end in range(len(words) - 1, 0, -1):
        found = leading.get("".join(words[:end]))
        if found is not None:
            return found
    return key


def find_adapter(name: str, agent: str | None = None) -> Adapter | None:
    """The adapter of a logged tool name (for ``agent``, if given), or None if it is opaque."""
    if agent:
        specific = AGENT_ADAPTERS.get(normalize_agent(agent), {}).get(name)
        if specific is not None:
            return specific
    return ADAPTERS.get(name)


OPAQUE_READ_ONLY: dict[str | None, frozenset[str]] = {
    None: frozenset({"TodoWrite", "TodoRead", "think", "update_plan", "ExitPlanMode"}),
    "sweagent": frozenset({"open", "goto", "scroll_up", "scroll_down"}),
}
"""Opaque tools known never to change the sandbox (plans, notes, SWE-agent's file viewer), for
every agent (key None) or for one normalized agent name."""


def is_read_only(name: str, arguments: dict[str, Any], agent: str | None = None) -> bool:
    """Whether a logged call is known never to change the sandbox.

    True for calls whose adapter says so (``Read``, ``Grep``, ``str_replace_editor view``, ...),
    for calls translated onto a read-only canonical tool, and for the opaque tools of
    :data:`OPAQUE_READ_ONLY`. A shell command is never assumed read-only, and neither is a call
    whose arguments do not translate.
    """
    adapter = find_adapter(name, agent)
    if adapter is None:
        agent_key = normalize_agent(agent) if agent else None
        return name in OPAQUE_READ_ONLY[None] or name in OPAQUE_READ_ONLY.get(agent_key, ())
    if adapter.read_only(name, arguments):
        return True
    try:
        canonical = adapter.translate(name, arguments)
    except ToolCallError:
        return False
    return bool(get_tool(canonical.tool).read_only)
