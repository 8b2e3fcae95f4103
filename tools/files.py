"""The canonical file tools: ``editor`` (view/create/str_replace/insert/undo_edit), ``read_file``
and ``write_file``.

The editor follows the ``str_replace_editor`` of SWE-agent and OpenHands (Anthropic's reference
text editor): the same commands, the same messages, ``cat -n`` style views, a snippet of four
lines around each edit. Two departures, both for correctness: tabs are never expanded (the
reference implementation rewrites tabs in the whole file on every edit), and relative paths are
accepted (they start at the sandbox's working directory).

Files go through ``sandbox.read_file``/``write_file``, so they are binary-safe; the tools handle
UTF-8 text only and refuse anything else with an EditorError. Lines are the pieces between
``\\n`` characters, so a file that ends with a newline shows an empty last line, as the reference
editor, SWE-agent's ``open`` and Claude Code's ``Read`` all show it.
"""

from __future__ import annotations

import shlex
from collections import OrderedDict
from typing import Any, ClassVar

from understudy.errors import EditorError, InvalidToolArgumentsError
from understudy.protocols import Sandbox
from understudy.tools.base import ToolOutcome
from understudy.tools.common import (
    DEFAULT_OUTPUT_LIMIT,
    IsDirectory,
    cap_output,
    check_output_limit,
    decode_text,
    numbered,
    probe_file,
    read_existing,
    read_text,
    relative_to_workdir,
    replace_file,
    require_sandbox,
    sandbox_path,
    validate_arguments,
)

SNIPPET_LINES = 4
"""Lines of context shown before and after an edit."""
MAX_UNDO = 20
"""Earlier versions kept per file for ``undo_edit``."""
MAX_UNDO_FILES = 256
"""Files (per sandbox) whose history is kept; the least recently edited are forgotten first,
so a long run over many sandboxes does not accumulate old file versions."""
EDITOR_COMMANDS = ("view", "create", "str_replace", "insert", "undo_edit")

_EDIT_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "old_str": {"type": "string"},
        "new_str": {"type": "string"},
        "replace_all": {"type": "boolean"},
    },
    "required": ["old_str"],
    "additionalProperties": False,
}


class EditorTool:
    """View, create and edit text files in the sandbox."""

    name: str = "editor"
    read_only: bool = False
    needs_sandbox: bool = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "enum": list(EDITOR_COMMANDS)},
            "path": {"type": "string", "minLength": 1, "description": "File or directory."},
            "file_text": {"type": "string", "description": "Content of the file to create."},
            "old_str": {"type": "string", "description": "Text to replace (str_replace)."},
            "new_str": {
                "type": "string",
                "description": "Replacement (str_replace; default empty) or text to insert.",
            },
            "insert_line": {
                "type": "integer",
                "minimum": 0,
                "description": "insert: the new text goes after this line (0: at the top).",
            },
            "view_range": {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 2,
                "maxItems": 2,
                "description": "view: first and last line to show (-1 as last: to the end).",
            },
            "replace_all": {
                "type": "boolean",
                "description": "str_replace: replace every occurrence instead of a unique one.",
            },
            "edits": {
                "type": "array",
                "items": _EDIT_ITEM,
                "minItems": 1,
                "description": "str_replace: several replacements applied in order, all or none.",
            },
        },
        "required": ["command", "path"],
        "additionalProperties": False,
    }

    def __init__(self, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.output_limit = check_output_limit(output_limit)
        self._history: OrderedDict[tuple[str, str], list[str | None]] = OrderedDict()

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Carry out one editor command."""
        validate_arguments(self.name, self.parameters, arguments)
        box = require_sandbox(self.name, sandbox)
        command = arguments["command"]
        path: str = arguments["path"]
        if command == "view":
            return await self._view(box, path, arguments.get("view_range"))
        if "view_range" in arguments:
            raise InvalidToolArgumentsError("Parameter `view_range` is only allowed for `view`.")
        if command == "create":
            return await self._create(box, path, _required(arguments, "file_text", command))
        if command == "str_replace":
            return await self._str_replace(box, path, _replacements(arguments))
        if command == "insert":
            line = _required(arguments, "insert_line", command)
            return await self._insert(box, path, line, _required(arguments, "new_str", command))
        return await self._undo(box, path)

    # -- commands ------------------------------------------------------------------------------

    async def _view(self, box: Sandbox, path: str, view_range: list[int] | None) -> ToolOutcome:
        data = await read_existing(box, path)
        if isinstance(data, IsDirectory):
            if view_range is not None:
                raise InvalidToolArgumentsError(
                    "The `view_range` parameter is not allowed when `path` points to a directory."
                )
            return await self._view_directory(box, path)
        lines = decode_text(data, path).split("\n")
        total_lines, first = len(lines), 1
        if view_range is not None:
            first, last = _check_view_range(view_range, total_lines)
            lines = lines[first - 1 :] if last == -1 else lines[first - 1 : last]
        body = numbered("\n".join(lines), first)
        content = f"Here's the result of running `cat -n` on {path}:\n{body}\n"
        return self._outcome(content, {"path": sandbox_path(box, path), "total_lines": total_lines})

    async def _view_directory(self, box: Sandbox, path: str) -> ToolOutcome:
        full = sandbox_path(box, path)
        relative = relative_to_workdir(box, path)
        target = relative if relative is not None else full
        listing = await box.exec(
            f"find {shlex.quote(target)} -maxdepth 2 -not -path '*/.*' | LC_ALL=C sort",
            timeout=60,
        )
        if listing.exit_code != 0:
            raise EditorError(f"Could not list {path}: {listing.output.strip()}")
        shown = path.rstrip("/") or "/"
        entries = []
        for line in listing.output.splitlines():
            # find prints the target as given; show entries under the path the caller used.
            rest = line[len(target) :] if line.startswith(target) else line
            entries.append(shown + rest if rest.startswith("/") or not rest else line)
        content = (
            f"Here's the files and directories up to 2 levels deep in {path}, excluding hidden "
            f"items:\n" + "\n".join(entries) + "\n"
        )
        return self._outcome(content, {"path": full, "directory": True})

    async def _create(self, box: Sandbox, path: str, file_text: str) -> ToolOutcome:
        existing = await probe_file(box, path)
        if existing is not None:
            raise EditorError(
                f"File already exists at: {path}. Cannot overwrite files using command `create`."
            )
        await box.write_file(path, file_text.encode("utf-8"))
        full = sandbox_path(box, path)
        self._remember(box, full, None)
        return self._outcome(
            f"File created successfully at: {path}", {"path": full, "files_changed": [full]}
        )

    async def _str_replace(
        self, box: Sandbox, path: str, replacements: list[tuple[str, str, bool]]
    ) -> ToolOutcome:
        text = await self._editable_text(box, path)
        new_text, count = text, 0
        start = end = 0
        for old, new, replace_all in replacements:
            occurrences = new_text.count(old) if old else 0
            if occurrences == 0:
                raise EditorError(
                    f"No replacement was performed, old_str `{old}` did not appear verbatim in "
                    f"{path}."
                )
            if occurrences > 1 and not replace_all:
                lines = _occurrence_lines(new_text, old)
                raise EditorError(
                    f"No replacement was performed. Multiple occurrences of old_str `{old}` in "
                    f"lines {lines}. Please ensure it is unique"
                )
            start = new_text.split(old, 1)[0].count("\n")
            end = start + new.count("\n")
            new_text = new_text.replace(old, new) if replace_all else new_text.replace(old, new, 1)
            count += occurrences if replace_all else 1
        await replace_file(box, path, new_text.encode("utf-8"))
        full = sandbox_path(box, path)
        self._remember(box, full, text)
        first = max(0, start - SNIPPET_LINES)
        snippet = "\n".join(new_text.split("\n")[first : end + SNIPPET_LINES + 1])
        content = (
            f"The file {path} has been edited. Here's the result of running `cat -n` on a "
            f"snippet of {path}:\n{numbered(snippet, first + 1)}\n"
            "Review the changes and make sure they are as expected. Edit the file again if "
            "necessary."
        )
        return self._outcome(
            content, {"path": full, "files_changed": [full], "replacements": count}
        )

    async def _insert(self, box: Sandbox, path: str, line: int, new_str: str) -> ToolOutcome:
        text = await self._editable_text(box, path)
        lines = text.split("\n")
        if not 0 <= line <= len(lines):
            raise EditorError(
                f"Invalid `insert_line` parameter: {line}. It should be within the range of "
                f"lines of the file: {[0, len(lines)]}"
            )
        inserted = new_str.split("\n")
        new_text = "\n".join([*lines[:line], *inserted, *lines[line:]])
        await replace_file(box, path, new_text.encode("utf-8"))
        full = sandbox_path(box, path)
        self._remember(box, full, text)
        snippet_lines = [
            *lines[max(0, line - SNIPPET_LINES) : line],
            *inserted,
            *lines[line : line + SNIPPET_LINES],
        ]
        first = max(1, line - SNIPPET_LINES + 1)
        content = (
            f"The file {path} has been edited. Here's the result of running `cat -n` on a "
            f"snippet of the edited file:\n{numbered(chr(10).join(snippet_lines), first)}\n"
            "Review the changes and make sure they are as expected (correct indentation, no "
            "duplicate lines, etc). Edit the file again if necessary."
        )
        return self._outcome(content, {"path": full, "files_changed": [full]})

    async def _undo(self, box: Sandbox, path: str) -> ToolOutcome:
        full = sandbox_path(box, path)
        versions = self._history.get((box.id, full))
        if not versions:
            raise EditorError(f"No edit history found for {path}.")
        previous = versions.pop()
        if previous is None:  # the file was created by the editor: undoing empties it
            previous = ""
        await replace_file(box, path, previous.encode("utf-8"))
        content = (
            f"Last edit to {path} undone successfully. Here's the result of running `cat -n` on "
            f"{path}:\n{numbered(previous)}\n"
        )
        return self._outcome(content, {"path": full, "files_changed": [full]})

    # -- helpers -------------------------------------------------------------------------------

    async def _editable_text(self, box: Sandbox, path: str) -> str:
        data = await read_existing(box, path)
        if isinstance(data, IsDirectory):
            raise EditorError(
                f"The path {path} is a directory and only the `view` command can be used on "
                "directories"
            )
        return decode_text(data, path)

    def _remember(self, box: Sandbox, full: str, previous: str | None) -> None:
        key = (box.id, full)
        versions = self._history.setdefault(key, [])
        self._history.move_to_end(key)
        versions.append(previous)
        del versions[:-MAX_UNDO]
        while len(self._history) > MAX_UNDO_FILES:
            self._history.popitem(last=False)

    def _outcome(self, content: str, meta: dict[str, Any]) -> ToolOutcome:
        shown, capped = cap_output(content, self.output_limit)
        return ToolOutcome(content=shown, meta={**meta, "truncated": capped})


class ReadFileTool:
    """Read a text file, optionally a range of lines, optionally with line numbers."""

    name: str = "read_file"
    read_only: bool = True
    needs_sandbox: bool = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "offset": {
                "type": "integer",
                "minimum": 1,
                "description": "First line to return (1-based; default 1).",
            },
            "limit": {"type": "integer", "minimum": 1, "description": "Most lines to return."},
            "numbered": {
                "type": "boolean",
                "description": "Prefix each line with its number, cat -n style (default false).",
            },
        },
        "required": ["path"],
        "additionalProperties": False,
    }

    def __init__(self, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.output_limit = check_output_limit(output_limit)

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """The file's lines ``offset`` .. ``offset + limit - 1``."""
        validate_arguments(self.name, self.parameters, arguments)
        box = require_sandbox(self.name, sandbox)
        path: str = arguments["path"]
        text = await read_text(box, path)
        lines = text.split("\n")
        offset: int = arguments.get("offset", 1)
        limit: int | None = arguments.get("limit")
        chosen = lines[offset - 1 : None if limit is None else offset - 1 + limit]
        body = "\n".join(chosen)
        if arguments.get("numbered") and chosen:
            body = numbered(body, offset)
        content, capped = cap_output(body, self.output_limit)
        return ToolOutcome(
            content=content,
            meta={
                "path": sandbox_path(box, path),
                "start_line": offset,
                "lines_returned": len(chosen),
                "total_lines": len(lines),
                "file_bytes": len(text.encode("utf-8")),
                "truncated": capped,
            },
        )


class WriteFileTool:
    """Create or replace a file (parent directories are created)."""

    name: str = "write_file"
    read_only: bool = False
    needs_sandbox: bool = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "content": {"type": "string"},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Write ``content`` (UTF-8) to ``path``."""
        validate_arguments(self.name, self.parameters, arguments)
        box = require_sandbox(self.name, sandbox)
        path: str = arguments["path"]
        data = arguments["content"].encode("utf-8")
        existing = await probe_file(box, path)
        if isinstance(existing, IsDirectory):
            raise EditorError(f"The path {path} is a directory; cannot write a file there.")
        await replace_file(box, path, data)
        full = sandbox_path(box, path)
        if existing is None:
            content = f"File created successfully at: {path}"
        else:
            content = f"File written successfully at: {path} ({len(data)} bytes)"
        return ToolOutcome(
            content=content,
            meta={
                "path": full,
                "files_changed": [full],
                "created": existing is None,
                "bytes": len(data),
            },
        )


# -- argument helpers ----------------------------------------------------------------------------


def _required(arguments: dict[str, Any], key: str, command: str) -> Any:
    if arguments.get(key) is None:
        raise InvalidToolArgumentsError(f"Parameter `{key}` is required for command: {command}")
    return arguments[key]


def _replacements(arguments: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The (old, new, replace_all) edits of a str_replace call."""
    if "edits" in arguments:
        if "old_str" in arguments or "new_str" in arguments:
            raise InvalidToolArgumentsError(
                "Give either `edits` or `old_str`/`new_str` for str_replace, not both."
            )
        return [
            (edit["old_str"], edit.get("new_str", ""), bool(edit.get("replace_all")))
            for edit in arguments["edits"]
        ]
    old = _required(arguments, "old_str", "str_replace")
    return [(old, arguments.get("new_str") or "", bool(arguments.get("replace_all")))]


def _check_view_range(view_range: list[int], n_lines: int) -> tuple[int, int]:
    first, last = view_range
    if not 1 <= first <= n_lines:
        raise EditorError(
            f"Invalid `view_range`: {view_range}. Its first element `{first}` should be within "
            f"the range of lines of the file: {[1, n_lines]}"
        )
    if last != -1 and last > n_lines:
        raise EditorError(
            f"Invalid `view_range`: {view_range}. Its second element `{last}` should be smaller "
            f"than the number of lines in the file: `{n_lines}`"
        )
    if last != -1 and last < first:
        raise EditorError(
            f"Invalid `view_range`: {view_range}. Its second element `{last}` should be larger or "
            f"equal than its first `{first}`"
        )
    return first, last


def _occurrence_lines(text: str, old: str) -> list[int]:
    """1-based line numbers where each occurrence of ``old`` starts."""
    lines, start = [], 0
    while (found := text.find(old, start)) != -1:
        lines.append(text.count("\n", 0, found) + 1)
        start = found + 1
    return lines
