"""Placeholders of redacted values made literal in a shell script before it runs live.

An imported session is de-identified (:mod:`understudy.replay.redact`): a user name in a path
becomes ``<USER_1>``. Run as is, ``cat /Users/<USER_1>/x`` has bash read ``<USER_1`` as an input
redirection and fail with ``USER_1: No such file or directory``, where the logged agent saw
``cat``'s own message (and a workspace rebuilt from the log may even hold ``/Users/<USER_1>``).
:func:`quote_placeholders` single-quotes each placeholder that stands where bash parses shell
syntax, and leaves alone the ones that are literal text already.

The scanner knows as much of bash's quoting as that takes: single quotes, ``$'...'``, double
quotes (with ``$(...)`` inside them, whose text is shell syntax again), backslash escapes,
arithmetic (``$((x << 2))``), comments and here-documents (``<<WORD``, ``<<-WORD``,
``<<'WORD'``, ``<<"WORD"``: the body lines up to the terminating line are text). Not followed:
backticks inside double quotes, ``$(...)`` inside a here-document body, and a ``case``
pattern's bare ``)`` inside ``$(...)``; there a placeholder is left as it is, or quoted as if
the text were plain shell syntax.
"""

from __future__ import annotations

import re

from understudy.replay.redact.placeholders import PLACEHOLDER, has_placeholder

_METACHARACTERS = frozenset(" \t\n;&|()<>")
"""Characters that end a word: a ``#`` right after one (or first in the script) starts a comment."""

_HEREDOC = re.compile(
    r"""<<(-?)[ \t]*((?:[^\s;&|()<>'"\\]|'[^']*'|"(?:[^"\\]|\\.)*"|\\.)+)""", re.DOTALL
)
"""A here-document operator and its delimiter word (group 1: ``-``; group 2: the word)."""

_QUOTING = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""", re.DOTALL)
"""One quoted part of a delimiter word: ``'..'``, ``".."`` or a backslash and its character."""


def quote_placeholders(script: str) -> str:
    """``script`` with each placeholder (``<USER_1>``) that bash would parse as shell syntax
    put in single quotes (``'<USER_1>'``), so that it is the literal text it stands for.

    Placeholders that are literal already are left as they are: in single or double quotes, in
    a here-document's body, after a backslash, in a comment. Everything else is unchanged, and a
    script without placeholders is returned as is.
    """
    if not has_placeholder(script):  # every command comes here: the cheap test first
        return script
    parts: list[str] = []
    copied = 0  # script[:copied] is in parts
    stack: list[str] = []  # open: '"' a double-quoted string, "(" a parenthesis, "((" arithmetic
    heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) awaiting their bodies
    at, end = 0, len(script)
    while at < end:
        char = script[at]
        if stack and stack[-1] == '"':
            at = _in_double_quotes(script, at, stack)
        elif char == "\\":
            at += 2
        elif char == "'":
            close = script.find("'", at + 1)
            at = end if close < 0 else close + 1
        elif script.startswith("$'", at):
            at = _after_ansi_c_string(script, at + 2)
        elif char == '"' or char == "(":
            opened = "((" if script.startswith("((", at) else char
            stack.append(opened)
            at += len(opened)
        elif char == ")":
            closed = stack.pop() if stack else ")"
            at += 2 if closed == "((" and script.startswith("))", at) else 1
        elif char == "#" and (at == 0 or script[at - 1] in _METACHARACTERS):
            newline = script.find("\n", at)
            at = end if newline < 0 else newline
        elif char == "\n":
            at = _after_bodies(script, at + 1, heredocs)
        elif script.startswith("<<<", at):
            at += 3  # a here-string: its word follows as ordinary shell syntax
        elif char == "<" and "((" in stack:
            at += 1  # in arithmetic, ``<<`` shifts
        elif char == "<" and (heredoc := _HEREDOC.match(script, at)) is not None:
            heredocs.append((_QUOTING.sub(_unquoted, heredoc.group(2)), heredoc.group(1) == "-"))
            at = heredoc.end()
        elif char == "<" and (placeholder := PLACEHOLDER.match(script, at)) is not None:
            parts += [script[copied:at], "'", placeholder.group(), "'"]
            at = copied = placeholder.end()
        else:
            at += 1
    parts.append(script[copied:])
    return "".join(parts)


def _in_double_quotes(script: str, at: int, stack: list[str]) -> int:
    """Past the character at ``at`` inside a double-quoted string (closing it, or opening a
    ``$(...)`` whose text is shell syntax again)."""
    char = script[at]
    if char == "\\":
        return at + 2
    if char == '"':
        stack.pop()
    elif script.startswith("$(", at):
        opened = "((" if script.startswith("$((", at) else "("
        stack.append(opened)
        return at + 1 + len(opened)
    return at + 1


def _after_ansi_c_string(script: str, at: int) -> int:
    """Past the ``'`` that closes a ``$'...'`` string whose text starts at ``at``."""
    while at < len(script) and script[at] != "'":
        at += 2 if script[at] == "\\" else 1
    return min(at + 1, len(script))


def _after_bodies(script: str, at: int, heredocs: list[tuple[str, bool]]) -> int:
    """Past the bodies of the pending here-documents, which start at ``at`` (the start of the
    line after their operators) and end each with a line that is its delimiter (after tabs, for
    ``<<-``); a body without one runs to the end of the script."""
    for delimiter, strip_tabs in heredocs:
        while at < len(script):
            newline = script.find("\n", at)
            line_end = len(script) if newline < 0 else newline
            line = script[at:line_end]
            at = line_end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                break
    heredocs.clear()
    return min(at, len(script))


def _unquoted(part: re.Match[str]) -> str:
    """The text of one quoted part of a here-document's delimiter word."""
    single, double, escaped = part.groups()
    if single is not None:
        return single
    if double is not None:
        return re.sub(r"\\([\"\\$`])", r"\1", double)
    return str(escaped)
