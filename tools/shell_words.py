"""A shell script's simple commands, as far as splitting its words can tell.

Readers of logged and candidate scripts (the workspace a log rebuilt, the installs a log shows,
the commands that need a network) ask one question: which commands does this script run, with
which words? :func:`simple_commands` answers it for the scripts that can be split without a
shell (pipes, ``&&``, ``||`` and ``;`` between plain commands) and gives up on the rest.
"""

from __future__ import annotations

import re
import shlex

__all__ = ["SEPARATORS", "simple_commands"]

SEPARATORS = frozenset({"|", "||", "&&", ";"})
"""The operators between two simple commands."""
_QUIET = re.compile(r"\s+\d?>>?\s*/dev/null|\s+\d>&\d")
"""Redirections that only silence a command (``2>/dev/null``, ``2>&1``)."""


def simple_commands(script: str) -> list[list[str]] | None:
    """The words of each command of ``script`` split at pipes and separators; None when it
    cannot be split so (quotes left open, redirections, substitutions, subshells, background
    jobs, several lines). Operators inside quotes are words (``rg "<Tag"``)."""
    script = _QUIET.sub("", script)  # where errors go does not change what is read
    if any(mark in script for mark in ("$(", "`", "\n")):
        return None
    lexer = shlex.shlex(script, posix=True, punctuation_chars="|&;<>()")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for token in tokens:
        operator = bool(token) and set(token) <= _OPERATOR_CHARS and not _quoted_in(script, token)
        if operator and token in SEPARATORS:
            commands.append([])
        elif operator:
            return None  # a redirection, subshell or background job
        else:
            commands[-1].append(token)
    return [command for command in commands if command] or None


_OPERATOR_CHARS = frozenset("|&;<>()")


def _quoted_in(script: str, token: str) -> bool:
    """Whether ``token`` (all operator characters) only appears quoted in ``script``."""
    return f"'{token}'" in script or f'"{token}"' in script
