"""Which calls a log-derived workspace cannot answer: those that touch content it does not hold.

A workspace built from a log (:mod:`understudy.replay.workspace`) lacks the files the log shows
only in part or by name. A call that reads or edits one of them, or lists or searches a
directory holding one, would see a world the session never saw; :class:`WorkspaceGuard` tells
the router (:class:`~understudy.tools.router.ToolRouter`, its ``guard``) so, with the reason,
and the router serves the call from the recording instead. What a call does is read from its
:class:`~understudy.tools.adapters.facts.CallFacts`; a shell script is read when it is simple
commands joined by pipes or separators, and left to run live otherwise.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any

from understudy.tools.adapters import describe_call
from understudy.tools.shell_words import simple_commands
from understudy.trajectory import ToolCall

__all__ = ["WorkspaceGuard", "resolve_path"]

FILE_READERS = frozenset({"cat", "head", "tail", "sed", "nl", "wc", "less", "more", "diff"})
"""Commands whose operands are files they read."""
TREE_READERS = frozenset({"ls", "find", "tree", "du"})
"""Commands whose operands (the working directory when none) are directories they walk."""
SCRIPT_RUNNERS = frozenset({"python", "python3", "node", "ruby", "perl", "bash", "sh"})
"""Commands whose first operand is a script they run (``python -c CODE`` names none)."""
SEARCHERS = frozenset({"grep", "rg", "ag", "ack"})
"""Commands whose first operand is a pattern and the rest (default: the working directory)
are searched."""
FIND_EXPRESSION = re.compile(r"^[-(!)]")
"""Where the roots of a ``find`` end and its expression starts."""


class WorkspaceGuard:
    """Finds the calls of one rollout that touch content missing from the workspace."""

    def __init__(
        self,
        unknown: dict[str, str],
        workdir: str,
        agent: str | None,
        incomplete: Iterable[str] = (),
    ) -> None:
        self.unknown = dict(unknown)
        """Missing paths and how the log knows them (``in part``, ``by name only``)."""
        self.workdir = workdir
        self.agent = agent
        self.incomplete = set(incomplete)
        """Directories of the workspace whose whole listing the log does not show."""
        self.open_file = ""
        """The file SWE-agent's viewer has open (the last one read or written)."""
        self.known: set[str] | None = None
        """Paths the workspace holds (files in full, directories) and those the session made
        since (writes, ``mkdir``); None: not told, every path outside ``unknown`` is fine."""

    @classmethod
    def of(cls, coverage: dict[str, Any], workdir: str, agent: str | None) -> WorkspaceGuard:
        """The guard of a workspace whose coverage record is ``coverage``."""
        unknown = {path: "by name only" for path in coverage.get("names", [])}
        unknown.update({path: "in part" for path in coverage.get("partial", [])})
        directories = {workdir, *coverage.get("directories", [])}
        incomplete = directories - set(coverage.get("listed", []))
        guard = cls(unknown, workdir, agent, incomplete)
        guard.known = {*directories, *coverage.get("full", []), *coverage.get("created", [])}
        return guard

    def check(self, call: ToolCall) -> str | None:
        """Why ``call`` touches content the workspace lacks, or None; a whole-file write makes
        its file known from then on."""
        facts = describe_call(call.name, call.arguments, self.agent)
        if facts is None:
            return None
        here = resolve_path(facts.workdir, self.workdir) if facts.workdir else self.workdir
        paths = [resolve_path(path, here) for path in facts.paths]
        if facts.on_open_file and not paths and self.open_file:
            paths = [self.open_file]  # a windowed call acts on the viewer's file
        if paths and ("read" in facts.kinds or "write" in facts.kinds):
            self.open_file = paths[0]
        if "read" in facts.kinds or "edit" in facts.kinds:
            reason = self._files(paths)
        elif "search" in facts.kinds:
            reason = self._trees(paths or [self.workdir])
        elif "run" in facts.kinds and facts.script:
            reason = self._script(facts.script, here)
        else:
            reason = None
        if "write" in facts.kinds and reason is None:
            for path in paths:
                self.unknown.pop(path, None)
                if self.known is not None:
                    self.known.add(path)
        return reason

    def _files(self, paths: Iterable[str]) -> str | None:
        for path in paths:
            if path in self.unknown:
                return f"{path}: the log shows it {self.unknown[path]}"
        return None

    def _trees(self, roots: Iterable[str]) -> str | None:
        for root in roots:
            inside = root.rstrip("/") + "/"
            for path, how in self.unknown.items():
                if path == root or path.startswith(inside):
                    return f"{root} holds {path}, which the log shows {how}"
            for directory in sorted(self.incomplete):
                if directory == root or directory.startswith(inside):
                    return f"{directory}: the log does not show all it holds"
            if self._unseen(root):
                return f"{root}: the log does not show what it holds"
        return None

    def _unseen(self, root: str) -> bool:
        """A path in the working directory that the workspace does not hold and the session
        did not make: what the log's repository had there is not known."""
        if self.known is None or root in self.known:
            return False
        if not (root + "/").startswith(self.workdir.rstrip("/") + "/"):
            return False
        inside = root.rstrip("/") + "/"
        return not any(path.startswith(inside) for path in self.known)

    def _script(self, script: str, here: str) -> str | None:
        for words in simple_commands(script) or []:
            operands = [word for word in words[1:] if not word.startswith("-")]
            if words[0] == "find":
                ends = [n for n, word in enumerate(words[1:], 1) if FIND_EXPRESSION.match(word)]
                operands = words[1 : ends[0] if ends else len(words)]
            paths = [resolve_path(word, here) for word in operands]
            if words[0] == "mkdir" and self.known is not None:
                self.known.update(paths)
            if words[0] in FILE_READERS:
                reason = self._files(paths)
            elif words[0] in SCRIPT_RUNNERS:
                reason = self._files(paths[:1])
            elif words[0] in TREE_READERS:
                reason = self._trees(paths or [here])
            elif words[0] in SEARCHERS:
                reason = self._trees(paths[1:] or [here])
            else:
                reason = None
            if reason is not None:
                return reason
        return None


def resolve_path(path: str, directory: str) -> str:
    """``path`` made absolute against ``directory`` and normalised."""
    return posixpath.normpath(posixpath.join(directory, path))
