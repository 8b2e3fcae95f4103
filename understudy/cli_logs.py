"""``understudy import`` and ``understudy export``: agent logs in, interchange formats out.

Registered on the main app by :mod:`understudy.cli`; the work itself is
:mod:`understudy.replay.importers` and :mod:`understudy.replay.export`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from understudy.cli_common import console
from understudy.errors import UnderstudyError

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.replay.importers.base import ImportReport


class ExportChoice(StrEnum):
    """Interchange formats of ``understudy export``."""

    atif = "atif"
    openai = "openai"


def import_logs(
    fmt: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT",
            help="auto, or one of: native, openai, atif, swe-agent, mini-swe-agent, openhands, "
            "claude-code, codex, inspect.",
        ),
    ],
    paths: Annotated[list[Path], typer.Argument(help="Log files or directories (walked).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Sessions file to write.")],
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Keep secrets and personal data as logged.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on anything that would be a warning.")
    ] = False,
) -> None:
    """Import agent logs into one JSONL file of sessions, de-identified by default.

    Formats are detected per file with [bold]auto[/bold]. A truncated log keeps the sessions
    before the break (with a warning naming the line) unless [bold]--strict[/bold], which fails
    and writes nothing. The summary gives sessions, messages, tool calls, orphan tool results,
    redactions per kind and warnings per file, never the values.
    """
    from rich.progress import Progress

    from understudy.jsonl import write_models
    from understudy.replay.importers import import_paths, iter_log_files

    # A cheap walk first, so that the progress bar knows how many files there are.
    scratch = output.with_name(output.name + ".partial")
    # What this import writes may lie among the logs it walks: never read back as a log.
    written_here = (output, scratch)
    total = sum(1 for _ in iter_log_files(paths, written_here))
    reports: dict[Path, ImportReport] = {}
    written = 0
    with Progress(*Progress.get_default_columns(), console=console(stderr=True)) as bar:
        task = bar.add_task("importing", total=total)
        try:
            sessions = import_paths(
                paths,
                fmt,
                strict=strict,
                redact=not no_redact,
                reports=reports,
                on_file=lambda path, report: bar.advance(task),
                exclude=written_here,
            )
            with scratch.open("w", encoding="utf-8") as handle:
                for path, session in sessions:
                    write_models(handle, [session])
                    written += 1
                    bar.update(task, description=f"importing {path.name}")
        except UnderstudyError:
            if written and not strict:
                bar.console.print(f"{written} session(s) read before the error are in {scratch}")
            else:
                scratch.unlink(missing_ok=True)  # --strict: all or nothing
            raise
    scratch.replace(output)
    _print_import_reports(reports, redacted=not no_redact)
    console().print(f"{written} session(s) written to {output}")
    if any(report.error for report in reports.values()):
        raise typer.Exit(1)
    if not any(report.format for report in reports.values()):  # no file was a log
        console(stderr=True).print("no log of a known format was found", markup=False)
        raise typer.Exit(1)


_SHOWN_WARNINGS = 20  # per file: the summary stays readable for a log with thousands
_COLUMNS = (
    "file", "format", "sessions", "messages", "tool calls", "orphans", "redacted", "warnings",
)  # fmt: skip


def _print_import_reports(reports: dict[Path, ImportReport], redacted: bool) -> None:
    table = Table(title="imported", show_edge=False)
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    err = console(stderr=True)
    for path, report in reports.items():
        shown_format = (report.format or "?") + _outcome(report)
        table.add_row(
            str(path), shown_format, str(report.sessions), str(report.messages),
            str(report.tool_calls), str(report.orphan_results),
            _redaction_kinds(report) if redacted else "off",
            str(len(report.issues)),
        )  # fmt: skip
        for issue in report.issues[:_SHOWN_WARNINGS]:
            where = f":{issue.line}" if issue.line else ""
            field = f": {issue.where}" if issue.where else ""
            err.print(f"warning: {issue.path}{where}{field}: {issue.message}", markup=False)
        if len(report.issues) > _SHOWN_WARNINGS:
            more = len(report.issues) - _SHOWN_WARNINGS
            err.print(f"... and {more} more warning(s) about {path}", markup=False)
        if report.error:
            err.print(Text(f"error: {report.error}", style="bold red"))
    console().print(table)
    skipped = sum(1 for report in reports.values() if report.skipped)
    if skipped:
        err.print(f"{skipped} file(s) passed over: not logs of a known format", markup=False)
    failed = sum(1 for report in reports.values() if report.error)
    if failed:
        err.print(f"{failed} of {len(reports)} file(s) failed: see the errors above", markup=False)


def _outcome(report: ImportReport) -> str:
    if report.error:
        return " (failed)"
    return " (not a log)" if report.skipped else ""


def _redaction_kinds(report: ImportReport) -> str:
    """Counts per kind of de-identified value, ``api_key=4 email=2`` (never the values)."""
    kinds = sorted(report.redactions.items())
    return " ".join(f"{kind}={count}" for kind, count in kinds) if kinds else "0"


def export(
    sessions_file: Annotated[Path, typer.Argument(help="JSONL file of sessions.")],
    fmt: Annotated[ExportChoice, typer.Option("--format", help="Interchange format.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File or directory to write.")],
) -> None:
    """Export sessions for other tools: ATIF trajectories or OpenAI chat conversations."""
    from understudy.jsonl import read_models
    from understudy.replay.export import export_sessions
    from understudy.trajectory import Session

    count = export_sessions(read_models(sessions_file, Session), fmt.value, output)
    console().print(f"{count} session(s) exported as {fmt.value} to {output}")
