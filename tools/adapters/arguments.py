"""What a logged call's arguments carry out: the shell script a command (a string or an argv
list) runs, and the files an ``apply_patch`` envelope touches. Read alike by replay (which runs
them), by the describers of logged calls, and by the judges' reading of commands.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from typing import Any

SCRIPT_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
"""Shells whose ``SHELL -c SCRIPT`` argv is read as SCRIPT."""
PATCH_MARK = "*** Begin Patch"
"""How an ``apply_patch`` envelope starts (Codex)."""
_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$", re.MULTILINE)
_MOVE_TO = re.compile(r"^\*\*\* Move to: (.+)$", re.MULTILINE)


def argv_script(argv: list[str], shells: frozenset[str], script_flag: Callable[[str], bool]) -> str:
    """The script an argv runs: SCRIPT for ``SHELL FLAG SCRIPT`` (a shell of ``shells`` and a
    flag ``script_flag`` accepts), otherwise the argv joined with shell quoting."""
    if len(argv) == 3 and posixpath.basename(argv[0]) in shells and script_flag(argv[1]):
        return argv[2]
    return shlex.join(argv)


def is_script_flag(flag: str) -> bool:
    """Whether a shell flag makes the next word the script to run (``-c``, ``-lc``, ``-xc``)."""
    return flag.startswith("-") and "c" in flag


def shell_text(command: object) -> str | None:
    """The script of a logged shell command: a string as is, an argv list joined (``["bash",
    "-lc", SCRIPT]`` is SCRIPT, as is any other shell flag with a ``c``); None for anything
    else."""
    if isinstance(command, str):
        return command
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        return argv_script(command, SCRIPT_SHELLS, is_script_flag)
    return None


def apply_patch_files(text: str) -> list[tuple[str, str]]:
    """``(path, kind)`` for the files an ``apply_patch`` envelope touches (kind: created,
    modified or deleted)."""
    kinds = {"Add": "created", "Update": "modified", "Delete": "deleted"}
    found = [(m.group(2).strip(), kinds[m.group(1)]) for m in _PATCH_FILE.finditer(text)]
    found += [(m.group(1).strip(), "created") for m in _MOVE_TO.finditer(text)]
    return found


def is_patch_call(name: str, arguments: dict[str, Any]) -> bool:
    """Whether a call applies an ``apply_patch`` envelope: by its name, or by an ``input`` that
    holds one (Codex's custom tool, whatever it was called)."""
    given = arguments.get("input")
    return name in ("apply_patch", "applypatch") or (isinstance(given, str) and PATCH_MARK in given)
