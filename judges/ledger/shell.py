"""Reading shell scripts into a call's kinds, paths, edits and effects, and guessing the tools that
the vocabulary of logged tools does not know from their names."""

from __future__ import annotations

import re
from typing import Any

from understudy.judges import commands as sh
from understudy.judges.ledger.models import CLASSIFICATIONS, Classification, LedgerCall
from understudy.tools.adapters.arguments import PATCH_MARK
from understudy.tools.adapters.facts import CallFacts, EditDiff

_GUESSES: tuple[tuple[re.Pattern[str], Classification], ...] = (
    (re.compile(r"(^|_)(run_?)?tests?($|_)", re.I), "test_run"),
    (re.compile(r"search|grep|find|query|lookup", re.I), "search"),
    (re.compile(r"fetch|browse|url|web|http|download|scrape", re.I), "fetch"),
    (re.compile(r"write|create_file|save", re.I), "write"),
    (re.compile(r"edit|replace|patch|insert", re.I), "edit"),
    (re.compile(r"read|view|open|cat|get_file|list_dir|ls", re.I), "read"),
)
_URL_START = re.compile(r"^https?://")
_SED_ADDRESS = re.compile(r"^\d+(,\d+)?p?$")
"""``sed -n 10,20p``'s line range, which is no path."""
_SHELL_LIKE = re.compile(r"exec|run|shell|bash|terminal|command", re.I)


def guessed_script(name: str, arguments: dict[str, Any]) -> CallFacts | None:
    """An unknown tool that looks like a shell (by its name) and carries a command: the script it
    runs, with no canonical tool; None for any other."""
    command = sh.shell_text(arguments.get("command")) or sh.shell_text(arguments.get("cmd"))
    if command is None or not _SHELL_LIKE.search(name):
        return None
    return CallFacts.of_script(command, canonical=None)


def guess_call(call: LedgerCall, name: str, arguments: dict[str, Any]) -> None:
    """Classify an unknown tool from its name and arguments (changes stay ``unknown``)."""
    path = arguments.get("path") or arguments.get("file_path") or arguments.get("filename")
    if isinstance(path, str) and path:
        call.paths = [path]
    for pattern, kind in _GUESSES:
        if pattern.search(name):
            call.kinds = [kind]
            break
    else:
        call.kinds = ["other"]
    if call.kinds == ["search"]:
        query = arguments.get("query", arguments.get("pattern", arguments.get("q")))
        call.query = str(query) if query is not None else None
        call.scope = "web" if re.search(r"web|google|bing|brave|internet", name, re.I) else None
    if call.kinds == ["fetch"]:
        url = arguments.get("url")
        call.url = str(url) if url is not None else None
    call.mutating = None if call.kinds[0] in ("write", "edit", "other", "test_run") else False


def read_script(call: LedgerCall, script: str, background: bool = False) -> None:
    """What the shell script a call ran did: its kinds (test run, search, git, edit, ...), the
    files it names, whether it changes anything, and whether it runs in the background."""
    call.command = script
    parsed = sh.parse_command(script)
    kinds: list[Classification] = []
    paths: list[str] = []
    for segment in parsed.segments:
        if not segment.words:
            continue
        kind = _segment_kind(call, segment)
        if kind is None:
            continue
        kinds.append(kind)
        if kind == "read":
            paths.extend(a for a in segment.args if not a.startswith("-") and _looks_like_path(a))
        if segment.background or background:
            call.background = True
    written = sh.written_files(parsed)
    if written:
        kinds.append("edit" if any(k in ("modified", "deleted") for _, k in written) else "write")
        paths.extend(path for path, _ in written)
    if PATCH_MARK in script and "edit" not in kinds:
        kinds.append("edit")
    call.kinds = ordered_kinds(kinds or ["shell"])
    call.paths = list(dict.fromkeys(paths))
    call.mutating = sh.mutating(parsed, written)
    if written:
        call.edits = [EditDiff(path=path, new="") for path, _ in written]


def _segment_kind(call: LedgerCall, segment: sh.Segment) -> Classification | None:
    """What one segment of a script does (None for an inert one: ``cd``, ``echo``, ...); the
    first search's query and the first fetch's URL are kept on the call."""
    program = segment.program
    if sh.framework_of(segment) is not None:
        return "test_run"
    query = sh.search_query(segment)
    if query is not None:
        call.query, call.scope = call.query or query, "code"
        return "search"
    if sh.git_subcommand(segment) is not None:
        return "git"
    if sh.sed_in_place(segment) is not None or program in ("patch", "apply_patch", "rm"):
        return "edit"
    if program in sh.FETCH_PROGRAMS:
        urls = [w for w in segment.args if _URL_START.match(w)]
        if not urls:
            return "shell"
        call.url = call.url or urls[0]
        return "fetch"
    if program in sh.READ_PROGRAMS or program in ("sed", "gsed"):
        return "read"
    if program in sh.INERT_PROGRAMS:
        return None
    return "shell"


def _looks_like_path(word: str) -> bool:
    return ("/" in word or "." in word) and not _SED_ADDRESS.match(word)


def ordered_kinds(kinds: list[Classification]) -> list[Classification]:
    """``kinds`` without repeats, most telling first (see ``CLASSIFICATIONS``); ``["other"]``
    when empty."""
    if len(kinds) == 1 and kinds[0] in CLASSIFICATIONS:
        return [kinds[0]]  # most calls: one kind, nothing to order
    present = set(kinds)
    return [kind for kind in CLASSIFICATIONS if kind in present] or ["other"]
