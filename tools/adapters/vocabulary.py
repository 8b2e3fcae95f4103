"""The vocabulary of logged tool names: the adapter of every name replay can run (by default and
for one agent), the describer of every name it treats as opaque, the opaque names known to
leave the sandbox as it was, and the names the user answers (not the environment). Looked up
(and added to) through :mod:`understudy.tools.adapters`.
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
from understudy.tools.adapters.listing import ClaudeLsAdapter
from understudy.tools.adapters.notes import (
    ClaudeTodoWriteAdapter,
    CodexUpdatePlanAdapter,
    OpenHandsThinkAdapter,
)
from understudy.tools.adapters.patch import CodexApplyPatchAdapter
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
_codex_apply_patch = CodexApplyPatchAdapter()

ADAPTERS: dict[str, Adapter] = _by_name(
    BashAdapter(),
    ClaudeBashAdapter(),
    OpenHandsBashAdapter(),
    CodexShellAdapter(),
    CodexShellCommandAdapter(),
    _codex_apply_patch,
    _inspect,  # contributes "python"; "bash" is BashAdapter's
    StrReplaceEditorAdapter(),
    ClaudeEditAdapter(),
    ClaudeWriteAdapter(),
    ClaudeReadAdapter(),
    ClaudeGrepAdapter(),
    ClaudeGlobAdapter(),
    ClaudeLsAdapter(),
    _swe_agent_search,
    WebAdapter(),
    ClaudeTodoWriteAdapter(),
    CodexUpdatePlanAdapter(),
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
    "openhands": {"think": OpenHandsThinkAdapter()},
    "codex": _by_name(_codex_apply_patch),
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
    **_each(
        describe_no_effect,
        "think finish submit TodoRead ExitPlanMode AskUserQuestion "
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
    None: frozenset({"TodoRead", "think", "ExitPlanMode"}),
}
"""Opaque tools known never to change the sandbox (plans, notes), for every agent (key None) or
for one normalized agent name. (SWE-agent's viewer has adapters now: its moves are state a later
``edit`` needs, see :mod:`~understudy.tools.adapters.windowed`; so do the notes ``TodoWrite``,
``update_plan`` and OpenHands' ``think``, which their adapters say are read-only.)"""

USER_ANSWERED: frozenset[str] = frozenset(
    {
        "AskUserQuestion",  # Claude Code: the user picks answers
        "ExitPlanMode",  # Claude Code: the user approves or rejects the plan
        "request_user_input",  # Codex CLI (codex-rs RequestUserInputHandler)
        "ask_user",  # Gemini CLI
        "exit_plan_mode",  # Gemini CLI: the user approves the plan
        "ask_followup_question",  # Cline
    }
)
"""Tools whose result is the user's answer (a choice, an approval, a rejection), not anything the
environment printed: a replay cannot re-execute them, only serve the recorded answer."""

FINISHING: frozenset[str] = frozenset(
    {
        "submit",  # SWE-agent (all versions), inspect_ai's basic agent
        "finish",  # OpenHands
        "task_complete",  # Terminus
        "attempt_completion",  # Cline
    }
)
"""Tools with which a harness ends its run: once such a call is answered, the agent is asked
nothing more, whatever the answer was."""

USER_REFUSALS: tuple[str, ...] = (
    "The user doesn't want to proceed with this tool use.",  # Claude Code: permission denied
    "[Request interrupted by user for tool use]",  # Claude Code: interrupted while it ran
    "exec command rejected by user",  # Codex CLI: a command not approved
    "patch rejected by user",  # Codex CLI: a patch not approved
)
"""How harnesses recorded a call the user refused or interrupted: the call did not run (or not
to its end), so a replay must not run it either."""
EDITS_NOT_APPLIED: tuple[str, ...] = (
    "Your changes have NOT been applied.",  # SWE-agent: an edit its linter rejected
    "Your edit was not applied (file not modified)",  # SWE-agent: an ambiguous replacement
    "No replacement was performed",  # str_replace_editor: old_str not found, or not unique
)
"""How harnesses told the model that an edit left the file as it was, in a result they did not
mark as an error."""
