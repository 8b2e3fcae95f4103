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
import shlex
from collections.abc import Iterable
from typing import Any

from understudy.tools.adapters import describe_call
from understudy.trajectory import ToolCall

__all__ = ["WorkspaceGuard", "resolve_path", "simple_commands"]

FILE_READERS = frozenset({"cat", "head", "tail", "sed", "nl", "wc", "less", "more", "diff"})
"""Commands whose operands are files they read."""
TREE_READERS = frozenset({"ls", "find", "tree", "du"})
"""Commands whose operands (the working directory when none) are directories they walk."""
SEARCHERS = frozenset({"grep", "rg", "ag", "ack"})
"""Commands whose first operand is a pattern and the rest (default: the working directory)
are searched."""
SEPARATORS = frozenset({"|", "||", "&&", ";"})


class WorkspaceGuard:
    """Finds the calls of one rollout that touch content missing from the workspace."""

    def __init__(self, unknown: dict[str, str], workdir: str, agent: str | None) -> None:
        self.unknown = dict(unknown)
        """Missing paths and how the log knows them (``in part``, ``by name only``)."""
        self.workdir = workdir
        self.agent = agent

    @classmethod
    def of(cls, coverage: dict[str, Any], workdir: str, agent: str | None) -> WorkspaceGuard:
        """The guard of a workspace whose coverage record is ``coverage``."""
        unknown = {path: "by name only" for path in coverage.get("names", [])}
        unknown.update({path: "in part" for path in coverage.get("partial", [])})
        return cls(unknown, workdir, agent)

    def check(self, call: ToolCall) -> str | None:
        """Why ``call`` touches content the workspace lacks, or None; a whole-file write makes
        its file known from then on."""
        facts = describe_call(call.name, call.arguments, self.agent)
        if facts is None:
            return None
        paths = [resolve_path(path, self.workdir) for path in facts.paths]
        if "read" in facts.kinds or "edit" in facts.kinds:
            reason = self._files(paths)
        elif "search" in facts.kinds:
            reason = self._trees(paths or [self.workdir])
        elif "run" in facts.kinds and facts.script:
            reason = self._script(facts.script)
        else:
            reason = None
        if "write" in facts.kinds and reason is None:
            for path in paths:
                self.unknown.pop(path, None)
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
        return None

    def _script(self, script: str) -> str | None:
        for words in simple_commands(script) or []:
            operands = [word for word in words[1:] if not word.startswith("-")]
            paths = [resolve_path(word, self.workdir) for word in operands]
            if words[0] in FILE_READERS:
                reason = self._files(paths)
            elif words[0] in TREE_READERS:
                reason = self._trees(paths or [self.workdir])
            elif words[0] in SEARCHERS:
                reason = self._trees(paths[1:] or [self.workdir])
            else:
                reason = None
            if reason is not None:
                return reason
        return None


def simple_commands(script: str) -> list[list[str]] | None:
    """The words of each command of ``script`` split at pipes and separators; None when it
    cannot be split so (quotes left open, redirections, substitutions, several lines)."""
    if any(mark in script for mark in ("$(", "`", ">", "<", "\n")):
        return None
    try:
        words = shlex.split(script)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for word in words:
        if word in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command] or None


def resolve_path(path: str, directory: str) -> str:
    """``path`` made absolute against ``directory`` and normalised."""
    return posixpath.normpath(posixpath.join(directory, path))
