"""Shell commands as a judge reads them: segments, the program each runs, and what it does.

A command line is cut into *segments* (simple commands) at ``&&``, ``||``, ``;``, ``|``, ``&``
and newlines; here-document bodies are set aside first. In each segment, environment
assignments and wrappers (``sudo``, ``env``, ``timeout``, ``nohup``, ``time``, ``uv run``,
``poetry run``, ``npx``, ...) are stripped, so ``cd app && FOO=1 timeout 60 python -m pytest -q``
is a pytest run. ``bash -c SCRIPT`` is read as SCRIPT.

Everything here is a heuristic over text: nothing is executed. The classification errs on the
side of "unknown" (``mutating=None``) rather than guessing, so that rules built on it stay
precise.

This module is the one the ledger and the rules import (``from understudy.judges import commands
as sh``); the pieces live in its siblings, each reading on from the one before:

- :mod:`~understudy.judges.commands.vocabulary`: the program sets (read, search, fetch, ...);
- :mod:`~understudy.judges.commands.wrappers`: assignments and wrappers stripped from a segment;
- :mod:`~understudy.judges.commands.parsing`: segments, parsing, a logged command's script;
- :mod:`~understudy.judges.commands.runs`: python runs, test runners, git subcommands;
- :mod:`~understudy.judges.commands.effects`: searches, URLs, files written, mutating or not;
- :mod:`~understudy.judges.commands.destructive`: destructive operations.

What a logged tool's arguments hold (the script of a ``shell`` call, the files of an
``apply_patch`` envelope) is read by the vocabulary of logged tools
(:mod:`understudy.tools.adapters.arguments`) and offered here as well.
"""

from __future__ import annotations

from understudy.judges.commands.destructive import (
    SYSTEM_DIRS,
    Destructive,
    destructive_operations,
)
from understudy.judges.commands.effects import (
    generates_files,
    is_local_url,
    mutating,
    search_query,
    sed_in_place,
    urls_in,
    written_files,
)
from understudy.judges.commands.parsing import (
    SEPARATORS,
    ParsedCommand,
    Segment,
    parse_command,
)
from understudy.judges.commands.runs import PythonRun, framework_of, git_subcommand, python_run
from understudy.judges.commands.vocabulary import (
    DB_CLIENTS,
    EXECUTING_PROGRAMS,
    FETCH_PROGRAMS,
    GIT_READ_SUBCOMMANDS,
    INERT_PROGRAMS,
    MUTATING_PROGRAMS,
    READ_PROGRAMS,
    SEARCH_PROGRAMS,
    SEND_PROGRAMS,
)
from understudy.tools.adapters.arguments import apply_patch_files, shell_text

__all__ = [
    "DB_CLIENTS",
    "EXECUTING_PROGRAMS",
    "FETCH_PROGRAMS",
    "GIT_READ_SUBCOMMANDS",
    "INERT_PROGRAMS",
    "MUTATING_PROGRAMS",
    "READ_PROGRAMS",
    "SEARCH_PROGRAMS",
    "SEND_PROGRAMS",
    "SEPARATORS",
    "SYSTEM_DIRS",
    "Destructive",
    "ParsedCommand",
    "PythonRun",
    "Segment",
    "apply_patch_files",
    "destructive_operations",
    "framework_of",
    "generates_files",
    "git_subcommand",
    "is_local_url",
    "mutating",
    "parse_command",
    "python_run",
    "search_query",
    "sed_in_place",
    "shell_text",
    "urls_in",
    "written_files",
]
