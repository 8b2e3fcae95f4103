"""The simulator's options (shared by ``run`` and ``simcheck``) and ``understudy simcheck``.

The work itself is :mod:`understudy.replay.simulate` (the simulators) and
:mod:`understudy.replay.simulate.simcheck` (the leave-one-out measurement).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from understudy.cli_common import console, load_sessions
from understudy.cli_reproduce import state_settings
from understudy.cli_sandbox import (
    AllowBaseImageOption,
    EnvsOption,
    RepoMirrorOption,
    SandboxOption,
    WorkspaceOption,
    environment_options,
)
from understudy.errors import ConfigError

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.replay.runner import RunSettings
    from understudy.replay.simulate import SimulatorConfig, Simulators
    from understudy.replay.simulate.simcheck import Comparison, PicksReal
    from understudy.trajectory import Session

SimulatorOption = Annotated[
    str,
    typer.Option(
        "--simulator",
        help="What answers the calls a tool policy sends to 'simulate': 'retrieval' (the best "
        "matching real result from the pair database, no model), 'llm' (a model given the tool, "
        "the call, real pairs and container facts), 'none', or a dotted path.",
    ),
]
PairsOption = Annotated[
    Path | None,
    typer.Option(
        "--pairs",
        help="Pair database of real calls and results (`understudy pairs build`); default: one "
        "built from the given sessions.",
    ),
]
SimulatorModelOption = Annotated[
    str | None, typer.Option("--simulator-model", help="Model of the llm simulator.")
]
SimulatorBaseUrlOption = Annotated[
    str | None,
    typer.Option("--simulator-base-url", help="OpenAI-compatible endpoint of the llm simulator."),
]
SimulatorKeyOption = Annotated[
    str,
    typer.Option(
        "--simulator-api-key-env", help="Environment variable holding the llm simulator's key."
    ),
]
SimulatorCacheOption = Annotated[
    Path | None,
    typer.Option(
        "--simulator-cache",
        help="JSONL cache of the llm simulator's replies by request hash, so that a rerun "
        "sends nothing it sent before (default for run: in the run directory).",
    ),
]


def simulator_config(
    name: str,
    pairs: Path | None,
    model: str | None,
    base_url: str | None,
    api_key_env: str,
    cache: Path | None,
    leave_out_session: bool = False,
) -> SimulatorConfig:
    """The simulator settings of the command line, checked before anything runs."""
    from understudy.endpoints import api_key_for, endpoint_url
    from understudy.replay.simulate import SIMULATORS, SimulatorConfig

    if name not in ("none", *SIMULATORS.names()) and "." not in name and ":" not in name:
        valid = ", ".join(["none", *SIMULATORS.names()])
        raise typer.BadParameter(f"unknown simulator {name!r}; valid: {valid} (or a dotted path)")
    if name == "llm" and not model:
        raise typer.BadParameter("--simulator llm needs --simulator-model")
    if name == "llm":
        api_key_for(endpoint_url(base_url), api_key_env)  # no key: an error before any work
    if pairs is not None and not pairs.is_file():
        raise ConfigError(f"{pairs}: no such pair database (`understudy pairs build` makes one)")
    return SimulatorConfig(
        name=name,
        pairs=pairs,
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        cache=cache,
        leave_out_session=leave_out_session,
    )


def simcheck(
    sessions_files: Annotated[
        list[Path], typer.Argument(metavar="SESSIONS...", help="JSONL files of sessions.")
    ],
    pairs: PairsOption = None,
    simulator: SimulatorOption = "retrieval",
    simulator_model: SimulatorModelOption = None,
    simulator_base_url: SimulatorBaseUrlOption = None,
    simulator_api_key_env: SimulatorKeyOption = "SIMULATOR_API_KEY",
    simulator_cache: SimulatorCacheOption = None,
    discriminator_model: Annotated[
        str | None,
        typer.Option(
            help="Also ask this model, shown each call's context and both results in random "
            "order, which one is real; its accuracy is reported (chance = 50%)."
        ),
    ] = None,
    discriminator_base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint of the discriminator.")
    ] = None,
    discriminator_api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the discriminator's key.")
    ] = "DISCRIMINATOR_API_KEY",
    seed: Annotated[int, typer.Option(help="Seed of the discriminator's A/B order.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Calls simulated at once.")] = 4,
    in_sandbox: Annotated[
        bool,
        typer.Option(
            "--in-sandbox",
            help="Rebuild each session's environment and stand it where each call was made "
            "(earlier calls run live), so that the simulator's container reads and file "
            "overlay are measured as they work in a run; --envs, --repo-mirror, "
            "--allow-base-image and --workspace apply.",
        ),
    ] = False,
    sandbox: SandboxOption = "auto",
    allow_base_image: AllowBaseImageOption = False,
    envs: EnvsOption = None,
    repo_mirror: RepoMirrorOption = None,
    workspace: WorkspaceOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    details: Annotated[
        Path | None, typer.Option(help="Write one JSON line per compared call to this file.")
    ] = None,
) -> None:
    """Measure how realistic a simulator is on real logs, leaving each result out.

    Every recorded call is simulated from the messages before it, with the pair database
    holding nothing of its own session, and compared with what was recorded: [bold]exit
    agreement[/bold] (both failed or both succeeded) and [bold]similarity[/bold] of the
    normalised texts (0 to 1), overall, per tool and per format. With
    [bold]--discriminator-model[/bold], a model also tries to tell the real result from the
    simulated one; an accuracy near 50% means it cannot.

    [bold]Exit codes[/bold]: 0 every call was simulated or had nothing to go on; 1 bad input;
    3 some calls failed to simulate (an endpoint down), counted as unanswered.

    [dim]Example: understudy simcheck sessions.jsonl --pairs pairs.db --json[/dim]
    """
    from understudy.replay.pairs import build_from_sessions
    from understudy.replay.simulate.simcheck import summarize

    sessions, mirrors = environment_options(load_sessions(sessions_files), envs, repo_mirror)
    sandboxes = (
        state_settings("simcheck", mirrors, sandbox, allow_base_image, workspace)
        if in_sandbox
        else None
    )
    config = simulator_config(
        simulator,
        pairs,
        simulator_model,
        simulator_base_url,
        simulator_api_key_env,
        simulator_cache,
        leave_out_session=True,
    )
    with tempfile.TemporaryDirectory(prefix="understudy-simcheck-") as scratch:
        if config.pairs is None:
            config.pairs = Path(scratch) / "pairs.db"
            # A scratch database, gone with the command: the sessions' own privacy stands.
            sources = ((str(sessions_files[0]), session) for session in sessions)
            build_from_sessions(config.pairs, sources, check=False)
        discriminator = _discriminator(
            discriminator_model, discriminator_base_url, discriminator_api_key_env, seed
        )
        comparisons = _check_with_progress(sessions, config, discriminator, concurrency, sandboxes)
    summary = with_interval(summarize(comparisons))
    summary["simulator"] = config.name
    summary["in_sandbox"] = in_sandbox
    if details is not None:
        with details.open("w", encoding="utf-8") as handle:
            for comparison in comparisons:
                handle.write(json.dumps(comparison.__dict__) + "\n")
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    _exit_on_errors(comparisons)


FAILED_CALLS_EXIT = 3
"""Exit code of a simcheck in which some calls failed to simulate (its figures count them as
unanswered, so they understate the simulator)."""


def _exit_on_errors(comparisons: list[Comparison]) -> None:
    failed = [comparison for comparison in comparisons if comparison.error]
    if not failed:
        return
    console(stderr=True).print(
        f"[bold yellow]warning[/bold yellow]: {len(failed)} of {len(comparisons)} call(s) failed "
        f"to simulate and count as unanswered; the first: {failed[0].error}"
    )
    raise typer.Exit(FAILED_CALLS_EXIT)


def _discriminator(
    model: str | None, base_url: str | None, api_key_env: str, seed: int
) -> PicksReal | None:
    if model is None:
        return None
    from understudy.replay.simulate.discriminator import Discriminator
    from understudy.replay.simulate.endpoint import SimulatorEndpoint

    endpoint = SimulatorEndpoint(model, base_url=base_url, api_key_env=api_key_env)
    return Discriminator(endpoint, seed=seed)


def _check_with_progress(
    sessions: list[Session],
    config: SimulatorConfig,
    discriminator: PicksReal | None,
    concurrency: int,
    sandboxes: RunSettings | None = None,
) -> list[Comparison]:
    import asyncio

    from rich.progress import Progress

    from understudy.replay.simulate import Simulators
    from understudy.replay.simulate.simcheck import check_sessions

    total = sum(1 for session in sessions for _ in session.answered_calls())

    async def checked() -> list[Comparison]:
        simulators = Simulators(config)
        advance = lambda _: bar.advance(task)  # noqa: E731
        try:
            if sandboxes is None:
                return await check_sessions(
                    sessions, simulators, discriminator, concurrency, advance
                )
            found: list[Comparison] = []
            for session in sessions:
                found += await _in_sandbox(session, simulators, discriminator, sandboxes, advance)
            return found
        finally:
            await simulators.close()
            if discriminator is not None:
                await discriminator.close()

    with Progress(*Progress.get_default_columns(), console=console(stderr=True)) as bar:
        task = bar.add_task("simulating recorded calls", total=total)
        return asyncio.run(checked())


async def _in_sandbox(
    session: Session,
    simulators: Simulators,
    discriminator: PicksReal | None,
    settings: RunSettings,
    advance: Callable[[Comparison], None],
) -> list[Comparison]:
    """One session's calls simulated in its rebuilt environment, stepped call by call (see
    :func:`~understudy.replay.simulate.simcheck.check_session_in_sandbox`)."""
    from understudy.replay.reproduce import Reproduction, of_session
    from understudy.replay.reproduce.workbench import state_runner
    from understudy.replay.simulate.simcheck import check_session_in_sandbox

    with tempfile.TemporaryDirectory(prefix="understudy-simcheck-") as scratch:
        stand = Reproduction(of_session(session), state_runner(settings, Path(scratch)))
        try:
            return await check_session_in_sandbox(
                session, simulators, stand, discriminator, advance
            )
        finally:
            await stand.close()


def with_interval(summary: dict[str, Any]) -> dict[str, Any]:
    """The discriminator's accuracy and its 95% Jeffreys interval, added to ``summary``."""
    from understudy.judges.stats import jeffreys_interval

    found = summary.get("discriminator")
    if found:
        low, high = jeffreys_interval(found["correct"], found["n"])
        found["accuracy"] = round(found["correct"] / found["n"], 4)
        found["interval_95"] = [round(low, 4), round(high, 4)]
    return summary


def _print_summary(summary: dict[str, Any]) -> None:
    out = console()
    for title, groups in (
        ("overall", {"all calls": summary["overall"]}),
        ("per tool", summary["per_tool"]),
        ("per format", summary["per_format"]),
    ):
        table = Table(title=title, show_edge=False)
        for column in ("", "calls", "answered", "exit agreement", "similarity"):
            table.add_column(column, justify="left" if not column else "right")
        for name, figures in groups.items():
            table.add_row(
                name,
                str(figures["calls"]),
                str(figures["answered"]),
                _share(figures["exit_agreement"]),
                _share(figures["similarity"]),
            )
        out.print(table)
    if summary.get("in_sandbox"):
        out.print(
            f"{summary['in_sandbox_calls']} of {summary['overall']['calls']} call(s) simulated "
            "with the session's sandbox at their step (the others: its environment could not "
            "be had there; see --details)"
        )
    found = summary.get("discriminator")
    if found:
        low, high = found["interval_95"]
        out.print(
            f"discriminator picked the real result in {found['correct']} of {found['n']} "
            f"({found['accuracy']:.1%}, 95% interval {low:.1%}-{high:.1%}; chance is 50%)"
        )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
