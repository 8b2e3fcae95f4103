"""Adapters: the tool names and argument shapes real agents logged, mapped onto canonical tools.

:func:`find_adapter` looks an adapter up by the logged tool name. A few names mean different
things to different harnesses (``bash`` is SWE-agent's, mini-swe-agent's and inspect_ai's), so
it also takes the session's agent (``Session.source.agent`` or ``source.format``): with it, the
agent's own variant is found first; without it, the name's default (see ``ADAPTERS``).
A name with no adapter (``think`` but OpenHands', ``finish``, ``AskUserQuestion``, ...) is
*opaque*: it can only be replayed. SWE-agent's windowed ``open``/``goto``/``edit``/... are
opaque unless the agent is given: they run as SWE-agent 1.x's tools for ``"swe-agent"`` and as
0.x's commands for ``"SWE-agent 0.x"`` (the two versions print the same tools differently).

Some opaque names are answered by the user, not by the environment (``AskUserQuestion``,
``ExitPlanMode``, Codex ``request_user_input``, ...; :data:`USER_ANSWERED`): their recorded
result is an answer, an approval or a rejection that no replay can produce again, and
:func:`is_user_answered` tells them (``understudy fidelity`` serves them from the recording).

The same vocabulary tells judges what a logged call did: :func:`describe_call` answers with the
call's :class:`CallFacts`, from its adapter (``Adapter.describe``) or, for an opaque name, from
its describer in ``DESCRIBERS``. A new logged name is taught to both with one call:
:func:`register_adapter` for a name replay can run, :func:`register_describer` for one it
cannot.

Adapter table (logged name -> canonical tool; S = persistent shell):

=========================================  ============  ====================================
logged name (harness)                      canonical     rendering
=========================================  ============  ====================================
bash (default; {command} or inspect {cmd})  shell (S)     output as is
bash (agent swe-agent)                     shell (S)     + (Open file)/(Current directory);
                                                         run on an 80x24 terminal
bash (agent mini-swe-agent)                shell         <returncode>/<output>
bash, python (agent inspect)               shell         output; non-zero exit is an error
Bash (Claude Code)                         shell (S)     trimmed; "Exit code N" on failure
execute_bash (OpenHands)                   shell (S)     + [... exit code N.] lines
shell (Codex argv), container.exec         shell         {"output","metadata"} JSON
shell (Codex argv apply_patch / heredoc)   apply_patch   {"output","metadata"} JSON
apply_patch, applypatch (Codex)            apply_patch   {"output","metadata"} JSON; a
                                                         refused patch: Codex's bare text
shell_command (later Codex)                shell         Exit code/Wall time/Output
str_replace_editor, ..._based_edit_tool    editor        as is (same tool)
Edit, MultiEdit (Claude Code)              editor        "has been updated" + N→ snippet
Write (Claude Code)                        write_file    "File created successfully at"
Read (Claude Code)                         read_file     N→ lines + system reminder
Grep, Glob (Claude Code)                   shell         Found N files / paths
LS (Claude Code)                           shell (S)     "- /cwd/" tree + the NOTE line
find_file, search_dir, search_file         shell (S)     SWE-agent output + footer
submit (agent swe-agent)                   shell (S)     the diff + footer (1.x dev: the diff)
open, goto, scroll_*, create, edit          shell (S)     SWE-agent 1.x tools + footer
  (agent swe-agent)
bash, open, ..., edit, find_file, ...,      shell (S)     SWE-agent 0.x commands (default or
  submit (agent SWE-agent 0.x)                            cursors set), output as printed +
                                                         footer; submit: the diff
insert (agent swe-agent)                   shell (S)     SWE-agent 1.x tools + footer
TodoWrite (Claude Code)                    note          "Todos have been modified ..."
update_plan (Codex)                        note          "Plan updated"
think (agent openhands)                    note          "Your thought has been logged."
WebSearch, web_search                      browser       (replay/simulation only)
WebFetch, web_fetch, web_read, ..._go      browser       (replay/simulation only)
editor, read_file, write_file, ...         themselves    as is
=========================================  ============  ====================================

Described only (opaque to replay), by family: shells (``run_shell_command``, ``terminal``, ...),
Python cells (``execute_ipython_cell``, ...), ``text_editor``, ``NotebookEdit``/``NotebookRead``,
file writes (``create_file``, ``write``), SWE-agent's viewer without an agent (``open``,
``goto``, ``scroll_*``, ``create``, ``edit``), searches (``grep``, ``glob``, ``search``, ...),
fetches (``fetch``, ``browse``), plans and notes (``TodoRead``, ``think``
but OpenHands', ``finish``, ...), questions and plans put to the user (``AskUserQuestion``,
``ExitPlanMode``) and delegation to other agents (``Task``, ``Agent``, ...).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from understudy.errors import ConfigError, ToolCallError
from understudy.tools import get_tool
from understudy.tools.adapters.arguments import is_patch_call
from understudy.tools.adapters.base import SUBMITTED, BaseAdapter
from understudy.tools.adapters.describers import Describe, describe_patch, unreadable
from understudy.tools.adapters.facts import CallFacts, EditDiff
from understudy.tools.adapters.vocabulary import (
    ADAPTERS,
    AGENT_ADAPTERS,
    AGENT_DESCRIBERS,
    DESCRIBERS,
    EDITS_NOT_APPLIED,
    FINISHING,
    OPAQUE_READ_ONLY,
    USER_ANSWERED,
    USER_REFUSALS,
)
from understudy.tools.base import Adapter

__all__ = [
    "ADAPTERS",
    "AGENT_ADAPTERS",
    "AGENT_DESCRIBERS",
    "DESCRIBERS",
    "EDITS_NOT_APPLIED",
    "FINISHING",
    "OPAQUE_READ_ONLY",
    "SUBMITTED",
    "USER_ANSWERED",
    "USER_REFUSALS",
    "BaseAdapter",
    "CallFacts",
    "Describe",
    "EditDiff",
    "describe_call",
    "edit_not_applied",
    "ends_run",
    "find_adapter",
    "is_read_only",
    "is_user_answered",
    "logged_output",
    "normalize_agent",
    "refused_by_user",
    "register_adapter",
    "register_describer",
    "unregister",
]


_AGENT_ALIASES = {"inspectai": "inspect", "swe": "sweagent", "mini": "minisweagent"}

_LEADING_ALIASES = {"inspectai": "inspect", "sweagent0": "sweagent0x"}
"""Leading words that name a known agent in other words: any ``SWE-agent 0.N`` is 0.x."""


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
    known = {
        *AGENT_ADAPTERS,
        *AGENT_DESCRIBERS,
        *(name for name in OPAQUE_READ_ONLY if name is not None),
    }
    if key in known:
        return key
    leading = {**{name: name for name in known}, **_LEADING_ALIASES}
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


def describe_call(
    name: str, arguments: dict[str, Any], agent: str | None = None
) -> CallFacts | None:
    """What a logged call does, as far as its name and arguments tell; None for a name the
    vocabulary does not know (or a call its name's tools do not make).

    A call that holds an ``apply_patch`` envelope is read as one, whatever its name. A describer
    that trips over arguments it did not expect reads the call as unreadable.
    """
    describe = describe_patch if is_patch_call(name, arguments) else _find_describer(name, agent)
    if describe is None:
        return None
    try:
        return describe(name, arguments)
    except (TypeError, ValueError, AttributeError, KeyError):
        return unreadable(name)


def refused_by_user(result: str) -> bool:
    """Whether a recorded result says the user refused (or interrupted) the call, so that it
    did not run as logged (:data:`USER_REFUSALS`)."""
    head = result.lstrip()[:200]
    return any(refusal in head for refusal in USER_REFUSALS)


def edit_not_applied(result: str) -> bool:
    """Whether an edit's result says the file was left as it was (:data:`EDITS_NOT_APPLIED`)."""
    return any(phrase in result for phrase in EDITS_NOT_APPLIED)


def logged_output(
    name: str, arguments: dict[str, Any], shown: str, agent: str | None = None
) -> str | None:
    """What a logged call's tool printed, inside the result its harness showed (its adapter's
    ``unwrap``; as shown for a name with no adapter); None when the result does not hold all
    of it."""
    shown = shown.replace("\r\n", "\n")
    adapter = find_adapter(name, agent)
    return shown if adapter is None else adapter.unwrap(name, arguments, shown)


def _find_describer(name: str, agent: str | None) -> Describe | None:
    """The describer of a logged name: the agent's own first, an adapter's before an opaque
    name's, an exact name before a ``*`` pattern."""
    key = normalize_agent(agent) if agent else None
    scopes = [(AGENT_ADAPTERS.get(key, {}), AGENT_DESCRIBERS.get(key, {}))] if key else []
    for adapters, describers in [*scopes, (ADAPTERS, DESCRIBERS)]:
        adapter = adapters.get(name)
        if adapter is not None:
            return adapter.describe
        found = _describer_in(describers, name)
        if found is not None:
            return found
    return None


def _describer_in(describers: dict[str, Describe], name: str) -> Describe | None:
    """The describer of ``name`` in one table: its own, else that of the first ``*`` pattern
    it matches."""
    if name in describers:
        return describers[name]
    for pattern, describe in describers.items():
        if pattern.endswith("*") and name.startswith(pattern[:-1]):
            return describe
    return None


def register_adapter(adapter: Adapter, agent: str | None = None) -> None:
    """Teach replay and judges the logged names of ``adapter`` (for ``agent`` only, if given):
    replay translates and renders their calls with it, judges read them with its ``describe``.
    A name known before, with an adapter or a describer, is taken over."""
    key = normalize_agent(agent) if agent else None
    adapters = AGENT_ADAPTERS.setdefault(key, {}) if key else ADAPTERS
    describers = AGENT_DESCRIBERS.get(key, {}) if key else DESCRIBERS
    for name in adapter.names:
        adapters[name] = adapter
        describers.pop(name, None)
    normalize_agent.cache_clear()  # the agent may be new


def register_describer(describe: Describe, names: Iterable[str], agent: str | None = None) -> None:
    """Teach judges what calls to ``names`` do (for ``agent`` only, if given); replay keeps
    treating them as opaque. A name ending in ``*`` stands for every name starting with the
    rest. A name with an adapter is a ConfigError: its adapter describes it."""
    key = normalize_agent(agent) if agent else None
    adapters = AGENT_ADAPTERS.get(key, {}) if key else ADAPTERS
    names = list(names)
    taken = [name for name in names if name in adapters]
    if taken:
        raise ConfigError(f"{', '.join(taken)}: described by an adapter already")
    describers = AGENT_DESCRIBERS.setdefault(key, {}) if key else DESCRIBERS
    describers.update(dict.fromkeys(names, describe))
    normalize_agent.cache_clear()


def unregister(name: str, agent: str | None = None) -> None:
    """Forget a logged name (for ``agent``, if given): replay and judges no longer know it."""
    key = normalize_agent(agent) if agent else None
    if not key:
        ADAPTERS.pop(name, None)
        DESCRIBERS.pop(name, None)
        return
    AGENT_ADAPTERS.get(key, {}).pop(name, None)
    AGENT_DESCRIBERS.get(key, {}).pop(name, None)
    # An agent left with no names of its own is no longer one normalize_agent knows.
    if not AGENT_ADAPTERS.get(key, True):
        del AGENT_ADAPTERS[key]
    if not AGENT_DESCRIBERS.get(key, True):
        del AGENT_DESCRIBERS[key]
    normalize_agent.cache_clear()


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


def ends_run(name: str, result_meta: dict[str, Any]) -> bool:
    """Whether the harness that logged a call named ``name`` ended its run once the call was
    answered with a result of ``result_meta``: a finishing tool (:data:`FINISHING`), or a
    result that is the run's submission (:data:`SUBMITTED` when executed, ``from_exit`` when
    the log's own exit message answers it)."""
    return name in FINISHING or bool(result_meta.get(SUBMITTED) or result_meta.get("from_exit"))


def is_user_answered(name: str, agent: str | None = None) -> bool:
    """Whether a logged call's result is the user's answer (a choice, a plan approved or
    rejected), not the environment's: a name of :data:`USER_ANSWERED` that has no adapter (for
    ``agent``, if given). A replay can only serve such a result from the recording."""
    return name in USER_ANSWERED and find_adapter(name, agent) is None
