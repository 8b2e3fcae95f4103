"""``understudy reproduce``: one trajectory at any step, in a live sandbox; branch from there.

The work is :mod:`understudy.replay.reproduce` (the target and the sandbox at a step); this
module reads the target from the command line, runs the non-interactive forms (``--exec``,
``--branch``) and otherwise hands the reproduction to the prompt
(:mod:`understudy.reproduce_prompt`). Branches are runs: :func:`branch_run` starts one from the
current step and records its parent in ``run.json``; :func:`judge_branch` judges it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from understudy.cli_common import console, counts, load_sessions
from understudy.cli_sandbox import (
    AllowBaseImageOption,
    EnvsOption,
    RepoMirrorOption,
    SandboxOption,
    WorkspaceOption,
    environment_options,
    sandbox_settings,
)
from understudy.errors import ConfigError

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from rich.table import Table

    from understudy.replay.reproduce.target import Trajectory
    from understudy.replay.reproduce.workbench import Reproduction, SteppedCall
    from understudy.replay.runner import RunSettings
    from understudy.trajectory import Rollout


@dataclass
class BranchRequest:
    """What ``branch`` continues with."""

    output: Path
    model: str | None = None
    """None: the session's own recorded turns (``--original``)."""
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    tools: str | None = None
    samples: int = 1


def load_target(
    target: Path, rollout_id: str | None, flagged: int | None, session_id: str | None
) -> Trajectory:
    """The trajectory named on the command line (see ``understudy reproduce --help``)."""
    from understudy.judges.runner import JUDGMENTS_FILE, read_judgments
    from understudy.replay.reproduce.target import (
        find_rollout,
        flagged_rollout,
        of_rollout,
        of_session,
        session_named,
    )
    from understudy.replay.rundir import RunDir
    from understudy.run_files import SESSIONS_FILE

    if target.is_dir():
        run_dir = RunDir(target)
        sessions = load_sessions([target / SESSIONS_FILE])
        rollouts = run_dir.rollouts()
        judgments = read_judgments(target / JUDGMENTS_FILE)
        if (rollout_id is None) == (flagged is None):
            raise typer.BadParameter("give a ROLLOUT_ID or --flagged N (one of them) with RUN_DIR")
        rollout = (
            find_rollout(rollouts, rollout_id)
            if rollout_id is not None
            else flagged_rollout(rollouts, judgments, flagged or 0)
        )
        return of_rollout(session_named(sessions, rollout.session_id), rollout, judgments)
    if session_id is None:
        raise typer.BadParameter("a SESSIONS_FILE needs --session ID")
    return of_session(session_named(load_sessions([target]), session_id))


def default_step(trajectory: Trajectory) -> int:
    """The first flagged assistant message (the state its turn was spoken in; a branch there
    speaks it again), else the first flagged message, else the cut."""
    flagged = [e.message_index for j in trajectory.flags for e in j.evidence]
    spoken = [i for i in flagged if trajectory.messages[i].role == "assistant"]
    return min(spoken or flagged) if flagged else trajectory.cut


async def branch_run(
    repro: Reproduction, request: BranchRequest, base: RunSettings, parent: dict[str, Any]
) -> dict[str, Any]:
    """A run continuing the trajectory from the current step; its run.json names the parent."""
    from understudy.replay.candidate import OpenAICandidate, OriginalCandidate
    from understudy.replay.cuts import check_cut
    from understudy.replay.rundir import RunDir
    from understudy.replay.runner import run_to_dir

    session = repro.branch_session()
    check_cut(session, repro.step)  # before the branch's run directory is made
    settings = base.model_copy(
        update={
            "run_id": f"branch-{uuid.uuid4().hex[:8]}",
            "cut": repro.step,
            "samples": request.samples,
            "tools": request.tools,
        }
    )
    if request.model is None:
        # The trajectory's own turns after the step (the branch's session stops at it).
        whole = repro.trajectory.as_session()
        candidate_for: Any = lambda _: OriginalCandidate(whole)  # noqa: E731
        record: dict[str, Any] = {"candidate": "original"}
    else:
        shared = OpenAICandidate(
            request.model, base_url=request.base_url, api_key_env=request.api_key_env
        )
        candidate_for = lambda _: shared  # noqa: E731 - one client for the branch
        record = {"candidate": {"model": request.model, "base_url": request.base_url}}
    edited = [i for i, m in enumerate(session.messages) if m.meta.get("edited")]
    record["parent"] = {**parent, "step": repro.step, "edited_results": edited}
    run_dir = RunDir(request.output)
    summary = await run_to_dir([session], settings, candidate_for, run_dir, False, record)
    run_dir.keep_sessions([session])
    return summary


async def judge_branch(output: Path) -> Table:
    """The rule judges over a branch's rollouts; the rates table."""
    from understudy.judges.report import summarize_run, summary_table
    from understudy.judges.rules import rule_judges
    from understudy.judges.runner import judge_run

    await judge_run(output, rule_judges())
    return summary_table(summarize_run(output), title=f"rule judges: {output}")


def state_settings(
    purpose: str, mirrors: list[str], sandbox: str, allow_base_image: bool, workspace: str
) -> RunSettings:
    """Settings for building environments and states at a step (no candidate, no simulator),
    with a run id ``PURPOSE-<random>`` that labels the containers."""
    from understudy.replay.runner import RunSettings
    from understudy.replay.simulate import NO_SIMULATOR, SimulatorConfig

    return RunSettings(
        run_id=f"{purpose}-{uuid.uuid4().hex[:8]}",
        repo_mirrors=mirrors,
        simulator=SimulatorConfig(name=NO_SIMULATOR),
        **sandbox_settings(sandbox, False, False, None, allow_base_image, workspace),
    )


def parent_record(target: Path, trajectory: Trajectory) -> dict[str, Any]:
    """What a branch's run.json says of where it came from."""
    rollout: Rollout | None = trajectory.rollout
    return {
        "source": str(target),
        "session": trajectory.session.id,
        "rollout": rollout.id if rollout else None,
        "cut": trajectory.cut,
    }


def print_stepped(stepped: list[SteppedCall]) -> None:
    """Each call run on the way to a step: recorded vs live, and the diff when they differ."""
    out = console()
    for call in stepped:
        mark = {"matched": "green", "skipped": "dim"}.get(call.outcome, "yellow")
        reason = f" ({call.reason})" if call.reason else ""
        out.print(
            f"[{mark}]@{call.index} {call.planned.call.name}: {call.outcome}{reason}[/{mark}]"
        )
        if call.diff:
            out.print(call.diff, markup=False, highlight=False)


def report_state(repro: Reproduction) -> None:
    """Where the sandbox stands and how faithfully that state was rebuilt."""
    state = repro.state
    fidelity = "nothing re-executed" if state is None else _fidelity(state.matched, state.compared)
    stepped = f", then stepped live to {repro.step}" if repro.step != repro.built_step else ""
    console(stderr=True).print(
        f"{repro.trajectory.label}: at step {repro.step} of {len(repro.messages)} "
        f"(cut {repro.trajectory.cut}); state rebuilt at step {repro.built_step} with "
        f"{fidelity}{stepped}"
    )


def _fidelity(matched: int, compared: int) -> str:
    if not compared:
        return "no output to compare"
    return f"{matched}/{compared} recorded outputs reproduced"


@dataclass(frozen=True)
class Batch:
    """What the command line asks for instead of the prompt."""

    command: str | None
    branch: BranchRequest | None
    shell: bool

    @property
    def given(self) -> bool:
        return self.command is not None or self.branch is not None or self.shell


async def _non_interactive(
    repro: Reproduction, batch: Batch, settings: RunSettings, parent: dict[str, Any]
) -> int:
    """``--exec``, ``--shell`` and ``--branch``, in that order: the exit code (of the command,
    else of the shell)."""
    import asyncio

    code = 0
    if batch.command is not None:
        result = await repro.exec(batch.command)
        sys.stdout.write(result.output)
        code = result.exit_code
    if batch.shell:
        argv = repro.shell_command()
        if argv is None:
            raise ConfigError(
                "this sandbox backend has no interactive shell (use --sandbox docker)"
            )
        shell = await asyncio.to_thread(subprocess.run, argv, check=False)
        code = code or shell.returncode
    branch = batch.branch
    if branch is not None:
        summary = await branch_run(repro, branch, settings, parent)
        statuses = counts(summary["status"])
        console(stderr=True).print(f"branch written to {branch.output}: {statuses}")
        console().print(await judge_branch(branch.output))
    return code


def reproduce(
    target: Annotated[
        Path,
        typer.Argument(
            metavar="TARGET",
            help="A run directory (with ROLLOUT_ID or --flagged N), or a sessions file (with "
            "--session ID).",
        ),
    ],
    rollout_id: Annotated[
        str | None,
        typer.Argument(metavar="ROLLOUT_ID", help="The rollout of RUN_DIR to reproduce."),
    ] = None,
    flagged: Annotated[
        int | None, typer.Option(min=1, help="The N-th flagged rollout of a judged run.")
    ] = None,
    session_id: Annotated[
        str | None, typer.Option("--session", help="The session of SESSIONS_FILE.")
    ] = None,
    step: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Stand after the trajectory's first N messages (default: the first flagged "
            "message, else the cut).",
        ),
    ] = None,
    command: Annotated[
        str | None, typer.Option("--exec", help="Run CMD at that state, print its output, exit.")
    ] = None,
    shell: Annotated[
        bool,
        typer.Option(
            "--shell", help="Open an interactive shell in the container at that state; exit after."
        ),
    ] = False,
    branch: Annotated[
        bool, typer.Option("--branch", help="Continue from the step as a new run, then exit.")
    ] = False,
    model: Annotated[str | None, typer.Option(help="Branch: the candidate model.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Branch: its endpoint.")] = None,
    api_key_env: Annotated[str, typer.Option(help="Branch: its key's variable.")] = (
        "OPENAI_API_KEY"
    ),
    tools: Annotated[str | None, typer.Option(help="Branch: tool policy (see run).")] = None,
    samples: Annotated[int, typer.Option(min=1, help="Branch: rollouts.")] = 1,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Branch: the new run directory.")
    ] = None,
    sandbox: SandboxOption = "auto",
    allow_base_image: AllowBaseImageOption = False,
    envs: EnvsOption = None,
    repo_mirror: RepoMirrorOption = None,
    workspace: WorkspaceOption = "auto",
) -> None:
    """Reproduce one trajectory in a live sandbox at any step: look, step, shell in, branch.

    The environment is rebuilt as for run (--envs, --repo-mirror and --workspace apply), then
    the state after the trajectory's first N messages (--step N; by default the first flagged
    assistant message) by re-executing its state-changing calls, and the fidelity of that
    state is printed. Without --exec, --shell or --branch, a prompt opens: type help there.

    [dim]Examples: understudy reproduce runs/r1 --flagged 1 --exec 'git diff' ·
    understudy reproduce sessions.jsonl --session s1 --step 12 --branch --model m -o runs/b1[/dim]
    """
    import asyncio

    trajectory = load_target(target, rollout_id, flagged, session_id)
    if branch and output is None:
        raise typer.BadParameter("--branch needs --output")
    (session,), mirrors = environment_options([trajectory.session], envs, repo_mirror)
    trajectory.session = session
    settings = state_settings("reproduce", mirrors, sandbox, allow_base_image, workspace)
    request = (
        BranchRequest(output, model, base_url, api_key_env, tools, samples)
        if branch and output
        else None
    )
    batch = Batch(command, request, shell)
    code = asyncio.run(_reproduce(trajectory, target, settings, step, batch))
    raise typer.Exit(code)


async def _reproduce(
    trajectory: Trajectory, target: Path, settings: RunSettings, step: int | None, batch: Batch
) -> int:
    from understudy.replay.reproduce.workbench import Reproduction, state_runner

    with tempfile.TemporaryDirectory(prefix="understudy-reproduce-") as scratch:
        repro = Reproduction(trajectory, state_runner(settings, Path(scratch)))
        parent = parent_record(target, trajectory)
        try:
            await repro.goto(default_step(trajectory) if step is None else step)
            report_state(repro)
            if batch.given:
                return await _non_interactive(repro, batch, settings, parent)
            from understudy.reproduce_prompt import run_prompt  # it imports this module

            return await run_prompt(repro, settings, parent)
        finally:
            await repro.close()
