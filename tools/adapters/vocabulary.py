"""The vocabulary of logged tool names: the adapter of every name replay can run (by default and
for one agent), the describer of every name it treats as opaque, and the opaque names known to
leave the sandbox as it was. Looked up (and added to) through :mod:`understudy.tools.adapters`.
"""

from __future__ import annotations

from understudy.tools.adapters.describers import (
    Describe,
    describe_code,
    describe_code_search,
    describe_create,
    describe_delegation,
    describe_editor,
    describe_no_effect,
    describe_patch,
    describe_read,
    describe_shell,
    describe_text_edits,
    describe_web_fetch,
    describe_web_search,
    describe_windowed_edit,
    describe_write,
)
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
from understudy.tools.adapters.windowed import (
    SweAgentLegacyAdapter,
    SweAgentLegacyBashAdapter,
    SweAgentWindowedAdapter,
)
from understudy.tools.base import Adapter


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

_swe_agent_1x: dict[str, Adapter] = {
    "bash": SweAgentBashAdapter(),
    **_by_name(SweAgentWindowedAdapter()),
}

AGENT_ADAPTERS: dict[str, dict[str, Adapter]] = {
    "sweagent": {**_swe_agent_1x, "submit": _swe_agent_search},
    # A 1.x log whose history lacks the last step (the importer's version "1.x dev"): its
    # submit observation is the bare one of the trajectory.
    "sweagent1xdev": {**_swe_agent_1x, "submit": SweAgentSearchAdapter(submit_footer=False)},
    "sweagent0x": {
        "bash": SweAgentLegacyBashAdapter(),
        **_by_name(SweAgentLegacyAdapter()),
    },
    "minisweagent": {"bash": MiniSweAgentBashAdapter()},
    "inspect": {"bash": _inspect, "python": _inspect},
}
"""Agent-specific adapters, by normalized agent name, then tool name; they win over ADAPTERS."""


def _each(describe: Describe, names: str) -> dict[str, Describe]:
    return dict.fromkeys(names.split(), describe)


DESCRIBERS: dict[str, Describe] = {
    **_each(describe_shell, "run_shell_command run_command execute_command terminal exec cmd"),
    **_each(describe_code, "execute_ipython_cell ipython run_python jupyter"),
    **_each(describe_editor, "text_editor"),
    **_each(describe_text_edits, "NotebookEdit"),
    **_each(describe_write, "create_file write"),
    **_each(describe_read, "NotebookRead view_image open goto scroll_*"),
    **_each(describe_create, "create"),
    **_each(describe_windowed_edit, "edit edit_file"),
    **_each(describe_code_search, "grep glob"),
    **_each(describe_web_search, "search google_search brave_search"),
    **_each(describe_web_fetch, "fetch browse"),
    **_each(describe_patch, "apply_patch applypatch"),
    **_each(
        describe_no_effect,
        "think finish submit TodoWrite TodoRead ExitPlanMode AskUserQuestion update_plan "
        "SlashCommand KillShell KillBash BashOutput task_complete attempt_completion",
    ),
    **_each(describe_delegation, "Task Agent dispatch_agent delegate subagent"),
}
"""Describers of the logged tool names that have no adapter (replay treats them as opaque); a
name ending in ``*`` stands for every name that starts with the rest."""

AGENT_DESCRIBERS: dict[str, dict[str, Describe]] = {}
"""Agent-specific describers of opaque names, by normalized agent name; they win over
DESCRIBERS."""

OPAQUE_READ_ONLY: dict[str | None, frozenset[str]] = {
    None: frozenset({"TodoWrite", "TodoRead", "think", "update_plan", "ExitPlanMode"}),
}
"""Opaque tools known never to change the sandbox (plans, notes), for every agent (key None) or
for one normalized agent name. (SWE-agent's viewer has adapters now: its moves are state a later
``edit`` needs, see :mod:`~understudy.tools.adapters.windowed`.)"""
