"""What an importer is: a reader of one log format that yields normalized Sessions.

Importers stream: ``load`` yields sessions one by one and never holds more than one session's
worth of a file in memory where the format allows it. Problems that do not stop the import
(an orphan tool result, an unknown event type, a line cut short at the end of a file) are
reported through the :class:`ImportReport`; problems that do stop it raise
:class:`~understudy.errors.LogFormatError` naming the file, line and field.

Orphan tool results (a result whose call is not in the log before it) are always reported as
a warning, from one place: :meth:`ImportReport.check_orphans`, which ``import_paths`` calls for
every session. An importer that knows where in the file an orphan is says so with
:meth:`ImportReport.warn_orphan` as it reads it (the warning then names the line and field,
and is not repeated); one that knows only where a whole session is (its line, its entry)
calls :meth:`~ImportReport.warn_orphans` with that, just before yielding the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, PrivateAttr

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
    skipped: str | None = None
    """Why a file met in a directory walk was passed over: it is no log (a README beside the
    logs, an agent's text log, its ``preds.json``); see :func:`import_paths`."""
    redactions: dict[str, int] = Field(default_factory=dict)
    """De-identification counts per kind (``email``, ``api_key``, ...), never the values."""
    issues: list[ImportIssue] = Field(default_factory=list)

    # Call ids of orphans an importer already warned about (warn_orphan), not yet matched to a
    # session; and the session an importer just warned about whole (warn_orphans), which
    # check_orphans then skips -- and lets go of, so that no session outlives its turn.
    _noted_orphans: list[str | None] = PrivateAttr(default_factory=list)
    _orphans_warned: Session | None = PrivateAttr(default=None)
    # The orphans of the session last checked (warn_orphans, check_orphans), for count to reuse
    # when it counts the same session (import_paths counts each session just after checking
    # it: unchanged, unless redacted); count lets go of it.
    _orphans_checked: tuple[Session, list[int]] | None = PrivateAttr(default=None)

    def warn(
        self, path: Path | str, message: str, line: int | None = None, where: str | None = None
    ) -> None:
        """Record a warning that did not stop the import."""
        self.issues.append(ImportIssue(path=str(path), line=line, where=where, message=message))

    def warn_orphan(
        self,
        path: Path | str,
        call_id: str | None,
        line: int | None = None,
        where: str | None = None,
        message: str | None = None,
    ) -> None:
        """Warn about one orphan tool result where the importer meets it (line and field).

        ``call_id`` is the ``tool_call_id`` the result message gets: :meth:`warn_orphans`
        matches it to the session's orphans and does not warn about that one again.
        """
        self._noted_orphans.append(call_id)
        self.warn(path, message or _orphan_text(call_id), line=line, where=where)

    def warn_orphans(
        self, path: Path | str, session: Session, line: int | None = None, where: str = ""
    ) -> None:
        """Warn about every orphan tool result of ``session`` not already warned about, for an
        importer that knows where the session is; call it just before yielding the session.

        Each warning names the file, ``line`` when given, and the message as
        ``{where}messages[i]`` (``where`` a prefix such as ``"[3]."``), with the session id.
        """
        self._orphans_checked = (session, self._warn_orphans(path, session, line, where))
        self._orphans_warned = session

    def check_orphans(self, path: Path | str, session: Session) -> None:
        """Warn about the orphan tool results of ``session`` no importer warned about (the
        call ``import_paths`` makes for every session, before de-identification)."""
        if self._orphans_warned is session:
            self._orphans_warned = None
            return
        self._orphans_checked = (session, self._warn_orphans(path, session, None, ""))

    def _warn_orphans(
        self, path: Path | str, session: Session, line: int | None, where: str
    ) -> list[int]:
        """Warn about the orphan results of ``session``; return their indices."""
        orphans = orphan_results(session)
        for index in orphans:
            call_id = session.messages[index].tool_call_id
            if call_id in self._noted_orphans:
                self._noted_orphans.remove(call_id)
                continue
            self.warn(
                path,
                f"{_orphan_text(call_id)} (session {session.id!r})",
                line=line,
                where=f"{where}messages[{index}]",
            )
        return orphans

    def count(self, session: Session) -> None:
        """Add a finished session to the counts, orphan tool results included.

        ``import_paths`` calls this for every session it yields, unless the importer's ``load``
        already did; importers therefore need not call it, and must not count orphans
        themselves (they may still warn about them with details: :meth:`warn_orphan`).
        """
        self.sessions += 1
        self.messages += len(session.messages)
        self.tool_calls += sum(len(message.tool_calls) for message in session.messages)
        checked, self._orphans_checked = self._orphans_checked, None
        orphans = checked[1] if checked is not None and checked[0] is session else None
        self.orphan_results += len(orphan_results(session) if orphans is None else orphans)

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


def _orphan_text(call_id: str | None) -> str:
    if call_id is None:
        return "tool result without a call id; kept as an orphan result"
    return f"tool result for call {call_id!r}, which no earlier message made; kept as an orphan"


def orphan_results(session: Session) -> list[int]:
    """Indices of tool results whose ``tool_call_id`` names no call made before them."""
    calls: set[str] = set()
    orphans: list[int] = []
    for index, message in enumerate(session.messages):
        if message.tool_calls:  # most messages make none
            calls.update([call.id for call in message.tool_calls])
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
