"""What the ``understudy reproduce`` prompt prints: the trajectory, one message, the changed files.

:mod:`understudy.reproduce_prompt` reads the commands; this module only renders, on
:func:`understudy.cli_common.console`. Text from the trajectory is never read as markup.
"""

from __future__ import annotations

import json
import posixpath
import sys
from collections.abc import Iterable
from typing import Any

from rich.markup import escape

from understudy.cli_common import console
from understudy.protocols import ExecResult, FileChange
from understudy.replay.prefix import session_agent
from understudy.replay.reproduce.target import Trajectory
from understudy.tools.adapters import describe_call
from understudy.tools.adapters.facts import clip, one_line
from understudy.trajectory import Judgment, Message, ToolCall

SUMMARY_CHARS = 90
"""Longest one-line summary of a message in ``list``."""
ARGUMENT_CHARS = 40
"""Longest argument value shown in a call's summary."""
EDIT_KINDS = frozenset({"edit", "write"})
"""What a call does that changes the files it names."""


def call_summary(call: ToolCall) -> str:
    """``name(key=value, ...)`` with short values."""
    if not call.arguments:
        return f"{call.name}({clip(one_line(call.raw_arguments or ''), ARGUMENT_CHARS)})"
    shown = ", ".join(
        f"{key}={clip(one_line(_text(value)), ARGUMENT_CHARS)}"
        for key, value in call.arguments.items()
    )
    return f"{call.name}({shown})"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def message_summary(message: Message) -> str:
    """One line: the text's start, then the calls an assistant message makes."""
    text = clip(one_line(message.content), SUMMARY_CHARS)
    if message.role == "tool" and message.content.strip():
        text = clip(message.content.strip().splitlines()[0], SUMMARY_CHARS)
    calls = " ".join(f"→ {call_summary(call)}" for call in message.tool_calls)
    return " ".join(part for part in (text, clip(calls, 2 * SUMMARY_CHARS)) if part)


def _marker(label: str, style: str) -> str:
    return f"[{style}]──── {label} ────[/{style}]"


def print_list(trajectory: Trajectory, step: int) -> None:
    """The trajectory, one line per message, with the cut, the current step and the flags."""
    out = console()
    for index in range(len(trajectory.messages) + 1):
        if index == trajectory.cut:
            out.print(_marker(f"cut {index}: the candidate takes over", "magenta"))
        if index == step:
            out.print(_marker(f"step {index}: the sandbox is here", "bold cyan"))
        if index < len(trajectory.messages):
            out.print(_list_line(trajectory, index))


def _list_line(trajectory: Trajectory, index: int) -> str:
    message = trajectory.messages[index]
    line = f"{index:>4} [bold]{message.role:<9}[/bold] {escape(message_summary(message))}"
    if message.role == "tool":
        # A logged session's own results carry no provenance: they are the recording.
        provenance = message.provenance.value if message.provenance else "recorded"
        line += f" [dim]\\[{provenance}{', error' if message.is_error else ''}][/dim]"
    categories = sorted({judgment.category for judgment in trajectory.flags_at(index)})
    if categories:
        line += f" [red]⚑ {escape(', '.join(categories))}[/red]"
    return line


def print_message(trajectory: Trajectory, index: int) -> None:
    """Message ``index`` in full: text, reasoning, calls, diagnostics and flags."""
    out = console()
    message = trajectory.messages[index]
    facts = [message.role, message.name, message.provenance, "error" if message.is_error else None]
    out.print(f"[bold]message {index}[/bold] · " + " · ".join(str(f) for f in facts if f))
    if message.reasoning:
        out.print("[dim]reasoning:[/dim]")
        out.print(message.reasoning, markup=False)
    out.print(message.content or "[dim](no text)[/dim]", markup=not message.content)
    for call in message.tool_calls:
        out.print(f"[bold]call[/bold] {escape(call.name)} [dim]({escape(call.id)})[/dim]")
        out.print(_json(call.arguments) if call.arguments else call.raw_arguments, markup=False)
    diagnostics = message.meta.get("diagnostics")
    if diagnostics:
        out.print("[dim]diagnostics:[/dim]")
        out.print(_json(diagnostics), markup=False)
    for judgment in trajectory.flags_at(index):
        print_flag(judgment, index)


def print_flag(judgment: Judgment, index: int) -> None:
    """One flag: its category, judge and rationale, and the quotes backing it."""
    out = console()
    out.print(
        f"[red]⚑ {escape(judgment.category)}[/red] ({escape(judgment.judge)}, severity "
        f"{judgment.severity}): {escape(judgment.rationale)}"
    )
    for evidence in judgment.evidence:
        here = " (this message)" if evidence.message_index == index else ""
        out.print(f"    @{evidence.message_index}{here}: {escape(repr(evidence.quote))}")


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def original_edits(trajectory: Trajectory, step: int) -> list[str]:
    """Files the trajectory's own calls after ``step`` edit or write (absolute, in order)."""
    agent = session_agent(trajectory.session)
    workdir = trajectory.session.env.workdir
    paths: list[str] = []
    for message in trajectory.messages[step:]:
        for call in message.tool_calls:
            facts = describe_call(call.name, call.arguments, agent)
            if facts is not None and EDIT_KINDS.intersection(facts.kinds):
                paths.extend(absolute(path, workdir) for path in facts.paths)
    return list(dict.fromkeys(paths))


def absolute(path: str, workdir: str) -> str:
    """``path`` as an absolute, normalized path (relative paths are under ``workdir``)."""
    return posixpath.normpath(posixpath.join(workdir, path))


def print_diff(
    changed: list[FileChange], git_status: str | None, original: list[str], workdir: str
) -> None:
    """The files changed in the sandbox, then the original session's edits beside them."""
    out = console()
    out.print(f"[bold]changed since the sandbox's image[/bold] ({len(changed)})")
    for change in changed:
        out.print(f"  {change.kind:<9} {escape(change.path)}")
    if git_status is not None:
        out.print("[bold]git status --short[/bold]")
        out.print(git_status.rstrip() or "  (clean)", markup=False)
    now = sorted({absolute(change.path, workdir) for change in changed})
    out.print("[bold]vs the original session[/bold]")
    _paths("the original session edits after this step", original, now)
    _paths("changed in the sandbox now", now, original)


def print_exec(result: ExecResult) -> None:
    """A command's output as it is, then its exit code."""
    sys.stdout.write(result.output if result.output.endswith("\n") else result.output + "\n")
    sys.stdout.flush()
    timed_out = " (timed out)" if result.timed_out else ""
    console().print(f"[dim]exit code {result.exit_code}{timed_out}[/dim]")


def print_help(commands: list[tuple[str, str]]) -> None:
    """Each command's usage and what it does (one command: on two lines)."""
    out = console()
    if len(commands) == 1:
        (usage, summary), *_ = commands
        out.print(f"{usage}\n  {summary}", markup=False)
        return
    for usage, summary in commands:
        out.print(f"  {usage:<44} {summary}", markup=False)


def _paths(title: str, paths: Iterable[str], others: list[str]) -> None:
    out = console()
    listed = list(paths)
    out.print(f"  {title} ({len(listed)}):")
    for path in listed:
        mark = "" if path in others else " [dim](only here)[/dim]"
        out.print(f"    {escape(path)}{mark}")
