"""SWE-agent's own tools, run live: the windowed file viewer and editor (``open``, ``goto``,
``scroll_up``, ``scroll_down``, ``create``, ``edit``) of 0.x and 1.x, and 0.x's searches
(``find_file``, ``search_dir``, ``search_file``), ``submit`` and ``bash``.

0.x logs put each command in the assistant's text (``open tests/missing_colon.py``, ``edit
4:4`` + replacement + ``end_of_edit``); the importer turns them into calls with arguments
(``{path, line_number?}``, ``{start_line, end_line, replacement_text}``, ...), the arguments
1.x's function calls have too. Replay runs each call as the command line it stands for in the
sandbox's persistent shell, after loading SWE-agent's own tool definitions into it once (0.x:
:mod:`~understudy.tools.adapters.swe_agent_commands`, 1.x:
:mod:`~understudy.tools.adapters.swe_agent_tools`): the viewer's state (open file, current or
first line, window of 100 lines, overlap of 2) lives in the shell's exported variables, as it
did in SWE-agent, so later calls see what earlier ones left.

Every observation ends with the state footer, ``(Open file: ...)``, ``(Current directory:
...)`` and ``bash-$``, the open file read from the shell after each call (a probe of
``CURRENT_FILE``); a command with no output reads "Your command ran successfully and did not
produce any output.". 0.x's ``next_step_template`` put the output before it exactly as printed
(its last newline kept, hence the blank line the 0.x logs show before the footer); 1.x removed
the last newline. ``submit`` shows the diff alone, or in 1.x (from 1.0.0) the diff and the
footer (see :class:`~understudy.tools.adapters.search.SweAgentSearchAdapter`).

The 0.x adapters are the agent ``"SWE-agent 0.x"`` (normalized ``sweagent0x``), the 1.x ones the
agent ``"swe-agent"``: nothing in a call tells the versions apart, so the session's agent must
name the version.

What judges read is unchanged: each name keeps the describer it had as an opaque name.
"""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from understudy.errors import InvalidToolArgumentsError
from understudy.tools.adapters.base import get_bool, get_int, get_str, with_meta
from understudy.tools.adapters.describers import (
    Describe,
    describe_code_search,
    describe_create,
    describe_no_effect,
    describe_read,
    describe_windowed_edit,
    unreadable,
)
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.adapters.shell import (
    SWE_AGENT_FOOTER,
    SWE_AGENT_NO_OUTPUT,
    ShellAdapter,
    SweAgentBashAdapter,
    swe_agent_open_file,
    with_open_file_probe,
)
from understudy.tools.adapters.swe_agent_commands import install_command as install_0x
from understudy.tools.adapters.swe_agent_tools import install_command as install_1x
from understudy.tools.base import CanonicalCall, ToolOutcome

END_OF_EDIT = "end_of_edit"
"""The terminator of an ``edit``'s replacement text, as SWE-agent 0.x wrote it."""

_DESCRIBERS: dict[str, Describe] = {
    "open": describe_read,
    "goto": describe_read,
    "scroll_up": describe_read,
    "scroll_down": describe_read,
    "create": describe_create,
    "edit": describe_windowed_edit,
    "find_file": describe_code_search,
    "search_dir": describe_code_search,
    "search_file": describe_code_search,
    "submit": describe_no_effect,
}

_READ_ONLY = frozenset({"find_file", "search_dir", "search_file"})
"""Calls that change neither files nor the viewer (``open``, ``goto`` and the scrolls move the
viewer, which a later ``edit`` depends on, so rebuilding the state must not skip them)."""


def footed_observation(output: str, outcome: ToolOutcome) -> str:
    """``output`` (or the no-output sentence), then the state footer."""
    body = output if output.strip() else SWE_AGENT_NO_OUTPUT
    return body + SWE_AGENT_FOOTER.format(
        open_file=swe_agent_open_file(outcome), cwd=outcome.meta.get("cwd", "")
    )


class SweAgentCommandAdapter(ShellAdapter):
    """A SWE-agent tool call, run as the command line it stands for after the tools'
    definitions are loaded into the persistent shell (``install``)."""

    stateful_shell: bool = True
    default_timeout_s: ClassVar[float | None] = 30.0
    """``execution_timeout`` of the logged SWE-agent configurations."""

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        command = f"{self.install()}\n{self.command_line(name, arguments)}"
        return with_open_file_probe(self.shell_call(command))

    def install(self) -> str:
        """The script that loads the tools' definitions into the shell (once)."""
        raise NotImplementedError

    def command_line(self, name: str, arguments: dict[str, Any]) -> str:
        """The command line the call stands for (what a 0.x model typed)."""
        words = [name, *self._words(name, arguments)]
        line = " ".join(shlex.quote(word) for word in words)
        if name != "edit" or "search" in arguments:
            return line
        text = get_str(arguments, "replacement_text", name)
        assert text is not None
        return f"{line} <<'{_delimiter(text)}'\n{text}\n{_delimiter(text)}"

    def _words(self, name: str, arguments: dict[str, Any]) -> list[str]:
        if name == "open":
            line = get_int(arguments, "line_number", name)
            path = get_str(arguments, "path", name)
            return [str(path)] if line is None else [str(path), str(line)]
        if name == "goto":
            return [str(get_int(arguments, "line_number", name))]
        if name == "create":
            return [str(get_str(arguments, "filename", name))]
        if name == "edit" and "search" in arguments:  # 1.x edit by search and replace
            search, replace = (
                get_str(arguments, "search", name),
                get_str(arguments, "replace", name),
            )
            everywhere = ["True"] if get_bool(arguments, "replace-all") else []
            return [str(search), str(replace), *everywhere]
        if name == "edit":
            start, end = (
                get_int(arguments, "start_line", name),
                get_int(arguments, "end_line", name),
            )
            if start is None or end is None:
                raise InvalidToolArgumentsError("Usage: edit <start_line>:<end_line>")
            return [f"{start}:{end}"]
        if name in ("find_file", "search_dir", "search_file"):
            first = "file_name" if name == "find_file" else "search_term"
            where = {"find_file": "dir", "search_dir": "dir", "search_file": "file"}[name]
            optional = get_str(arguments, where, name, required=False)
            return [str(get_str(arguments, first, name)), *([optional] if optional else [])]
        return []  # scroll_up, scroll_down, submit

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return name in _READ_ONLY

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return _DESCRIBERS[name](name, arguments) or unreadable(name)


class SweAgentLegacyAdapter(SweAgentCommandAdapter):
    """SWE-agent 0.x's special commands, each run by 0.x's own definition."""

    names: tuple[str, ...] = tuple(_DESCRIBERS)

    def install(self) -> str:
        return install_0x()

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type") or name == "submit":
            return outcome
        return with_meta(outcome, footed_observation(outcome.content, outcome))


class SweAgentWindowedAdapter(SweAgentCommandAdapter):
    """SWE-agent 1.x's windowed tools, called by function calling: ``open {path,
    line_number?}``, ``goto {line_number}``, ``scroll_up``, ``scroll_down``, ``create
    {filename}``, ``edit {start_line, end_line, replacement_text}`` (``windowed_edit_linting``)
    or ``edit {search, replace, replace-all?}`` (``windowed_edit_replace``).

    Run by SWE-agent 1.x's tools (:mod:`~understudy.tools.adapters.swe_agent_tools`) and shown
    as 1.x did: the output without its last newline, then the state footer.
    """

    names: tuple[str, ...] = ("open", "goto", "scroll_up", "scroll_down", "create", "edit")

    def install(self) -> str:
        return install_1x()

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return outcome
        output = outcome.content
        body = output[:-1] if output.endswith("\n") else output
        return with_meta(outcome, footed_observation(body, outcome))


class SweAgentLegacyBashAdapter(SweAgentBashAdapter):
    """SWE-agent 0.x ``bash`` (any other command line): the 0.x observation and footer. 0.x ran
    its commands without a terminal."""

    on_terminal: ClassVar[bool] = False

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("timed_out") or outcome.meta.get("error_type"):
            return super().render(name, arguments, outcome)
        return with_meta(outcome, footed_observation(outcome.content, outcome))


def _delimiter(text: str) -> str:
    """A here-doc terminator that no line of ``text`` is."""
    delimiter = END_OF_EDIT
    lines = set(text.split("\n"))
    while delimiter in lines:
        delimiter += "_"
    return delimiter
