"""A session's workspace rebuilt from its own log, for sessions whose repository cannot be had.

:func:`log_workspace` walks the logged calls in order and keeps what they show of the files as
the session found them:

* whole files: Claude Code ``Read`` results without ``offset``/``limit`` (their ``N→``
  numbering stripped), ``cat FILE``, and ``sed -n 'A,Bp' FILE`` pieces that join up from line 1
  to a piece cut short by the end of the file;
* parts of files: ranged reads, ``head``/``tail``, pieces that do not join up;
* names: directory listings (``ls``, ``find``, Claude Code ``Glob``/``LS`` paths).

Only what the session found counts: a file the session wrote or edited before reading it
shows the session's own work, which the re-executed prefix (:mod:`understudy.replay.prefix`)
redoes on top of the workspace, so the workspace holds the state *before* the session. A file
the session created is left out; one it edited without showing it first is known by name only,
unless the log shows it whole later and the edits can be undone (each new text found once).
Files known only by name or in part are not created (no content is invented): what they are is
the :class:`WorkspaceCoverage` that each rollout and fidelity result records, and calls that
read them are served from the recording (:mod:`understudy.replay.workspace_guard`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from understudy.replay.workspace_facts import IMAGE_ROOT, LONG_LISTING, executable_in_diffs
from understudy.replay.workspace_guard import WorkspaceGuard, resolve_path
from understudy.tools.adapters import describe_call, logged_output
from understudy.tools.adapters.arguments import apply_patch_files, is_patch_call
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.adapters.listing import ls_tree_paths
from understudy.tools.shell_words import simple_commands
from understudy.trajectory import EnvFile, Message, Session, ToolCall

__all__ = ["WorkspaceCoverage", "log_workspace"]

_NUMBERED = re.compile(r"^\s*\d+→(.*)$")
_SED_RANGE = re.compile(r"^(\d+),(\d+)p$")
_EMPTY_FILE = "the file exists but the contents are empty"
PART_READERS = frozenset({"head", "tail", "sed", "nl"})
"""Commands that show part of a file (``sed -n 'A,Bp'`` may add up to the whole)."""


class WorkspaceCoverage(BaseModel):
    """How much of the session's workspace its log shows (recorded as ``env["workspace"]``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    source: str = "log"
    """Where the workspace came from: the session's own log."""
    reason: str = ""
    """Why it was used instead of a repository."""
    full: list[str] = Field(default_factory=list)
    """Files known in full, written into the environment."""
    partial: list[str] = Field(default_factory=list)
    """Files the log shows in part: not created."""
    names: list[str] = Field(default_factory=list)
    """Paths the log names without showing them (listings, edits of unseen files): not
    created."""
    created: list[str] = Field(default_factory=list)
    """Files the session created itself: left to the re-executed calls."""
    directories: list[str] = Field(default_factory=list)
    """Directories created because the log shows they existed."""
    listed: list[str] = Field(default_factory=list)
    """Directories whose whole listing the log shows: only these (and directories the session
    makes) can be listed, searched or walked live; the others may hold files the log never
    named."""
    unknown_calls: int = 0
    """Logged calls that read, edit, list or search content the workspace does not hold."""
    workdir: str = ""
    """Where the workspace is: the working directory the log's outputs show (see
    :func:`~understudy.replay.workspace_facts.logged_workdir`)."""
    git_repository: bool = False
    """The log used git there, so the files are committed into a new repository."""

    @property
    def empty(self) -> bool:
        """Nothing to build a workspace from."""
        return not (self.full or self.partial or self.names or self.directories)

    def summary(self) -> str:
        """The counts in one line, for log lines and warnings."""
        return (
            f"{len(self.full)} file(s) in full, {len(self.partial)} in part, "
            f"{len(self.names)} by name only; {self.unknown_calls} call(s) touch unknown content"
        )


@dataclass
class _Knowledge:
    """What the walk has learnt so far."""

    workdir: str
    base: dict[str, str] = field(default_factory=dict)
    pieces: dict[str, dict[int, str]] = field(default_factory=dict)
    ends: dict[str, int] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    directories: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)
    edits: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """The text edits (old, new) the session made to files it did not show first, in order."""
    rewritten: set[str] = field(default_factory=set)
    """Files the session wrote whole or patched: their earlier state cannot be worked back."""
    executable: set[str] = field(default_factory=set)
    """Files a long listing shows executable."""
    listed: set[str] = field(default_factory=set)
    """Directories whose whole listing the log shows."""

    def found(self, path: str) -> bool:
        """The file's state as the session found it can still be learnt."""
        return path not in self.touched

    def add_full(self, path: str, content: str) -> None:
        if path in self.base:
            return
        if not self.found(path):
            edits = self.edits.get(path)
            rewritten = path in self.rewritten or path in self.created
            found = _undo(content, edits) if edits and not rewritten else None
            if found is None:
                return
            content = found
        self.base[path] = content
        self.directories.update(_ancestors(path, self.workdir))

    def add_piece(self, path: str, first: int, last: int, output: str) -> None:
        if not self.found(path) or path in self.base:
            return
        lines = _lines(output)
        pieces = self.pieces.setdefault(path, {})
        for number, line in enumerate(lines, start=first):
            pieces[number] = line
        if len(lines) < last - first + 1:
            self.ends[path] = first + len(lines) - 1
        end = self.ends.get(path)
        if end is not None and all(number in pieces for number in range(1, end + 1)):
            self.add_full(path, "".join(pieces[n] + "\n" for n in range(1, end + 1)))
        else:
            self.partial.add(path)

    def add_names(self, directory: str, entries: list[str]) -> None:
        if directory == "/":  # the image's own directories are there whatever the log shows
            entries = [entry for entry in entries if entry not in IMAGE_ROOT]
        self.listed.add(directory)
        self.directories.add(directory)
        self.directories.update(_ancestors(directory, self.workdir))
        for entry in entries:
            path = resolve_path(entry, directory)
            self.names.add(path)

    def change(self, call: ToolCall, facts: CallFacts) -> None:
        """A write or edit by the session: the file's earlier state is no longer shown."""
        patched = is_patch_call(call.name, call.arguments)
        added = {
            resolve_path(path, self.workdir)
            for edit in facts.edits[:1]
            for path, kind in apply_patch_files(edit.new)
            if patched and kind == "created"
        }
        for path in (resolve_path(p, self.workdir) for p in facts.paths):
            known = path in self.base or path in self.partial or path in self.names
            if path not in self.touched and not known:
                if "write" in facts.kinds or path in added:
                    self.created.add(path)
                else:
                    self.names.add(path)  # edited, so it was there, but never shown
            self.touched.add(path)
            if "write" in facts.kinds or patched:
                self.rewritten.add(path)
        if not patched:
            for edit in facts.edits:
                path = resolve_path(edit.path, self.workdir)
                self.edits.setdefault(path, []).append((edit.old, edit.new))


def log_workspace(session: Session) -> tuple[list[EnvFile], WorkspaceCoverage]:
    """The files and directories ``session``'s log shows as it found them, and the coverage."""
    knowledge = _Knowledge(workdir=session.env.workdir)
    agent = session.source.agent or session.source.format
    for _, call, result in session.answered_calls():
        if not result.is_error:
            _learn(knowledge, call, result, agent)
    knowledge.executable |= executable_in_diffs(session, session.env.workdir)
    for path in knowledge.base:
        knowledge.partial.discard(path)
        knowledge.names.discard(path)
    knowledge.names -= knowledge.partial | knowledge.directories | knowledge.created
    directories = sorted(knowledge.directories - {"/"})
    files = [EnvFile(path=path, directory=True) for path in directories]
    files += [
        EnvFile(path=path, content=text, executable=path in knowledge.executable)
        for path, text in sorted(knowledge.base.items())
    ]
    coverage = WorkspaceCoverage(
        full=sorted(knowledge.base),
        partial=sorted(knowledge.partial),
        names=sorted(knowledge.names),
        created=sorted(knowledge.created),
        directories=sorted(knowledge.directories),
        listed=sorted(knowledge.listed),
    )
    guard = WorkspaceGuard.of(coverage.model_dump(), session.env.workdir, agent)
    calls = (call for message in session.messages for call in message.tool_calls)
    coverage.unknown_calls = sum(guard.check(call) is not None for call in calls)
    return files, coverage


def _learn(knowledge: _Knowledge, call: ToolCall, result: Message, agent: str) -> None:
    facts = describe_call(call.name, call.arguments, agent)
    if facts is None:
        return
    output = logged_output(call.name, call.arguments, result.content, agent)
    if output is None:
        return
    directory = resolve_path(facts.workdir, knowledge.workdir) if facts.workdir else None
    if directory is not None and directory != knowledge.workdir:
        knowledge.directories.add(directory)  # the call ran there, so it was there
        knowledge.directories.update(_ancestors(directory, knowledge.workdir))
    if "read" in facts.kinds and facts.paths:
        path = resolve_path(facts.paths[0], knowledge.workdir)
        content = _read_content(call.arguments, output, result.meta)
        if content is None:
            content = _windowed_content(output)
        if content is not None:
            knowledge.add_full(path, content)
        elif knowledge.found(path) and path not in knowledge.base:
            knowledge.partial.add(path)
    elif "search" in facts.kinds and (tree := ls_tree_paths(output)) is not None:
        # A tree leaves hidden names out: its directories are not known whole.
        knowledge.names.update(path.rstrip("/") for path in tree[1])
    elif "search" in facts.kinds:
        listed = [line.strip() for line in output.splitlines() if line.startswith("/")]
        for path in listed:
            knowledge.names.add(posixpath.normpath(path))
    elif "run" in facts.kinds and facts.script:
        _learn_script(knowledge, facts.script, output, directory or knowledge.workdir)
    if "write" in facts.kinds or "edit" in facts.kinds:
        knowledge.change(call, facts)


def _read_content(arguments: dict[str, Any], output: str, meta: dict[str, Any]) -> str | None:
    """The whole file a Claude Code ``Read`` shows, or None when it shows a part or no text."""
    if arguments.get("offset") or arguments.get("limit"):
        return None
    shown = meta.get("tool_use_result", {})
    file = shown.get("file") if isinstance(shown, dict) else None
    if isinstance(file, dict) and file.get("numLines") != file.get("totalLines"):
        return None
    body = output.split("<system-reminder>", 1)[0]
    if _EMPTY_FILE in output and not _NUMBERED.match(body):
        return ""
    lines = body.rstrip("\n").split("\n")
    matches = [_NUMBERED.match(line) for line in lines]
    if not lines or not all(matches):
        return None
    # Claude Code numbers the lines of ``text.split("\n")``: a final newline shows as a last,
    # empty line.
    return "\n".join(match.group(1) for match in matches if match)


_WINDOW_HEADER = re.compile(r"^\[File: (?P<path>[^\n]+) \((?P<total>\d+) lines total\)\]$", re.M)
_WINDOW_LINE = re.compile(r"^(\d+):(.*)$")


def _windowed_content(output: str) -> str | None:
    """The whole file a SWE-agent viewer window shows, when the window holds every line."""
    header = _WINDOW_HEADER.search(output)
    if header is None:
        return None
    total = int(header.group("total"))
    lines: dict[int, str] = {}
    for line in output[header.end() :].split("\n"):
        numbered = _WINDOW_LINE.match(line)
        if numbered is not None:
            lines.setdefault(int(numbered.group(1)), numbered.group(2))
    if total == 0 or sorted(lines) != list(range(1, total + 1)):
        return None
    return "".join(lines[number] + "\n" for number in range(1, total + 1))


def _learn_script(knowledge: _Knowledge, script: str, output: str, directory: str) -> None:
    """What a shell command of one simple command shows (anything longer is not read)."""
    commands = simple_commands(script)
    if commands is None or len(commands) != 1:
        return
    words = commands[0]
    operands = [word for word in words[1:] if not word.startswith("-")]
    if words[0] == "cat" and len(operands) == 1:
        path = resolve_path(operands[0], directory)
        knowledge.add_full(path, output if output.endswith("\n") or not output else output + "\n")
    elif words[0] == "sed" and words[1:2] == ["-n"] and len(operands) == 2:
        matched = _SED_RANGE.match(operands[0])
        if matched:
            first, last = int(matched.group(1)), int(matched.group(2))
            knowledge.add_piece(resolve_path(operands[1], directory), first, last, output)
    elif words[0] in PART_READERS and operands:
        path = resolve_path(operands[-1], directory)
        if knowledge.found(path) and path not in knowledge.base:
            knowledge.partial.add(path)
    elif words[0] == "ls" and len(operands) <= 1:
        listed = resolve_path(operands[0], directory) if operands else directory
        long = any(w.startswith("-") and "l" in w for w in words[1:])
        entries = _long_listing(knowledge, listed, output) if long else output.split()
        entries = [entry.rstrip("/*@|=") for entry in entries]
        knowledge.add_names(listed, [entry for entry in entries if entry not in {".", ".."}])
    elif words[0] == "find" and output.strip():
        for line in output.splitlines():
            if line.strip():
                knowledge.names.add(resolve_path(line.strip(), directory))


def _long_listing(knowledge: _Knowledge, directory: str, output: str) -> list[str]:
    """The names an ``ls -l`` of ``directory`` lists, noting which files are executable."""
    names = []
    for line in output.splitlines():
        entry = LONG_LISTING.match(line)
        if entry is None:
            continue
        name = entry.group("name").split(" -> ")[0]
        path = resolve_path(name, directory)
        if entry.group("type") == "-" and "x" in entry.group("mode")[:3]:
            knowledge.executable.add(path)
        names.append(name)
    return names


def _undo(content: str, edits: list[tuple[str, str]]) -> str | None:
    """``content`` before ``edits`` were made to it, when each one's new text is found once
    (and is not empty) to be put back; else None."""
    for old, new in reversed(edits):
        if not new or content.count(new) != 1:
            return None
        content = content.replace(new, old, 1)
    return content


def _ancestors(path: str, workdir: str) -> list[str]:
    """The directories between ``workdir`` (excluded) and ``path`` (excluded)."""
    parents: list[str] = []
    parent = posixpath.dirname(path)
    while parent.startswith(workdir.rstrip("/") + "/") and parent != "/":
        parents.append(parent)
        parent = posixpath.dirname(parent)
    return parents


def _lines(output: str) -> list[str]:
    return output.removesuffix("\n").split("\n") if output else []
