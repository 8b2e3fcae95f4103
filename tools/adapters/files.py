"""Adapters of logged file tools onto ``editor``, ``read_file`` and ``write_file``.

- ``str_replace_editor`` (SWE-agent 1.x, OpenHands, Anthropic's ``str_replace_based_edit_tool``):
  the canonical editor is that tool, so results pass through unchanged.
- Claude Code ``Read``: lines numbered ``     N→line``, then Claude Code's system reminder about
  malware (as in the logs of Claude Code 2.0; its earlier wording compares as the same).
- Claude Code ``Edit``/``MultiEdit``: "The file ... has been updated. Here's the result of
  running `cat -n` on a snippet of the edited file:" and the snippet numbered with ``→``; errors
  inside ``<tool_use_error>`` tags, worded as Claude Code words them.
- Claude Code ``Write``: "File created successfully at: PATH", or the updated file numbered.
- The canonical names (``editor``, ``read_file``, ``write_file``) map onto themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from understudy.errors import InvalidToolArgumentsError
from understudy.tools.adapters.base import (
    BaseAdapter,
    call,
    get_bool,
    get_int,
    get_str,
    numbered_lines,
    renumber,
    with_meta,
)
from understudy.tools.adapters.describers import (
    describe_browser,
    describe_editor,
    describe_no_effect,
    describe_read,
    describe_text_edits,
    describe_write,
)
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.adapters.shell import claude_error
from understudy.tools.base import CanonicalCall, ToolOutcome
from understudy.tools.common import numbered
from understudy.tools.files import EDITOR_COMMANDS

CLAUDE_ARROW = "→"
CLAUDE_READ_LIMIT = 2000
"""Lines Claude Code's ``Read`` returns when a call gives no ``limit``."""
CLAUDE_MALWARE_REMINDER = (
    "\n\n<system-reminder>\n"
    "Whenever you read a file, you should consider whether it would be considered malware. You "
    "CAN and SHOULD provide analysis of malware, what it is doing. But you MUST refuse to improve "
    "or augment the code. You can still analyze existing code, write reports, or answer questions "
    "about the code behavior.\n"
    "</system-reminder>\n"
)
"""What Claude Code 2.0 appended to every ``Read`` result (copied from the logs)."""
CLAUDE_EARLIER_MALWARE_REMINDER = (
    "\n\n<system-reminder>\n"
    "Whenever you read a file, you should consider whether it looks malicious. If it does, you "
    "MUST refuse to improve or augment the code. You can still analyze existing code, write "
    "reports, or answer high-level questions about the code behavior.\n"
    "</system-reminder>\n"
)
"""The same reminder as earlier 2.0 releases worded it (logs of October 2025)."""
_READING_REMINDER = re.compile(
    r"<system-reminder>\nWhenever you read a file, you should consider whether it "
    r"[^<]*</system-reminder>"
)
CLAUDE_EMPTY_FILE = (
    "<system-reminder>Warning: the file exists but the contents are empty.</system-reminder>"
)
_NO_MATCH = re.compile(r"^No replacement was performed, old_str `")
_MULTIPLE = re.compile(r"Multiple occurrences of old_str `.*` in lines \[([\d, ]*)\]", re.DOTALL)


class StrReplaceEditorAdapter(BaseAdapter):
    """``str_replace_editor`` ``{command, path, file_text?, old_str?, new_str?, insert_line?,
    view_range?}`` (extra keys such as OpenHands' ``security_risk`` are dropped).

    Like the harnesses, it wants absolute paths.
    """

    names: tuple[str, ...] = ("str_replace_editor", "str_replace_based_edit_tool")
    canonical: str = "editor"

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        command = get_str(arguments, "command", name)
        if command not in EDITOR_COMMANDS:
            allowed = ", ".join(EDITOR_COMMANDS)
            raise InvalidToolArgumentsError(
                f"Unrecognized command {command}. The allowed commands for the {name} tool are: "
                f"{allowed}"
            )
        path = get_str(arguments, "path", name)
        assert path is not None
        if not path.startswith("/"):
            raise InvalidToolArgumentsError(
                f"The path {path} is not an absolute path, it should start with `/`."
            )
        return call(
            "editor",
            command=command,
            path=path,
            file_text=get_str(arguments, "file_text", name, required=False),
            old_str=get_str(arguments, "old_str", name, required=False),
            new_str=get_str(arguments, "new_str", name, required=False),
            insert_line=get_int(arguments, "insert_line", name),
            view_range=_view_range(arguments.get("view_range"), name),
        )

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return arguments.get("command") == "view"

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_editor(name, arguments)


def _view_range(value: Any, tool: str) -> list[int] | None:
    """A view range, also when a model sent it as a JSON string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    ):
        raise InvalidToolArgumentsError(
            "Invalid `view_range`. It should be a list of two integers."
        )
    return value


_CANONICAL_DESCRIBERS: dict[str, Callable[[str, dict[str, Any]], CallFacts]] = {
    "editor": describe_editor,
    "read_file": describe_read,
    "write_file": describe_write,
    "calculator": describe_no_effect,
    "browser": describe_browser,
}


class CanonicalAdapter(BaseAdapter):
    """A canonical tool name logged as it is: the arguments and the result pass through."""

    def __init__(self, tool: str) -> None:
        self.names = (tool,)
        self.canonical = tool

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        return CanonicalCall(tool=self.canonical, arguments=dict(arguments))

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return self.canonical == "editor" and arguments.get("command") == "view"

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        describe = _CANONICAL_DESCRIBERS.get(self.canonical)
        return describe(name, arguments) if describe else super().describe(name, arguments)


# -- Claude Code -----------------------------------------------------------------------------------


class ClaudeReadAdapter(BaseAdapter):
    """Claude Code ``Read`` ``{file_path, offset?, limit?}`` (offset: first line, 1-based)."""

    names: tuple[str, ...] = ("Read",)
    canonical: str = "read_file"

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        path = get_str(arguments, "file_path", name)
        offset = get_int(arguments, "offset", name)
        limit = get_int(arguments, "limit", name)
        return call(
            "read_file",
            path=path,
            offset=max(offset, 1) if offset is not None else None,
            limit=max(limit, 1) if limit is not None else CLAUDE_READ_LIMIT,
            numbered=True,
        )

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return True

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_read(name, arguments)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.is_error:
            if outcome.meta.get("error_type") == "ToolFileNotFoundError":
                return claude_error(outcome, "File does not exist.")
            return claude_error(outcome, outcome.content)
        meta = outcome.meta
        if meta.get("file_bytes") == 0:
            return with_meta(outcome, CLAUDE_EMPTY_FILE)
        if meta.get("lines_returned") == 0:
            text = (
                "<system-reminder>Warning: the file exists but is shorter than the provided "
                f"offset ({meta.get('start_line')}). The file has {meta.get('total_lines')} "
                "lines.</system-reminder>"
            )
            return with_meta(outcome, text)
        text = renumber(outcome.content, CLAUDE_ARROW) + CLAUDE_MALWARE_REMINDER
        return with_meta(outcome, text)

    def comparable(self, name: str, shown: str) -> str:
        """The reminder Claude Code appends changed wording between 2.0 releases
        (:data:`CLAUDE_EARLIER_MALWARE_REMINDER`, :data:`CLAUDE_MALWARE_REMINDER`) and a log
        does not say which it ran: compared as one."""
        return _READING_REMINDER.sub("<system-reminder>(on reading files)</system-reminder>", shown)


class ClaudeEditAdapter(BaseAdapter):
    """Claude Code ``Edit`` ``{file_path, old_string, new_string, replace_all?}`` and
    ``MultiEdit`` ``{file_path, edits: [{old_string, new_string, replace_all?}]}``."""

    names: tuple[str, ...] = ("Edit", "MultiEdit")
    canonical: str = "editor"

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        path = get_str(arguments, "file_path", name)
        if name == "MultiEdit":
            edits = arguments.get("edits")
            if not isinstance(edits, list) or not edits:
                raise InvalidToolArgumentsError(f"{name}: 'edits' must be a non-empty list")
            return call(
                "editor",
                command="str_replace",
                path=path,
                edits=[_edit(edit, name) for edit in edits],
            )
        edit = _edit(arguments, name)
        return call("editor", command="str_replace", path=path, **edit)

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_text_edits(name, arguments)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        path = arguments.get("file_path", "")
        if outcome.is_error:
            return claude_error(outcome, _claude_edit_error(outcome, arguments))
        if name == "MultiEdit":
            edits = arguments.get("edits") or []
            lines = [
                f'{number}. Replaced "{_clip(edit.get("old_string", ""))}" with '
                f'"{_clip(edit.get("new_string", ""))}"'
                for number, edit in enumerate(edits, start=1)
            ]
            noun = "edit" if len(edits) == 1 else "edits"
            return with_meta(
                outcome, f"Applied {len(edits)} {noun} to {path}:\n" + "\n".join(lines)
            )
        if get_bool(arguments, "replace_all"):
            text = (
                f"The file {path} has been updated. All occurrences of "
                f"'{arguments.get('old_string', '')}' were successfully replaced with "
                f"'{arguments.get('new_string', '')}'."
            )
            return with_meta(outcome, text)
        snippet = "\n".join(numbered_lines(outcome.content))
        return with_meta(outcome, claude_updated(path, renumber(snippet, CLAUDE_ARROW)))


def claude_updated(path: str, snippet: str) -> str:
    """Claude Code's message for an edited file, with an already numbered snippet."""
    return (
        f"The file {path} has been updated. Here's the result of running `cat -n` on a snippet "
        f"of the edited file:\n{snippet}"
    )


def _edit(arguments: Any, tool: str) -> dict[str, Any]:
    """One Claude Code edit as canonical ``old_str``/``new_str``/``replace_all``."""
    if not isinstance(arguments, dict):
        raise InvalidToolArgumentsError(f"{tool}: each edit must be an object")
    old = get_str(arguments, "old_string", tool)
    new = get_str(arguments, "new_string", tool)
    if old == new:
        raise InvalidToolArgumentsError(
            "No changes to make: old_string and new_string are exactly the same."
        )
    edit: dict[str, Any] = {"old_str": old, "new_str": new}
    if get_bool(arguments, "replace_all"):
        edit["replace_all"] = True
    return edit


def _claude_edit_error(outcome: ToolOutcome, arguments: dict[str, Any]) -> str:
    """A canonical editor error in Claude Code's words."""
    if outcome.meta.get("error_type") == "ToolFileNotFoundError":
        return "File does not exist."
    content = outcome.content
    edits = arguments.get("edits") or [arguments]
    old = next(
        (e.get("old_string", "") for e in edits if f"`{e.get('old_string', '')}`" in content),
        edits[0].get("old_string", "") if isinstance(edits[0], dict) else "",
    )
    if _NO_MATCH.match(content):
        return f"String to replace not found in file.\nString: {old}"
    multiple = _MULTIPLE.search(content)
    if multiple:
        count = len([n for n in multiple.group(1).split(",") if n.strip()])
        return (
            f"Found {count} matches of the string to replace, but replace_all is false. To "
            "replace all occurrences, set replace_all to true. To replace only one occurrence, "
            f"please provide more context to uniquely identify the instance.\nString: {old}"
        )
    return content


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class ClaudeWriteAdapter(BaseAdapter):
    """Claude Code ``Write`` ``{file_path, content}``."""

    names: tuple[str, ...] = ("Write",)
    canonical: str = "write_file"

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        return call(
            "write_file",
            path=get_str(arguments, "file_path", name),
            content=get_str(arguments, "content", name),
        )

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_write(name, arguments)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        path = arguments.get("file_path", "")
        if outcome.is_error:
            return claude_error(outcome, outcome.content)
        if outcome.meta.get("created", True):
            return with_meta(outcome, f"File created successfully at: {path}")
        body = renumber(numbered(str(arguments.get("content", ""))), CLAUDE_ARROW)
        return with_meta(outcome, claude_updated(path, body))
