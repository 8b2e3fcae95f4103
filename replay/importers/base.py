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
    """Tool results whose call is not in the log (kept, and counted here)."""
    issues: list[ImportIssue] = Field(default_factory=list)

    def warn(
        self, path: Path | str, message: str, line: int | None = None, where: str | None = None
    ) -> None:
        """Record a warning that did not stop the import."""
        self.issues.append(ImportIssue(path=str(path), line=line, where=where, message=message))

    def count(self, session: Session) -> None:
        """Add a finished session to the counts."""
        self.sessions += 1
        self.messages += len(session.messages)
        self.tool_calls += sum(len(message.tool_calls) for message in session.messages)


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
