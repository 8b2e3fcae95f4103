"""What a log shows of its repository's tree before the agent changed anything.

The results of calls that read files (``open``, ``Read``, ``str_replace_editor view``,
``cat FILE``) give file contents, numbered or not; those that list or find files (``find_file``,
``ls``) give names. The calls before the first one that may change the tree count (an edit, a
write, or a shell command other than a plain listing or reading), so that what the log shows
is the tree as the session found it; after it, only reads of files that no change so far named
(by path, by the open file a windowed edit acts on, or by a word of a shell command), since a
session usually reads the code it is about to fix after it has set up a reproduction.
:mod:`understudy.sandbox.head_commit` compares it with the trees of a repository's commits.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from understudy.sandbox.head_commit import TreeEvidence
from understudy.tools.adapters import describe_call, is_read_only, logged_output
from understudy.tools.adapters.listing import ls_tree_paths
from understudy.trajectory import Session, ToolCall

__all__ = ["tree_evidence"]

LINES_PER_FILE = 400
"""Most lines of one file kept as evidence."""
LISTING_COMMANDS = frozenset({"ls", "find", "tree"})
READING_COMMANDS = frozenset({"cat", "head", "tail"})
_NUMBERED = re.compile(r"^\s*(\d+)(?::|\t|→)(.*)$")
_FIND_FILE_HEADER = re.compile(
    r'^(?:Found \d+ matches|No matches found) for "(?P<pattern>[^"]+)" in (?P<dir>/[^\n]*?):?$',
    re.M,
)
_HARNESS_LINE = re.compile(
    r"^(?:\(Open file:|\(Current directory:|bash-\$|\[File:|\(\d+ more lines)"
)


def tree_evidence(session: Session) -> TreeEvidence:
    """What ``session``'s log shows of its repository before its first change to it, and of
    the files it reads later without having named them in a change before."""
    evidence = TreeEvidence()
    agent = session.source.agent or session.source.format
    workdir = session.env.workdir
    evidence.blobs = _diff_blobs(session)
    touched: _Touched | None = None
    for _, call, result in session.answered_calls():
        output = logged_output(call.name, call.arguments, result.content, agent)
        if touched is not None:
            if output is not None:
                touched.read_later(evidence, call, output, workdir, agent)
            touched.note(call, agent)
        elif _changes(evidence, call, output, workdir, agent):
            touched = _Touched()
            touched.note(call, agent)
    return evidence


_DIFF_INDEX = re.compile(
    r"^diff --git a/(?P<path>\S+) b/\S+\n(?:(?:old|new) mode \d+\n)*"
    r"index (?P<before>[0-9a-f]{7,40})\.\.[0-9a-f]{7,40}",
    re.M,
)


def _diff_blobs(session: Session) -> dict[str, str]:
    """The blob ids that git diffs in the log's results give for files before the session's
    changes (a new file's ``0000000`` says nothing of the tree)."""
    blobs: dict[str, str] = {}
    for message in session.messages:
        if message.role != "tool" or "diff --git" not in message.content:
            continue
        for found in _DIFF_INDEX.finditer(message.content.replace("\r\n", "\n")):
            if found.group("before").strip("0"):
                blobs.setdefault(found.group("path"), found.group("before"))
    return blobs


def _changes(
    evidence: TreeEvidence, call: ToolCall, output: str | None, workdir: str, agent: str
) -> bool:
    """Record what ``call`` shows; whether it may have changed the tree (a result cut short by
    the harness cannot be told apart from a change, unless the call only reads)."""
    if output is None:
        return not is_read_only(call.name, call.arguments, agent)
    return not _record(evidence, call, output, workdir, agent)


class _Touched:
    """After the first change: the names of what the session's changes may have touched."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.open_file = ""

    def note(self, call: ToolCall, agent: str) -> None:
        facts = describe_call(call.name, call.arguments, agent)
        if facts is None:
            self.names.add("*")  # an unknown tool may have changed anything
            return
        if ("read" in facts.kinds or "write" in facts.kinds) and facts.paths:
            self.open_file = facts.paths[0]  # the file a windowed edit then acts on
        if facts.changes_state is False:
            return
        if facts.script:  # a command names what it may change (or is beyond telling)
            paths = [*facts.paths, *re.findall(r"[\w.+-]+", facts.script)]
        else:
            paths = list(facts.paths) or ([self.open_file] if self.open_file else ["*"])
        self.names.update(posixpath.basename(path.rstrip("/")) for path in paths)

    def read_later(
        self, evidence: TreeEvidence, call: ToolCall, output: str, workdir: str, agent: str
    ) -> None:
        """A whole read of a file no change so far named (tools that read; ``cat FILE``)."""
        if "*" in self.names:
            return
        facts = describe_call(call.name, call.arguments, agent)
        path = None
        if facts is not None and "read" in facts.kinds and facts.paths:
            path = facts.paths[0]
        elif facts is not None and facts.script:
            words = facts.script.split()
            path = words[1] if len(words) == 2 and words[0] == "cat" else None
        if path and posixpath.basename(path) not in self.names:
            _add_file(evidence, path, output, workdir)


def _record(evidence: TreeEvidence, call: ToolCall, output: str, workdir: str, agent: str) -> bool:
    """Add what one call shows; False when the call may have changed the tree."""
    facts = describe_call(call.name, call.arguments, agent)
    if facts is None:
        return is_read_only(call.name, call.arguments, agent)
    if "read" in facts.kinds and facts.paths:
        _add_file(evidence, facts.paths[0], output, workdir)
        return True
    if "search" in facts.kinds:
        _add_search(evidence, output, workdir)
        return True
    if "run" in facts.kinds and facts.script:
        return _record_command(evidence, facts.script, output, workdir)
    return facts.changes_state is False or is_read_only(call.name, call.arguments, agent)


def _record_command(evidence: TreeEvidence, script: str, output: str, workdir: str) -> bool:
    try:
        words = shlex.split(script)
    except ValueError:
        return False
    if not words or any(word in {"|", ">", ">>", "&&", ";"} for word in words):
        return False
    if words[0] in LISTING_COMMANDS:
        for line in output.splitlines():
            if not _HARNESS_LINE.match(line):
                for token in line.split():
                    _add_name(evidence, token.rstrip("/*@|="), workdir)
        return True
    operands = [word for word in words[1:] if not word.startswith("-")]
    if words[0] in READING_COMMANDS and len(operands) == 1:
        if words[0] == "cat":
            _add_file(evidence, operands[0], output, workdir)
        return True
    return False


def _relative(path: str, workdir: str) -> str | None:
    """``path`` relative to the repository at ``workdir``; None outside it."""
    if path.startswith("/"):
        root = workdir.rstrip("/") + "/"
        if not path.startswith(root):
            return None
        path = path[len(root) :]
    normal = posixpath.normpath(path)
    return None if normal.startswith("..") or normal == "." else normal


def _add_name(evidence: TreeEvidence, name: str, workdir: str) -> None:
    relative = _relative(name, workdir) if name else None
    if relative:
        evidence.names.add(relative)


def _add_search(evidence: TreeEvidence, output: str, workdir: str) -> None:
    """Names from a search's result; with SWE-agent's ``find_file`` header, the whole result."""
    listed = {line.strip() for line in output.splitlines() if line.startswith("/")}
    tree = ls_tree_paths(output)
    for name in [*listed, *(path.rstrip("/") for path in tree[1])] if tree else listed:
        _add_name(evidence, name, workdir)
    header = _FIND_FILE_HEADER.search(output)
    directory = _relative(header.group("dir"), workdir) if header else None
    if header is None or (directory is None and header.group("dir").rstrip("/") != workdir):
        return
    found = {_relative(name, workdir) for name in listed}
    if None not in found:
        key = (header.group("pattern"), directory or ".")
        evidence.searches[key] = {name for name in found if name is not None}


def _add_file(evidence: TreeEvidence, path: str, output: str, workdir: str) -> None:
    relative = _relative(path, workdir)
    if relative is None or relative in evidence.files:
        return
    lines = [line for line in output.splitlines() if not _HARNESS_LINE.match(line)]
    numbered = [(_NUMBERED.match(line), line) for line in lines]
    shown: list[tuple[int | None, str]]
    if any(match for match, _ in numbered):
        shown = [(int(m.group(1)), m.group(2).rstrip()) for m, _ in numbered if m]
    else:
        shown = [(None, line.rstrip()) for line in lines if line.strip()]
    evidence.files[relative] = shown[:LINES_PER_FILE]
