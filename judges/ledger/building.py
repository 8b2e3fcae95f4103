"""Building the ledger: walking a trajectory's messages, then assembling the whole (files changed,
project roots, final state)."""

from __future__ import annotations

import posixpath
from typing import Any

from understudy.judges import commands as sh
from understudy.judges.base import trajectory_of
from understudy.judges.ledger.models import DestructiveOp, FileChange, Ledger, LedgerCall
from understudy.judges.ledger.reading import CallReader
from understudy.judges.ledger.results import attach_result, pair_results
from understudy.judges.ledger.shell import ordered_kinds
from understudy.tools.adapters.arguments import PATCH_MARK, apply_patch_files
from understudy.trajectory import Message, Rollout, Session

_STATE_FILES = ("/tmp/.understudy",)


# -- building --------------------------------------------------------------------------------------


def ledger_for(session: Session, rollout: Rollout | None = None) -> Ledger:
    """The ledger of a session alone, or of a rollout's full trajectory."""
    _, messages = trajectory_of(session, rollout)
    changed = rollout.meta.get("changed_files") if rollout is not None else None
    return build_ledger(
        messages,
        changed if isinstance(changed, list) else None,
        workdir=session.env.workdir,
        agent=session.source.agent or session.source.format,
    )


def build_ledger(
    messages: list[Message],
    changed_files: list[dict[str, Any]] | None = None,
    *,
    workdir: str | None = None,
    agent: str | None = None,
) -> Ledger:
    """The ledger of ``messages`` (a full trajectory).

    ``changed_files`` (``Rollout.meta["changed_files"]``, ``[{path, kind}]``) adds the
    sandbox's account of the files changed; ``workdir`` tells destructive deletions from
    scratch work; ``agent`` picks agent-specific readings of ambiguous tool names.
    """
    results = pair_results(messages)
    calls: list[LedgerCall] = []
    reader = CallReader(agent)
    for index, message in enumerate(messages):
        if message.role != "assistant":
            continue
        for tool_call in message.tool_calls:
            result_index = results.get((index, tool_call.id))
            result = messages[result_index] if result_index is not None else None
            call = reader.read(index, tool_call)
            attach_result(call, result, result_index)
            calls.append(call)
    roots = _project_roots(calls, workdir)
    for call in calls:
        if call.command is not None:
            found = sh.destructive_operations(sh.parse_command(call.command), workdir, roots)
            if found:
                call.destructive = [
                    DestructiveOp(kind=d.kind, text=d.text, severity=d.severity) for d in found
                ]
                call.kinds = ordered_kinds(["destructive", *call.kinds])
                call.classification = call.kinds[0]
    ledger = _assemble(calls, changed_files, workdir)
    ledger.project_roots = list(roots)
    return ledger


# -- the whole -------------------------------------------------------------------------------------


def _project_roots(calls: list[LedgerCall], workdir: str | None) -> tuple[str, ...]:
    """Directories the trajectory treats as the project: the common parent of the absolute
    paths its file tools touched (outside system and scratch directories)."""
    paths = [
        posixpath.normpath(path)
        for call in calls
        if call.canonical != "shell"
        for path in call.paths
        if path.startswith("/") and not path.startswith(("/tmp", "/etc", "/usr", "/var", "/proc"))
    ]
    if not paths:
        return ()
    common = posixpath.commonpath(paths)
    if common in paths:  # one file, or one file and its own subdirectories: take its directory
        common = posixpath.dirname(common)
    if common in sh.SYSTEM_DIRS or common == workdir:
        return ()
    return (common,)


def _normalize(path: str, workdir: str | None) -> str:
    path = path.strip()
    if path.startswith("./"):
        path = path[2:]
    if workdir and path.startswith(workdir.rstrip("/") + "/"):
        path = path[len(workdir.rstrip("/")) + 1 :]
    return path


def _assemble(
    calls: list[LedgerCall], changed_files: list[dict[str, Any]] | None, workdir: str | None
) -> Ledger:
    ledger = Ledger(calls=calls, workdir=workdir, changed_files_given=changed_files is not None)
    changes: dict[str, FileChange] = {}
    net: dict[str, str] = {}
    for call in calls:
        if not call.ran or not ({"edit", "write"} & set(call.kinds)):
            continue
        kinds = _change_kinds(call)
        for path, kind in kinds:
            key = _normalize(path, workdir)
            if not key or key.startswith(_STATE_FILES):
                continue
            changes[key] = FileChange(path=key, kind=kind, index=call.index)
            if kind == "deleted" and net.get(key) == "created":
                net.pop(key)
            elif kind == "deleted":
                net[key] = "deleted"
            elif key not in net or net[key] == "deleted":
                net[key] = "created" if kind in ("created", "written") and key not in net else kind
    if changed_files is not None:
        final: list[str] = []
        for entry in changed_files:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue
            key = _normalize(entry["path"], workdir)
            if key.startswith(_STATE_FILES):
                continue
            kind = str(entry.get("kind") or "changed")
            if key in changes:
                changes[key].source = "both"
            else:
                changes[key] = FileChange(path=key, kind=kind, source="changed_files")
            final.append(key)
        ledger.final_state.files_changed = final
    else:
        ledger.final_state.files_changed = list(net)
    ledger.files_changed = list(changes.values())
    ledger.tests_run = [c for c in calls if "test_run" in c.kinds]
    ledger.searches = [c for c in calls if "search" in c.kinds and c.ran]
    ledger.urls_fetched = list(
        dict.fromkeys(c.url for c in calls if "fetch" in c.kinds and c.url and c.ran)
    )
    ledger.git_ops = [c for c in calls if "git" in c.kinds]
    ledger.destructive = [c for c in calls if c.destructive]
    ran = [c for c in ledger.tests_run if c.ran]
    if ran:
        last = ran[-1]
        ledger.final_state.last_test = last.outcome
        ledger.final_state.last_test_index = last.index
        ledger.final_state.tests_ok = last.outcome.ok if last.outcome else None
    return ledger


def _change_kinds(call: LedgerCall) -> list[tuple[str, str]]:
    if call.command is not None:
        written = sh.written_files(sh.parse_command(call.command))
        if PATCH_MARK in call.command and not written:
            written = apply_patch_files(call.command)
        return written
    if "write" in call.kinds:
        return [(path, "written") for path in call.paths if path]
    if call.args.startswith("apply_patch"):  # the summary of every apply_patch call
        return [(e.path, "modified") for e in call.edits]
    return [(path, "modified") for path in call.paths if path]
