"""Guessing unknown tools from their names, and reading shell scripts into the call's kinds, paths,
edits and destructive operations."""

from __future__ import annotations

import re
from typing import Any

from understudy.judges import commands as sh
from understudy.judges.ledger.models import (
    CLASSIFICATIONS,
    Classification,
    EditDiff,
    LedgerCall,
    _clip,
    _one_line,
)

_GUESSES: tuple[tuple[re.Pattern[str], Classification], ...] = (
    (re.compile(r"(^|_)(run_?)?tests?($|_)", re.I), "test_run"),
    (re.compile(r"search|grep|find|query|lookup", re.I), "search"),
    (re.compile(r"fetch|browse|url|web|http|download|scrape", re.I), "fetch"),
    (re.compile(r"write|create_file|save", re.I), "write"),
    (re.compile(r"edit|replace|patch|insert", re.I), "edit"),
    (re.compile(r"read|view|open|cat|get_file|list_dir|ls", re.I), "read"),
)


def _guess(call: LedgerCall, name: str, arguments: dict[str, Any]) -> None:
    """Classify an unknown tool from its name and arguments (changes stay ``unknown``)."""
    command = sh.shell_text(arguments.get("command")) or sh.shell_text(arguments.get("cmd"))
    if command is not None and re.search(r"exec|run|shell|bash|terminal|command", name, re.I):
        _shell(call, command)
        call.canonical = None
        return
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


def _shell(call: LedgerCall, script: str, background: bool = False) -> None:
    call.canonical = "shell"
    call.command = script
    call.args = _clip(_one_line(script), 300)
    parsed = sh.parse_command(script)
    kinds: list[Classification] = []
    paths: list[str] = []
    for segment in parsed.segments:
        if not segment.words:
            continue
        program = segment.program
        git = sh.git_subcommand(segment)
        query = sh.search_query(segment)
        if sh.framework_of(segment) is not None:
            kinds.append("test_run")
        elif query is not None:
            kinds.append("search")
            call.query = call.query or query
            call.scope = "code"
        elif git is not None:
            kinds.append("git")
        elif sh.sed_in_place(segment) is not None or program in ("patch", "apply_patch", "rm"):
            kinds.append("edit")
        elif program in sh.FETCH_PROGRAMS:
            urls = [w for w in segment.args if re.match(r"^https?://", w)]
            if urls:
                kinds.append("fetch")
                call.url = call.url or urls[0]
            else:
                kinds.append("shell")
        elif program in sh.READ_PROGRAMS or program in ("sed", "gsed"):
            kinds.append("read")
            paths.extend(a for a in segment.args if not a.startswith("-") and _looks_like_path(a))
        elif program in sh.INERT_PROGRAMS:
            continue
        else:
            kinds.append("shell")
        if segment.background or background:
            call.background = True
    written = sh.written_files(parsed)
    if written:
        kinds.append("edit" if any(k in ("modified", "deleted") for _, k in written) else "write")
        paths.extend(path for path, _ in written)
    if "*** Begin Patch" in script and "edit" not in kinds:
        kinds.append("edit")
    call.kinds = _ordered(kinds or ["shell"])
    call.paths = list(dict.fromkeys(paths))
    call.mutating = sh.mutating(parsed)
    if written:
        call.edits = [EditDiff(path=path, new="") for path, _ in written]


def _looks_like_path(word: str) -> bool:
    return bool(re.search(r"[/.]", word)) and not re.match(r"^\d+(,\d+)?p?$", word)


def _ordered(kinds: list[Classification]) -> list[Classification]:
    present = set(kinds)
    return [kind for kind in CLASSIFICATIONS if kind in present] or ["other"]
