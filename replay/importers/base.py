"""What an importer is: a reader of one log format that yields normalized Sessions.

Importers stream: ``load`` yields sessions one by one and never holds more than one session's
worth of a file in memory where the format allows it. Problems that do not stop the import
(an orphan tool result, an unknown event type, a line cut short at the end of a file) are
reported through the :class:`ImportReport`; problems that do stop it raise
:class:`~understudy.errors.LogFormatError` naming the file, line and field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field

from understudy.trajectory import Session


class ImportIssue(BaseModel):
    """One warning about an imported file."""

    path: str
    line: int | None = None
    """1-based line (JSONL formats) or None."""
    where: str | None = None
    """Field or entry the warning is about, e.g. ``history[12].tool_call_ids``."""
    message: str


class ImportReport(BaseModel):
    """What an import found, per file: counts and warnings (never the content)."""

    sessions: int = 0
    messages: int = 0
    tool_calls: int = 0
    orphan_results: int = 0
    """Tool results whose call is not in the log (kept, and counted here by :meth:`count`)."""
    format: str | None = None
    """The format the file was read as (detected, or named by the caller)."""
    error: str | None = None
    """Why the file could not be imported (or not completely), when that did not stop a
    directory walk; None when it was read to the end."""
    redactions: dict[str, int] = Field(default_factory=dict)
    """De-identification counts per kind (``email``, ``api_key``, ...), never the values."""
    issues: list[ImportIssue] = Field(default_factory=list)

    def warn(
        self, path: Path | str, message: str, line: int | None = None, where: str | None = None
    ) -> None:
        """Record a warning that did not stop the import."""
        self.issues.append(ImportIssue(path=str(path), line=line, where=where, message=message))

    def count(self, session: Session) -> None:
        """Add a finished session to the counts, orphan tool results included.

        ``import_paths`` calls this for every session it yields, unless the importer's ``load``
        already did; importers therefore need not call it, and must not count orphans
        themselves (they may still :meth:`warn` about them with details).
        """
        self.sessions += 1
        self.messages += len(session.messages)
        self.tool_calls += sum(len(message.tool_calls) for message in session.messages)
        self.orphan_results += len(orphan_results(session))

    def add(self, other: ImportReport) -> None:
        """Add another file's counts, redactions and warnings (a total over files)."""
        self.sessions += other.sessions
        self.messages += other.messages
        self.tool_calls += other.tool_calls
        self.orphan_results += other.orphan_results
        self.add_redactions(other.redactions)
        self.issues.extend(other.issues)

    def add_redactions(self, counts: dict[str, int]) -> None:
        """Add de-identification counts (per kind) to the report."""
        for kind, n in counts.items():
            if n:
                self.redactions[kind] = self.redactions.get(kind, 0) + n


def orphan_results(session: Session) -> list[int]:
    """Indices of tool results whose ``tool_call_id`` names no call made before them."""
    calls: set[str] = set()
    orphans: list[int] = []
    for index, message in enumerate(session.messages):
        calls.update(call.id for call in message.tool_calls)
        if message.role == "tool" and (message.tool_call_id not in calls):
            orphans.append(index)
    return orphans


class Importer(Protocol):
    """A reader of one log format."""

    name: str
    """Registry name: native, openai, swe-agent, mini-swe-agent, openhands, claude-code, codex,
    inspect, atif."""

    def detect(self, path: Path) -> bool:
        """Whether ``path`` looks like this format (reads only the start of the file)."""
        ...

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """The sessions in ``path``. With ``strict``, a problem that would be a warning (e.g. a
        truncated last line) raises LogFormatError instead."""
        ...
