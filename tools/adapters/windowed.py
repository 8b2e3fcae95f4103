"""SWE-agent's own tools, run live: the windowed file viewer and editor (``open``, ``goto``,
``scroll_up``, ``scroll_down``, ``create``, ``edit``) of 0.x and 1.x, 1.x's ``insert``, 0.x's
cursors command set (``set_cursors`` and an ``edit`` of the text between the cursors), and
0.x's searches (``find_file``, ``search_dir``, ``search_file``), ``submit`` and ``bash``.

0.x logs put each command in the assistant's text (``open tests/missing_colon.py``, ``edit
4:4`` + replacement + ``end_of_edit``); the importer turns them into calls with arguments
(``{path, line_number?}``, ``{start_line, end_line, replacement_text}``, ...), the arguments
1.x's function calls have too; a cursors ``edit`` (no line range) stays ``{command}`` (``edit``,
the text, ``end_of_edit``) and ``set_cursors`` a ``bash`` line. Replay runs each call as the
command line it stands for in the sandbox's persistent shell, after loading SWE-agent's own tool
definitions into it once (0.x: :mod:`~understudy.tools.adapters.swe_agent_commands`, and
:mod:`~understudy.tools.adapters.swe_agent_cursors` on top of them from the first call only the
cursors set has; 1.x: :mod:`~understudy.tools.adapters.swe_agent_tools`): the viewer's state
(open file, current or first line, window, overlap, cursors) lives in the shell's exported
variables, as it did in SWE-agent, so later calls see what earlier ones left.

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

import re
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
    swe_agent_output,
    with_open_file_probe,
)
from understudy.tools.adapters.swe_agent_commands import install_command as install_0x
from understudy.tools.adapters.swe_agent_cursors import (
    VIEWER_COMMANDS,
    note_command,
    switch_command,
)
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
    "insert": describe_windowed_edit,
    "find_file": describe_code_search,
    "search_dir": describe_code_search,
    "search_file": describe_code_search,
    "submit": describe_no_effect,
}

_LEGACY_NAMES = (
    *("open", "goto", "scroll_up", "scroll_down", "create", "edit"),
    *("find_file", "search_dir", "search_file", "submit"),
)
"""0.x's commands, of the default and the cursors command sets alike (the logs hold the cursors
set's ``set_cursors`` as a ``bash`` line)."""

WINDOWED_1X = ("open", "goto", "scroll_up", "scroll_down", "create", "edit")

_REPLACE_SUCCESS = re.compile(
    r"(?:Text replaced|Replaced (?P<n>\d+) occurrences)\. Please review the changes and make sure "
    r"they are correct(?::\r?\n\r?\n1\. The edited file is correctly indented\r?\n"
    r"2\. The edited file does not contain duplicate lines\r?\n"
    r"3\. The edit does not break existing functionality\r?\n\r?\n"
    r"|\r?\n\(correct indentation, no duplicate lines, etc\)\. )"
    r"Edit the file again if necessary\."
)
"""The success message of a search-and-replace ``edit``, in the wording of any 1.x release."""


def _replace_marker(found: re.Match[str]) -> str:
    return f"<SWE-agent: {found.group('n') or 1} occurrence(s) replaced; review the edit>"


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
        line = " ".join(shlex.quote(word) for word in self.words(name, arguments))
        if name != "edit" or "search" in arguments:
            return line
        text = edit_text(arguments)
        return f"{line} <<'{_delimiter(text)}'\n{text}\n{_delimiter(text)}"

    def words(self, name: str, arguments: dict[str, Any]) -> list[str]:
        """The command line's words, the command first (an ``edit``'s text aside)."""
        return [name, *self._words(name, arguments)]

    def _words(self, name: str, arguments: dict[str, Any]) -> list[str]:
        if name == "open":
            line = get_int(arguments, "line_number", name)
            path = get_str(arguments, "path", name)
            return [str(path)] if line is None else [str(path), str(line)]
        if name == "goto":
            return [str(get_int(arguments, "line_number", name))]
        if name == "create":
            return [str(get_str(arguments, "filename", name))]
        if name == "edit":
            return _edit_words(arguments)
        if name == "insert":
            line = get_int(arguments, "line", name)
            text = str(get_str(arguments, "text", name))
            return [text] if line is None else [text, str(line)]
        if name in ("find_file", "search_dir", "search_file"):
            first = "file_name" if name == "find_file" else "search_term"
            where = {"find_file": "dir", "search_dir": "dir", "search_file": "file"}[name]
            optional = get_str(arguments, where, name, required=False)
            return [str(get_str(arguments, first, name)), *([optional] if optional else [])]
        return []  # scroll_up, scroll_down, submit

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return name in _READ_ONLY

    def unwrap(self, name: str, arguments: dict[str, Any], shown: str) -> str | None:
        return swe_agent_output(shown)

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return _DESCRIBERS[name](name, arguments) or unreadable(name)


class SweAgentLegacyAdapter(SweAgentCommandAdapter):
    """SWE-agent 0.x's special commands, each run by 0.x's own definition: the default command
    set (:mod:`~understudy.tools.adapters.swe_agent_commands`) or the cursors one
    (:mod:`~understudy.tools.adapters.swe_agent_cursors`).

    Which set a session ran is not in what the adapter is given (the agent is ``SWE-agent 0.x``
    for both; ``open {path}`` and ``create {filename}`` are the same calls): the shell starts
    with the default set and switches to the cursors set, for good, at the first call only that
    set has (:func:`is_cursors_call`: ``set_cursors``, or an ``edit`` with no line range), making
    again under it the viewer moves noted since the last ``open``/``create``. Calls before the
    switch show the default set's window (no cursor marks, a window of 100 lines).
    """

    names: tuple[str, ...] = _LEGACY_NAMES

    def install(self) -> str:
        return install_0x()

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        words = [shlex.quote(word) for word in self.words(name, arguments)]
        if is_cursors_call(name, arguments):
            before = switch_command()
        elif name in VIEWER_COMMANDS:
            before = note_command(words)
        else:
            before = ":"
        command = f"{self.install()}\n{before}\n{self.command_line(name, arguments)}"
        return with_open_file_probe(self.shell_call(command))

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type") or name == "submit":
            return outcome
        return with_meta(outcome, footed_observation(outcome.content, outcome))


class SweAgentWindowedAdapter(SweAgentCommandAdapter):
    """SWE-agent 1.x's windowed tools, called by function calling: ``open {path,
    line_number?}``, ``goto {line_number}``, ``scroll_up``, ``scroll_down``, ``create
    {filename}``, ``edit {start_line, end_line, replacement_text}`` (``windowed_edit_linting``)
    or ``edit {search, replace, replace-all?}`` and ``insert {text, line?}``
    (``windowed_edit_replace``).

    Run by SWE-agent 1.x's tools (:mod:`~understudy.tools.adapters.swe_agent_tools`) and shown
    as 1.x did: the output without its last newline, then the state footer.

    ``comparable`` normalises wording that differs between SWE-agent releases and cannot be
    recovered from the log (a log does not say which release wrote it): the success message of
    a search-and-replace ``edit`` ("Replaced 1 occurrences. ... (correct indentation, ...)",
    "Text replaced. ... (correct indentation, ...)", "Text replaced. ...:" with a numbered
    list; see the tools' module) is replaced, in the recorded and the live result alike, by
    one marker that keeps only the number of replacements.
    """

    names: tuple[str, ...] = (*WINDOWED_1X, "insert")

    def install(self) -> str:
        return install_1x()

    def words(self, name: str, arguments: dict[str, Any]) -> list[str]:
        if name == "edit" and "search" not in arguments and "start_line" not in arguments:
            raise InvalidToolArgumentsError("edit: give start_line and end_line, or search")
        return super().words(name, arguments)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return outcome
        output = outcome.content
        body = output[:-1] if output.endswith("\n") else output
        return with_meta(outcome, footed_observation(body, outcome))

    def comparable(self, name: str, shown: str) -> str:
        if name != "edit":
            return shown
        return _REPLACE_SUCCESS.sub(_replace_marker, shown)


class SweAgentLegacyBashAdapter(SweAgentBashAdapter):
    """SWE-agent 0.x ``bash`` (any other command line): the 0.x observation and footer. 0.x ran
    its commands without a terminal."""

    on_terminal: ClassVar[bool] = False

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        """A ``set_cursors`` line loads the cursors command set first (see
        :class:`SweAgentLegacyAdapter`)."""
        translated = super().translate(name, arguments)
        if not is_cursors_call(name, arguments):
            return translated
        command = f"{install_0x()}\n{switch_command()}\n{translated.arguments['command']}"
        return translated.model_copy(
            update={"arguments": {**translated.arguments, "command": command}}
        )

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


_CURSORS_EDIT = re.compile(r"\Aedit[ \t]*\n(.*?)\n?end_of_edit\s*\Z", re.DOTALL)
"""A cursors ``edit`` as the importer keeps it when it has no line range: ``{command}``."""


def is_cursors_call(name: str, arguments: dict[str, Any]) -> bool:
    """A 0.x call only the cursors command set has: a ``bash`` line that runs ``set_cursors``,
    or an ``edit`` with no line range (the text between the cursors)."""
    if name == "bash":
        command = arguments.get("command")
        return isinstance(command, str) and command.split(maxsplit=1)[:1] == ["set_cursors"]
    if name != "edit" or "start_line" in arguments or "end_line" in arguments:
        return False
    if "replacement_text" in arguments:
        return True
    command = arguments.get("command")
    return isinstance(command, str) and _CURSORS_EDIT.match(command) is not None


def edit_text(arguments: dict[str, Any]) -> str:
    """The text of an ``edit`` by lines: ``replacement_text``, or a cursors ``edit`` kept as
    ``{command}``."""
    if "replacement_text" not in arguments and isinstance(arguments.get("command"), str):
        found = _CURSORS_EDIT.match(arguments["command"])
        if found is not None:
            return found.group(1)
    text = get_str(arguments, "replacement_text", "edit")
    assert text is not None
    return text


def _edit_words(arguments: dict[str, Any]) -> list[str]:
    """An ``edit``'s words: ``search replace [True]`` (1.x), ``start:end`` (0.x and 1.x by
    lines), none for the cursors ``edit``."""
    if "search" in arguments:
        search, replace = (
            get_str(arguments, "search", "edit"),
            get_str(arguments, "replace", "edit"),
        )
        everywhere = ["True"] if get_bool(arguments, "replace-all") else []
        return [str(search), str(replace), *everywhere]
    if is_cursors_call("edit", arguments):
        return []
    start, end = get_int(arguments, "start_line", "edit"), get_int(arguments, "end_line", "edit")
    if start is None or end is None:
        raise InvalidToolArgumentsError("Usage: edit <start_line>:<end_line>")
    return [f"{start}:{end}"]
