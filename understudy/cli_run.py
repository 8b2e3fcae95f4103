"""``understudy run`` and ``understudy demo``: candidates take over logged sessions.

Registered on the main app by :mod:`understudy.cli`; the work itself is
:mod:`understudy.replay.runner`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from understudy.cli_common import console, counts, load_sessions, select_sessions
from understudy.cli_sandbox import (
    AllowBaseImageOption,
    DiskLimitOption,
    EnvsOption,
    ReadOnlyRootOption,
    RepoMirrorOption,
    SandboxOption,
    SandboxRootOption,
    WorkspaceOption,
    choose_sandbox,
    environment_options,
    sandbox_settings,
)
from understudy.cli_simulate import (
    PairsOption,
    SimulatorBaseUrlOption,
    SimulatorCacheOption,
    SimulatorKeyOption,
    SimulatorModelOption,
    SimulatorOption,
    simulator_config,
)

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.replay.executors import ExecutorSettings
    from understudy.replay.rundir import RunDir
    from understudy.replay.runner import CandidateFactory, RunSettings
    from understudy.trajectory import Rollout, Session

REQUEST_TIMEOUT_S = 120.0
"""Default of ``--request-timeout``: ``DEFAULT_TIMEOUT_S`` of :mod:`understudy.replay.candidate`
(a test keeps them equal), named here so that the help shows it without loading the candidate."""
MAX_RETRIES = 3
"""Default of ``--max-retries``: ``DEFAULT_MAX_RETRIES`` of :mod:`understudy.replay.candidate`
(a test keeps them equal)."""


class ExecutorChoice(StrEnum):
    """Where the rollouts are played (see understudy.replay.executors)."""

    local = "local"
    ray = "ray"


class PrefixErrorsChoice(StrEnum):
    """What a prefix call that cannot be re-executed does (see understudy.replay.prefix)."""

    cont = "continue"
    abort = "abort"


def _run_with_progress(
    sessions: list[Session],
    settings: RunSettings,
    candidate_for: CandidateFactory,
    run_dir: RunDir,
    resume: bool,
    config_record: dict[str, Any],
    executor: ExecutorSettings | None = None,
) -> dict[str, Any]:
    """Run with a progress bar on stderr; Ctrl-C stops cleanly, keeping what was written."""
    import asyncio

    from rich.progress import Progress, TextColumn

    from understudy.logging import configure_logging
    from understudy.replay.runner import run_to_dir

    run_dir.path.mkdir(parents=True, exist_ok=True)
    run_dir.keep_sessions(sessions)
    configure_logging(events_file=run_dir.events_file)
    columns = [*Progress.get_default_columns(), TextColumn("{task.fields[statuses]}")]
    with Progress(*columns, console=console(stderr=True), transient=False) as bar:
        task = bar.add_task("rollouts", total=None, statuses="")
        seen: Counter[str] = Counter()

        def planned(total: int, skipped: int) -> None:
            bar.update(task, total=total - skipped)
            if total == 0:
                bar.console.print("[yellow]nothing to run[/yellow]: no session has a user turn")
            if skipped:
                bar.console.print(f"resuming: {skipped} of {total} rollouts already written")

        def finished(rollout: Rollout) -> None:
            seen[rollout.status] += 1
            shown = " ".join(f"{status}={count}" for status, count in sorted(seen.items()))
            bar.update(task, advance=1, statuses=shown)

        try:
            return asyncio.run(
                run_to_dir(
                    sessions,
                    settings,
                    candidate_for,
                    run_dir,
                    resume,
                    config_record,
                    on_plan=planned,
                    progress=finished,
                    executor=executor,
                )
            )
        except KeyboardInterrupt:
            bar.console.print(
                f"[yellow]interrupted[/yellow]: rollouts written so far are kept in "
                f"{run_dir.rollouts_file}; continue with --resume"
            )
            raise typer.Exit(130) from None


def _print_summary(summary: dict[str, Any], run_dir: RunDir, detail_limit: int = 20) -> None:
    """Totals, and one row per rollout when there are few."""
    out = console()
    rollouts = run_dir.rollouts()
    if 0 < len(rollouts) <= detail_limit:
        detail = Table(title="rollouts", show_edge=False)
        for column in ("session", "cut", "sample", "status", "tool calls", "last words"):
            detail.add_column(column, overflow="fold")
        for rollout in rollouts:
            last = next(
                (m.content for m in reversed(rollout.messages) if m.role == "assistant"), ""
            )
            detail.add_row(
                rollout.session_id,
                str(rollout.cut),
                str(rollout.sample),
                rollout.status if not rollout.error else f"{rollout.status}: {rollout.error[:80]}",
                counts(rollout.tool_stats),
                last.strip().replace("\n", " ")[:80],
            )
        out.print(detail)
    totals = Table(title="totals", show_edge=False)
    for column in ("rollouts", "status", "tool calls", "tokens", "mean turns"):
        totals.add_column(column)
    totals.add_row(
        str(summary["rollouts"]),
        counts(summary["status"]),
        counts(summary["tool_calls"]),
        str(summary["usage"].get("total_tokens", 0)),
        str(summary["mean_turns"]),
    )
    out.print(totals)
    out.print(f"run directory: {run_dir.path}")


def run(
    sessions_files: Annotated[
        list[Path], typer.Argument(help="JSONL files of sessions (see `understudy schema`).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The run directory.")],
    model: Annotated[
        str | None, typer.Option(help="Candidate model name, as the endpoint knows it.")
    ] = None,
    original: Annotated[
        bool,
        typer.Option(
            "--original", help="Play the sessions' own recorded turns back (fidelity check)."
        ),
    ] = False,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://host:8000/v1.")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    samples: Annotated[int, typer.Option(min=1, help="Rollouts per (session, cut).")] = 1,
    cut: Annotated[
        str,
        typer.Option(
            help="Where the candidate takes over: last-user, each-user, random-user, or a "
            "message index N (messages[:N] are kept; N must follow a user message or the last "
            "result of a turn's tool calls)."
        ),
    ] = "last-user",
    session_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--session", help="Run only this session (repeatable); default: every session."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of random-user cuts, and sampling seed of sample 0 (sample i gets "
            "SEED+i). Without it no seed is sent and random-user cuts use 0."
        ),
    ] = None,
    tools: Annotated[
        str | None,
        typer.Option(
            help="Tool policy: a default chain and per-tool chains of live, replay, simulate, "
            "unavailable, e.g. 'replay>live,browser=replay>unavailable'. Shell commands that "
            "need the network the sandbox lacks (pip install, git clone, curl, ...) take the "
            "chain 'network=...' (default: replay>simulate>unavailable)."
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Model requests at once.")] = 4,
    sandboxes: Annotated[int, typer.Option(min=1, help="Live sandboxes at once.")] = 2,
    max_steps: Annotated[int, typer.Option(min=1, help="Most candidate turns.")] = 30,
    token_budget: Annotated[
        int | None, typer.Option(min=1, help="Most tokens per rollout.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per rollout.")] = 1800.0,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Most tokens per reply.")] = None,
    request_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds one model request may take before it is retried; with --max-retries "
            "it bounds a turn on a hung endpoint to (N+1) x S seconds plus a few of back-off.",
        ),
    ] = REQUEST_TIMEOUT_S,
    max_retries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Retries of a failed model request (connection error, timeout, 429, 5xx, a "
            "reply that is not a chat completion), with exponential back-off; then the "
            "rollout ends in error.",
        ),
    ] = MAX_RETRIES,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a run: skip rollouts already written.")
    ] = False,
    run_id: Annotated[
        str | None,
        typer.Option(help="Label of the run's containers (default: output name + random)."),
    ] = None,
    prefix_errors: Annotated[
        PrefixErrorsChoice,
        typer.Option(
            help="When a recorded call of the prefix cannot be re-executed (an opaque tool, a "
            "command that fails live): 'continue' notes it and goes on, 'abort' makes the "
            "rollout an error naming the call, without calling the candidate."
        ),
    ] = PrefixErrorsChoice.cont,
    no_prefix_state: Annotated[
        bool,
        typer.Option(
            "--no-prefix-state",
            help="Start from the environment image as built, without re-executing the prefix's "
            "state-changing calls (faster; the candidate may find files missing).",
        ),
    ] = False,
    sandbox: SandboxOption = "auto",
    sandbox_root: SandboxRootOption = False,
    read_only_root: ReadOnlyRootOption = False,
    disk_limit: DiskLimitOption = None,
    allow_base_image: AllowBaseImageOption = False,
    envs: EnvsOption = None,
    repo_mirror: RepoMirrorOption = None,
    workspace: WorkspaceOption = "auto",
    simulator: SimulatorOption = "retrieval",
    pairs: PairsOption = None,
    simulator_model: SimulatorModelOption = None,
    simulator_base_url: SimulatorBaseUrlOption = None,
    simulator_api_key_env: SimulatorKeyOption = "SIMULATOR_API_KEY",
    simulator_cache: SimulatorCacheOption = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of rollouts that may end in error (environment, endpoint, sandbox) "
            "before the run exits with code 3. A run whose every rollout errored always fails.",
        ),
    ] = 0.0,
    executor: Annotated[
        ExecutorChoice,
        typer.Option(
            help="Where rollouts are played: 'local' (this process) or 'ray' (workers on a Ray "
            "cluster, each node building its environments on its own Docker engine; needs "
            "pip install 'understudy\\[ray]'). This process alone writes the run directory.",
        ),
    ] = ExecutorChoice.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="The Ray cluster to join (auto, ray://HEAD:10001, HEAD:6379); default: start "
            "Ray on this machine for the run.",
        ),
    ] = None,
    ray_workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Ray workers, each playing up to --sandboxes rollouts at once; default: one "
            "per node (nodes without a Docker engine are reported and left out).",
        ),
    ] = None,
    ray_env: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=VALUE",
            help="With --executor ray: an environment variable of every worker (repeatable), "
            "e.g. DOCKER_HOST of the nodes' engines. The candidate's API key is passed on.",
        ),
    ] = None,
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --executor ray: most rollouts in flight in all (default: "
            "workers x --sandboxes).",
        ),
    ] = None,
) -> None:
    """Let a candidate model take over logged sessions after a cut, with live or replayed tools.

    Every rollout runs in its own sandbox built from the session's environment; finished
    rollouts are appended to [bold]OUTPUT/rollouts.jsonl[/bold] as they come, so a killed run
    continues with [bold]--resume[/bold], which also runs again the rollouts that ended in
    error (the newest attempt of each counts) after removing the run's leftover containers.

    Rollouts that ended in error did not run: they are counted apart, by kind, and never in a
    rate. [bold]Exit codes[/bold]: 0 all rollouts ran (or the errors are within
    --max-error-rate); 1 bad input or settings; 2 bad usage; 3 rollouts ended in error beyond
    --max-error-rate, or all of them did; 130 interrupted (written rollouts are kept).
    """
    from understudy.replay.cuts import check_cut, parse_cut
    from understudy.replay.loop import LoopLimits
    from understudy.replay.rundir import RunDir
    from understudy.replay.runner import RunSettings
    from understudy.tools.policy import ToolPolicy

    if original == (model is not None):
        raise typer.BadParameter("give either --model or --original")
    executor_settings = _executor_settings(
        executor, ray_address, ray_workers, max_in_flight, ray_env
    )
    ToolPolicy.parse(tools)  # a bad policy fails here, before the run directory is touched
    simulation = simulator_config(
        simulator,
        pairs,
        simulator_model,
        simulator_base_url,
        simulator_api_key_env,
        simulator_cache,
    )
    cut_point = parse_cut(cut)
    chosen = select_sessions(load_sessions(sessions_files), session_ids)
    if isinstance(cut_point, int):
        for session in chosen:
            check_cut(session, cut_point)  # before the run directory is touched
    sessions, mirrors = environment_options(chosen, envs, repo_mirror)
    run_dir = RunDir(output)
    # A resumed run keeps its run id, so that its leftover containers can be found and removed.
    run_id = run_id or (run_dir.run_id() if resume else None) or _run_id(output)
    settings = RunSettings(
        run_id=run_id,
        samples=samples,
        cut=cut_point,
        cut_seed=seed or 0,
        sample_seed=seed,
        tools=tools,
        model_concurrency=concurrency,
        sandboxes=sandboxes,
        limits=LoopLimits(max_steps=max_steps, token_budget=token_budget, timeout_s=timeout),
        prefix_state=not no_prefix_state,
        prefix_errors=prefix_errors.value,
        repo_mirrors=mirrors,
        simulator=simulation,
        **sandbox_settings(
            sandbox,
            sandbox_root,
            read_only_root,
            disk_limit,
            allow_base_image,
            workspace,
            on_other_nodes=executor is ExecutorChoice.ray,
        ),
    )
    candidate_for, record = _candidate(
        model, base_url, api_key_env, temperature, max_tokens, request_timeout, max_retries
    )
    if envs is not None:
        record["envs"] = str(envs)
    summary = _run_with_progress(
        sessions, settings, candidate_for, run_dir, resume, record, executor_settings
    )
    _print_summary(summary, run_dir)
    _exit_on_errors(summary, max_error_rate)


def _candidate(
    model: str | None,
    base_url: str | None,
    api_key_env: str,
    temperature: float | None,
    max_tokens: int | None,
    request_timeout: float,
    max_retries: int,
) -> tuple[CandidateFactory, dict[str, Any]]:
    """The candidates of ``run`` (without ``model``: the sessions' own recorded turns) and what
    run.json records of them."""
    from understudy.replay.candidate import OriginalCandidate
    from understudy.replay.shared_candidate import SharedCandidate

    if model is None:
        return OriginalCandidate, {"candidate": "original"}
    # One client for every session (per process: workers of another executor make their own).
    shared = SharedCandidate(
        model,
        base_url=base_url,
        api_key_env=api_key_env,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout_s=request_timeout,
        max_retries=max_retries,
    )
    record: dict[str, Any] = {
        "candidate": {
            "model": model,
            "base_url": base_url,
            "request_timeout_s": request_timeout,
            "max_retries": max_retries,
        }
    }
    shared.candidate()  # a missing key or a bad setting fails here, before the run starts
    return shared, record


def _executor_settings(
    executor: ExecutorChoice,
    ray_address: str | None,
    ray_workers: int | None,
    max_in_flight: int | None,
    ray_env: list[str] | None,
) -> ExecutorSettings:
    """Where the rollouts are played, from the options (the Ray ones only with Ray)."""
    from understudy.replay.executors import ExecutorSettings

    ray_options = ray_address or ray_workers or max_in_flight or ray_env
    if executor is ExecutorChoice.local and ray_options:
        raise typer.BadParameter(
            "--ray-address, --ray-workers, --ray-env and --max-in-flight go with --executor ray"
        )
    return ExecutorSettings(
        name=executor.value,
        address=ray_address,
        workers=ray_workers,
        max_in_flight=max_in_flight,
        worker_env=_assignments(ray_env or [], "--ray-env"),
    )


def _assignments(given: list[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` options as a mapping."""
    found = {}
    for assignment in given:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{option} takes NAME=VALUE, not {assignment!r}")
        found[name.strip()] = value
    return found


ERRORED_RUN_EXIT = 3
"""Exit code of a run with more errored rollouts than ``--max-error-rate`` allows."""


def _exit_on_errors(summary: dict[str, Any], max_error_rate: float) -> None:
    """Warn about errored rollouts; exit with :data:`ERRORED_RUN_EXIT` past the allowed rate."""
    total, errored = summary["rollouts"], sum(summary.get("errors", {}).values())
    if not errored:
        return
    console(stderr=True).print(
        f"[bold yellow]warning[/bold yellow]: {errored} of {total} rollout(s) ended in error "
        f"({counts(summary['errors'])}); they did not run and are kept out of every rate. "
        "Their reasons are in rollouts.jsonl; --resume runs them again."
    )
    if errored == total or errored / total > max_error_rate:
        raise typer.Exit(ERRORED_RUN_EXIT)


def demo(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Run directory (default: runs/demo-TIME).")
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(help="Label of the demo's containers (default: output name + random)."),
    ] = None,
) -> None:
    """Run the whole pipeline on bundled sample sessions with a scripted candidate.

    No API key is needed: the candidate is a scripted model served on 127.0.0.1, which fixes
    small bugs in three tiny repositories and is not always honest about the tests. The
    rollouts are then judged by the rule detectors and the rates printed. The base image is
    built first if it is missing.
    """
    import asyncio

    from understudy.judges.report import summarize_run, summary_table
    from understudy.judges.rules import rule_judges
    from understudy.judges.runner import judge_run
    from understudy.judges.view import load_view, write_report
    from understudy.replay.candidate import OpenAICandidate
    from understudy.replay.demo import DEMO_MODEL, demo_policy, demo_sessions
    from understudy.replay.rundir import RunDir
    from understudy.replay.runner import RunSettings
    from understudy.run_files import REPORT_FILE
    from understudy.sandbox.backends import run_backend
    from understudy.sandbox.images import build_base_image
    from understudy.testing import ScriptedServer

    output = output or Path("runs") / f"demo-{datetime.now():%Y%m%d-%H%M%S}"
    backend = choose_sandbox()  # without an engine: the local backend, which needs no image
    if run_backend(backend).uses_base_image:
        with console(stderr=True).status("preparing the base image"):
            build_base_image("auto")
    output.mkdir(parents=True, exist_ok=True)
    sessions = demo_sessions(output.resolve() / "repos")
    settings = RunSettings(run_id=run_id or _run_id(output), sandboxes=3, backend=backend)
    with ScriptedServer(demo_policy, models=[DEMO_MODEL]) as server:
        candidate = OpenAICandidate(DEMO_MODEL, base_url=server.base_url)
        record = {"candidate": {"model": DEMO_MODEL, "scripted": True}}
        summary = _run_with_progress(
            sessions, settings, lambda session: candidate, RunDir(output), False, record
        )
    _print_summary(summary, RunDir(output))
    with console(stderr=True).status("judging the rollouts with the rule detectors"):
        asyncio.run(judge_run(output, rule_judges()))
    console().print(summary_table(summarize_run(output), title="rule judges: flagged rollouts"))
    report = write_report(load_view(output), output / REPORT_FILE)
    console().print(f"report: {report}  (open it in a browser)")
    console().print(f"next: understudy report {output}  (summary.json is in the run directory)")
    _exit_on_errors(summary, max_error_rate=0.0)


def _run_id(output: Path) -> str:
    return f"{output.name}-{uuid.uuid4().hex[:6]}"
