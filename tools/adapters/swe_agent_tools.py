# ruff: noqa: E501 (SWE-agent's own command lines and messages, kept as written)
"""SWE-agent 1.x's windowed file tools (``open``, ``goto``, ``scroll_up``, ``scroll_down``,
``create``, ``edit`` by line range or by search and replace, and ``insert``), for the persistent
shell.

Adapted from SWE-agent (MIT License, Copyright (c) 2024 John Yang, Carlos E. Jimenez, Alexander
Wettig, Shunyu Yao, Karthik Narasimhan, Ofir Press): ``tools/windowed/lib/windowed_file.py``
and the scripts of ``tools/windowed/bin``, ``tools/windowed_edit_linting/bin/edit`` and
``tools/windowed_edit_replace/bin/edit`` and ``bin/insert`` (``tools/defaults``,
``tools/edit_linting``, ``tools/edit_replace`` before 1998ce11).

Where the wording comes from (``git log -S`` in SWE-agent's history):

- the line-range ``edit`` ("File updated. ...") and its lint rejection: as the 1.x logs show
  them (``marshmallow-1867-function-calling.traj``);
- the search-and-replace ``edit``: the messages of SWE-agent HEAD (3ea751c0), unchanged since
  v1.0.0: the success messages "Text replaced. ...:\n\n1. The edited file is correctly
  indented ..." (one replacement) and "Replaced {n} occurrences. ...:" (``replace-all``) are
  from 8917167e (2024-12-02); the refusals of a search that is found more than once in the
  window, found only outside it, or not at all, and of a search equal to its replacement, were
  added in d6095152 (2024-12-02) and read as at v1.0.0 and HEAD. Earlier releases worded the success otherwise: "Replaced {n}
  occurrences. Please review ...\n(correct indentation, no duplicate lines, etc). ..." for
  every edit (22e2cb6f, 2024-11-22; the test-repo log ``sweagenttestrepo-1c2844.traj``), then
  "Text replaced. Please review ...\n(correct indentation, ...)" for one replacement
  (dbba0a17, the ``function_calling_replace`` demonstrations). A log does not say which release
  it ran, so the adapter compares the three as one (``SweAgentWindowedAdapter.comparable``).
  Its lint rejection puts no blank line between the errors and "This is how your edit would
  have looked", as the demonstrations show (the scripts' template has one);
- ``insert`` (60303062, 2024-11-22): its messages are those of HEAD (unverified against a log
  but for the window it prints); its optional line is 1-based and the text goes *before* that
  line, as in every release (``line - 1``); 10e3e76e (2026-06, unreleased) inserts after it.

A created file holds one empty line. Where the logs show no case (a file that is a directory)
the wording is that of later SWE-agent versions, unverified against a log.

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

SINGLE_EDIT_SUCCESS = """Text replaced. Please review the changes and make sure they are correct:

1. The edited file is correctly indented
2. The edited file does not contain duplicate lines
3. The edit does not break existing functionality

Edit the file again if necessary."""

MULTIPLE_EDITS_SUCCESS = """Replaced {n} occurrences. Please review the changes and make sure they are correct:

1. The edited file is correctly indented
2. The edited file does not contain duplicate lines
3. The edit does not break existing functionality

Edit the file again if necessary."""

NOT_FOUND = """Your edit was not applied (file not modified): Text {search!r} not found in displayed lines (or anywhere in the file).
Please modify your search string. Did you forget to properly handle whitespace/indentation?
You can also call `open` again to re-display the file with the correct context.
"""

NOT_FOUND_IN_WINDOW = """Your edit was not applied (file not modified): Text {search!r} not found in displayed lines.

However, we found the following occurrences of your search string in the file:

{occurrences}

You can use the `goto` command to navigate to these locations before running the edit command again.
"""

MULTIPLE_OCCURRENCES = """Your edit was not applied (file not modified): Found more than one occurrence of {search!r} in the currently displayed lines.
Please make your search string more specific (for example, by including more lines of context).
"""

NO_CHANGES = """Your search and replace strings are the same. No changes were made. Please modify your search or replace strings."""

LINT_REJECTED = """This is how your edit would have looked if applied
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
LINT_INTRO = "Your proposed edit has introduced new syntax error(s). Please read this error message carefully and then retry editing the file."
LINT_ERROR = LINT_INTRO + "\n\nERRORS:\n{errors}\n\n" + LINT_REJECTED
REPLACE_LINT_ERROR = LINT_INTRO + "\n\nERRORS:\n\n{errors}\n" + LINT_REJECTED
INSERT_LINT_ERROR = (
    "Your proposed edit has introduced new syntax error(s).\n"
    "Please read this error message carefully and then retry editing the file.\n\n"
    "ERRORS:\n\n{errors}\n\n" + LINT_REJECTED
)


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


def reject(window, errors, template=LINT_ERROR, status=1):
    applied = window.window_text()
    window.undo()
    print(template.format(errors=errors, applied=applied, original=window.window_text()))
    sys.exit(status)


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
    if search == replace:
        print(NO_CHANGES)
        sys.exit(2)
    before = lint(window.path)
    text = window.text if replace_all else window.window_text(numbered=False)
    count = text.count(search)
    if count > 1 and not replace_all:
        print(MULTIPLE_OCCURRENCES.format(search=search))
        sys.exit(4)
    if not count:
        found = occurrences(window.text, search)
        if found:
            listed = "\n".join(f"- line {line}" for line in found)
            print(NOT_FOUND_IN_WINDOW.format(search=search, occurrences=listed))
        else:
            print(NOT_FOUND.format(search=search))
        sys.exit(3)
    if replace_all:
        first = occurrences(window.text, search)[0] - 1
        window.text = window.text.replace(search, replace)
    else:
        start, end = window.line_range
        first = start + len(text[: text.find(search)].split("\n")) - 1
        window.set_lines(text.replace(search, replace), start, end)
    errors = new_lint_errors(window, before)
    if errors:
        reject(window, errors, REPLACE_LINT_ERROR, 4)
    window.goto(first)
    print(MULTIPLE_EDITS_SUCCESS.format(n=count) if replace_all else SINGLE_EDIT_SUCCESS)
    print(window.window_text())


def occurrences(text, search):
    """The (1-based) line of each occurrence of ``search`` in ``text``."""
    lines, start = [], text.find(search)
    while start != -1:
        lines.append(len(text[:start].split("\n")))
        start = text.find(search, start + len(search))
    return lines


def insert(args):
    if not os.environ.get("CURRENT_FILE"):
        print("No file opened. Use the `create` or `open` command first.")
        sys.exit(1)
    window = Window()
    text = args[0] if args else ""
    try:
        line = int(args[1]) - 1 if len(args) > 1 else None
    except ValueError:
        print("usage: insert [-h] text [line]")
        print(f"insert: error: argument line: invalid int value: {args[1]!r}")
        sys.exit(2)
    before = lint(window.path)
    if text:
        text = text[:-1] if text.endswith("\n") else text
        current, n_lines = window.text, window.n_lines
        if line is None:
            body = current[:-1] if current.endswith("\n") else current
            window.text = body + "\n" + text if current else text
            at = n_lines
        elif line < 0:
            body = current[1:] if current.startswith("\n") else current
            window.text = text + "\n" + body if current else text
            at = 0
        else:
            lines = current.split("\n")
            lines.insert(line, text)
            window.text = "\n".join(lines)
            at = line
        window.goto(at)
    errors = new_lint_errors(window, before)
    if errors:
        reject(window, errors, INSERT_LINT_ERROR, 4)
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
        elif command == "insert":
            insert(args)
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
        "for _swe_agent_tool in open goto scroll_up scroll_down create edit insert; do\n"
        '    eval "$_swe_agent_tool() { _swe_agent_1x $_swe_agent_tool \\"\\$@\\"; }"\n'
        "done\n"
        "unset _swe_agent_tool\n"
        "fi"
    )
