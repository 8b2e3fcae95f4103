# ruff: noqa: E501 (SWE-agent's own command lines and messages, kept as written)
"""SWE-agent 1.x's windowed file tools (``open``, ``goto``, ``scroll_up``, ``scroll_down``,
``create``, and ``edit`` by line range or by search and replace), for the persistent shell.

Adapted from SWE-agent (MIT License, Copyright (c) 2024 John Yang, Carlos E. Jimenez, Alexander
Wettig, Shunyu Yao, Karthik Narasimhan, Ofir Press): ``tools/windowed/lib/windowed_file.py``
and the scripts of ``tools/windowed/bin``, ``tools/windowed_edit_linting/bin/edit`` and
``tools/windowed_edit_replace/bin/edit``. The wording is that of the 1.x logs (the first 1.x
releases: "Replaced 1 occurrences. Please review the changes ...", a created file holds one
empty line); where the logs show no case (an ``edit`` whose text is not found, a file that is
a directory) the wording is that of later SWE-agent versions, unverified against a log.

SWE-agent 1.x kept the viewer's state in a registry file; here it lives in the shell's exported
variables (``CURRENT_FILE``, ``FIRST_LINE``, ``WINDOW``, ``OVERLAP``): the Python program
writes the new values to a file that the calling shell function sources. As in the 0.x
definitions, the lint check is python3's ``compile()`` in place of flake8 (syntax and
indentation errors only, worded as flake8's E999), and only ``.py`` files are checked.
"""

from __future__ import annotations

SWE_AGENT_1X_PROGRAM = r'''
import os
import shlex
import sys
from pathlib import Path

STATE = {}

EDIT_SUCCESS = """File updated. Please review the changes and make sure they are correct
(correct indentation, no duplicate lines, etc). Edit the file again if necessary."""

REPLACE_SUCCESS = """Replaced {n} occurrences. Please review the changes and make sure they are correct
(correct indentation, no duplicate lines, etc). Edit the file again if necessary."""

NOT_FOUND = """Your edit was not applied (file not modified): Text {search!r} not found in displayed lines (or anywhere in the file).
Please modify your search string. Did you forget to properly handle whitespace/indentation?
You can also call `open` again to re-display the file with the correct context.
"""

LINT_ERROR = """Your proposed edit has introduced new syntax error(s). Please read this error message carefully and then retry editing the file.

ERRORS:
{errors}

This is how your edit would have looked if applied
------------------------------------------------
{applied}
------------------------------------------------

This is the original code before your edit
------------------------------------------------
{original}
------------------------------------------------

Your changes have NOT been applied. Please fix your edit command and try again.
DO NOT re-run the same failed edit command. Running it again will lead to the same error.
"""


class Window:
    def __init__(self, path=None):
        given = path or os.environ.get("CURRENT_FILE", "")
        if not given:
            print("No file open. Use the open command first.")
            sys.exit(1)
        self.path = Path(given)
        if self.path.is_dir():
            print(f"Error: {self.path} is a directory. You can only open files. "
                  "Use cd or ls to navigate directories.")
            sys.exit(1)
        if not self.path.exists():
            print(f"Error: File {self.path} not found")
            sys.exit(1)
        STATE["CURRENT_FILE"] = str(self.path.resolve())
        self.window = int(os.environ.get("WINDOW") or 100)
        self.overlap = int(os.environ.get("OVERLAP") or 0)
        self._first = 0
        self.first_line = int(os.environ.get("FIRST_LINE") or 0)
        self.original_text = self.text
        self.original_first = self.first_line

    @property
    def first_line(self):
        return self._first

    @first_line.setter
    def first_line(self, value):
        self._first = max(0, min(int(value), self.n_lines - self.window))
        STATE["FIRST_LINE"] = str(self._first)

    @property
    def text(self):
        return self.path.read_text()

    @text.setter
    def text(self, new_text):
        self.path.write_text(new_text)

    @property
    def n_lines(self):
        return len(self.text.splitlines())

    @property
    def line_range(self):
        return self.first_line, min(self.first_line + self.window - 1, self.n_lines - 1)

    def window_text(self, numbered=True):
        start, end = self.line_range
        lines = self.text.split("\n")[start : end + 1]
        if not numbered:
            return "\n".join(lines)
        out = [f"[File: {self.path} ({self.n_lines} lines total)]"]
        if start > 0:
            out.append(f"({start} more lines above)")
        out.extend(f"{i + start + 1}:{line}" for i, line in enumerate(lines))
        if end < self.n_lines - 1:
            out.append(f"({self.n_lines - end - 1} more lines below)")
        return "\n".join(out)

    def set_lines(self, new_text, start, stop):
        text = self.text.split("\n")
        text[start : stop + 1] = new_text.split("\n") if new_text else []
        self.text = "\n".join(text)

    def goto(self, line):
        self.first_line = line - self.window / 6

    def undo(self):
        self.text = self.original_text
        self.first_line = self.original_first


def lint(path):
    if path.suffix != ".py":
        return []
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as error:
        return [f"- E999 {type(error).__name__}: {error.msg}"]
    return []


def new_lint_errors(window, before):
    errors = [error for error in lint(window.path) if error not in before]
    return "\n".join(errors)


def reject(window, errors):
    applied = window.window_text()
    window.undo()
    print(LINT_ERROR.format(errors=errors, applied=applied, original=window.window_text()))
    sys.exit(1)


def open_file(args):
    if not args:
        print('Usage: open "<file>"')
        sys.exit(1)
    window = Window(args[0])
    if len(args) > 1:
        try:
            line = int(args[1])
        except ValueError:
            print('Usage: open "<file>" [<line_number>]')
            print("Error: <line_number> must be a number")
            sys.exit(1)
        if line > window.n_lines:
            print(f"Warning: <line_number> ({line}) is greater than the number of lines in the file ({window.n_lines})")
            print(f"Warning: Setting <line_number> to {window.n_lines}")
            line = window.n_lines
        elif line < 1:
            print(f"Warning: <line_number> ({line}) is less than 1")
            print("Warning: Setting <line_number> to 1")
            line = 1
    else:
        line = window.first_line
    window.goto(line - 1)
    print(window.window_text())


def goto(args):
    if len(args) > 1:
        print("goto allows only one line number at a time.")
        sys.exit(1)
    if not args:
        print("Usage: goto <line>")
        sys.exit(1)
    try:
        line = int(args[0])
    except ValueError:
        print("Usage: goto <line>")
        print("Error: <line> must be a number")
        sys.exit(1)
    window = Window()
    if line > window.n_lines:
        print(f"Error: <line> must be less than or equal to {window.n_lines}")
        sys.exit(1)
    window.goto(line - 1)
    print(window.window_text())


def scroll(lines):
    window = Window()
    step = lines - window.overlap if lines > 0 else lines + window.overlap
    window.first_line += step
    print(window.window_text())


def create(args):
    if not args:
        print("Usage: create <filename>")
        sys.exit(1)
    path = Path(args[0])
    if path.exists():
        print(f"Warning: File '{path}' already exists.")
        sys.exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n")
    window = Window(str(path))
    window.first_line = 0
    print(window.window_text())


def edit_lines(args):
    if not os.environ.get("CURRENT_FILE"):
        print("No file opened. Use the `open` command first.")
        sys.exit(1)
    window = Window()
    try:
        start, end = (int(part) - 1 for part in args[0].split(":"))
    except ValueError:
        print("Usage: edit <start_line>:<end_line>\n<replacement_text>\nend_of_edit")
        sys.exit(1)
    replacement = "\n".join(line.rstrip("\n") for line in sys.stdin)
    before = lint(window.path)
    window.set_lines(replacement, start, end)
    errors = new_lint_errors(window, before)
    if errors:
        reject(window, errors)
    window.goto(start)
    print(EDIT_SUCCESS)
    print(window.window_text())
    print()


def edit_replace(args):
    if not os.environ.get("CURRENT_FILE"):
        print("No file opened. Either `open` or `create` a file first.")
        sys.exit(1)
    window = Window()
    search, replace = args[0], args[1]
    replace_all = len(args) > 2 and args[2] == "True"
    before = lint(window.path)
    text = window.text if replace_all else window.window_text(numbered=False)
    count = text.count(search)
    if not count:
        print(NOT_FOUND.format(search=search))
        sys.exit(3)
    first = len(window.text[: window.text.find(search)].split("\n")) - 1
    if replace_all:
        window.text = window.text.replace(search, replace)
    else:
        start, end = window.line_range
        window.set_lines(text.replace(search, replace), start, end)
    errors = new_lint_errors(window, before)
    if errors:
        reject(window, errors)
    window.goto(first)
    print(REPLACE_SUCCESS.format(n=count))
    print(window.window_text())


def main():
    state_file, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        if command == "open":
            open_file(args)
        elif command == "goto":
            goto(args)
        elif command == "scroll_down":
            scroll(int(os.environ.get("WINDOW") or 100))
        elif command == "scroll_up":
            scroll(-int(os.environ.get("WINDOW") or 100))
        elif command == "create":
            create(args)
        elif command == "edit" and args and ":" in args[0] and len(args) == 1:
            edit_lines(args)
        else:
            edit_replace(args)
    finally:
        with open(state_file, "w") as out:
            for key, value in STATE.items():
                out.write(f"export {key}={shlex.quote(value)}\n")


main()
'''
"""The tools, one Python program: ``python3 -c PROGRAM STATE_FILE COMMAND ARGS...``."""


def install_command() -> str:
    """A script that defines the tools as shell functions unless they are defined already."""
    delimiter = "SWE_AGENT_1X_PROGRAM"
    return (
        'if ! declare -F _swe_agent_1x >/dev/null || [ -z "${WINDOW:-}" ]; then\n'
        'export WINDOW="${WINDOW:-100}" OVERLAP="${OVERLAP:-2}" FIRST_LINE="${FIRST_LINE:-0}"\n'
        'export CURRENT_FILE="${CURRENT_FILE:-}"\n'
        f"_swe_agent_1x_program() {{\ncat <<'{delimiter}'\n"
        f"{SWE_AGENT_1X_PROGRAM}\n{delimiter}\n}}\n"
        "_swe_agent_1x() {\n"
        "    local state status; state=$(mktemp)\n"
        '    python3 -c "$(_swe_agent_1x_program)" "$state" "$@"; status=$?\n'
        '    . "$state"; rm -f "$state"\n'
        "    return $status\n"
        "}\n"
        "for _swe_agent_tool in open goto scroll_up scroll_down create edit; do\n"
        '    eval "$_swe_agent_tool() { _swe_agent_1x $_swe_agent_tool \\"\\$@\\"; }"\n'
        "done\n"
        "unset _swe_agent_tool\n"
        "fi"
    )
