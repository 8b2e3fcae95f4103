"""``understudy fidelity``: how many recorded tool outputs a live replay of each session gives back.

Registered on the main app by :mod:`understudy.cli`; the measurement itself is
:mod:`understudy.replay.fidelity`.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from understudy.cli_common import console, load_sessions
from understudy.cli_sandbox import (
    AllowBaseImageOption,
    DiskLimitOption,
    EnvsOption,
    ReadOnlyRootOption,
    RepoMirrorOption,
    SandboxOption,
    SandboxRootOption,
    WorkspaceOption,
    environment_options,
    sandbox_settings,
)

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.replay.fidelity import SessionFidelity


def fidelity(
    sessions_files: Annotated[
        list[Path], typer.Argument(help="JSONL files of sessions (see `understudy schema`).")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (per session and overall).")
    ] = False,
    sandboxes: Annotated[int, typer.Option(min=1, help="Sessions replayed at once.")] = 2,
    tools: Annotated[
        str | None,
        typer.Option(
            help="Tool policy (default: every call live, except the user's answers, e.g. "
            "AskUserQuestion, ExitPlanMode, served from the recording unless named here). "
            "Results served by replay or simulation are not compared, e.g. "
            "'live,browser=replay'. Shell commands that need the network run live too "
            "unless a 'network=CHAIN' entry says otherwise."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per stretch of a replay.")] = 1800.0,
    run_id: Annotated[
        str | None, typer.Option(help="Label of the containers (default: fidelity-random).")
    ] = None,
    sandbox: SandboxOption = "auto",
    sandbox_root: SandboxRootOption = False,
    read_only_root: ReadOnlyRootOption = False,
    disk_limit: DiskLimitOption = None,
    allow_base_image: AllowBaseImageOption = False,
    envs: EnvsOption = None,
    repo_mirror: RepoMirrorOption = None,
    workspace: WorkspaceOption = "auto",
) -> None:
    """Measure environment fidelity: how many recorded tool outputs a live replay gives back.

    Each session is replayed whole in a fresh sandbox: its own recorded assistant turns are
    played back and every tool call runs live; each live output is compared with the recorded
    one after masking timestamps, ids and temp paths. Calls the user answered (questions, plan
    approvals) are served from the recording and not compared. A low fidelity means that
    rollouts of those sessions see a different world than the original model did. Sessions whose
    environment cannot be built are reported apart; --envs and --repo-mirror say where their
    code lives, and each result records the commit used and how it was chosen (or, without a
    repository, the coverage of the workspace rebuilt from the log, see --workspace). The exit code
    is 0 whatever the fidelity, 1 only for unreadable input.
    """
    import asyncio

    from rich.progress import Progress

    from understudy.replay.fidelity import FidelitySettings, fidelity_summary, measure_fidelity

    sessions, mirrors = environment_options(load_sessions(sessions_files), envs, repo_mirror)
    settings = FidelitySettings(
        repo_mirrors=mirrors,
        run_id=run_id or f"fidelity-{uuid.uuid4().hex[:6]}",
        tools=tools,
        sandboxes=sandboxes,
        timeout_s=timeout,
        **sandbox_settings(
            sandbox, sandbox_root, read_only_root, disk_limit, allow_base_image, workspace
        ),
    )
    with Progress(*Progress.get_default_columns(), console=console(stderr=True)) as bar:
        task = bar.add_task("replaying sessions", total=len(sessions))
        results = asyncio.run(
            measure_fidelity(
                sessions, settings, progress=lambda result: bar.update(task, advance=1)
            )
        )
    summary = fidelity_summary(results)
    if as_json:
        document = {"sessions": [r.model_dump(mode="json") for r in results], "overall": summary}
        typer.echo(json.dumps(document, indent=2))
        return
    _print_fidelity(results, summary, console())


def _print_fidelity(results: list[SessionFidelity], summary: dict[str, Any], out: Console) -> None:
    table = Table(title="fidelity per session", show_edge=False)
    for column in ("session", "compared", "matched", "fidelity", "top reason"):
        table.add_column(column, overflow="fold")
    for result in results:
        table.add_row(
            result.session_id,
            str(result.compared),
            str(result.matched),
            _percent(result.fidelity),
            f"error: {result.error}" if result.error else _top_reason(result),
        )
    out.print(table)
    errors = f", {summary['errors']} session(s) with errors" if summary["errors"] else ""
    out.print(
        f"overall: {summary['matched']}/{summary['compared']} recorded outputs reproduced "
        f"({_percent(summary['fidelity'])}) over {summary['measured']} session(s){errors}"
    )
    for entry in summary["top_reasons"]:
        hit = ", ".join(f"{tool} {count}" for tool, count in entry["tools"].items())
        out.print(f"  {entry['reason']}: {entry['count']} ({hit})")
    for result in results:
        workspace = result.env.get("workspace")
        if workspace:
            out.print(
                f"{result.session_id}: workspace rebuilt from the log ({workspace['reason']}): "
                f"{len(workspace['full'])} file(s) in full, {len(workspace['partial'])} in part, "
                f"{len(workspace['names'])} by name only; {result.unknown_content} call(s) "
                "touching unknown content served from the recording"
            )


def _top_reason(result: SessionFidelity) -> str:
    reasons = Counter(mismatch.reason for mismatch in result.mismatches)
    if not reasons:
        return ""
    reason, count = reasons.most_common(1)[0]
    return f"{reason} ({count})"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
