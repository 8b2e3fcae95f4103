"""``understudy suite``: regression suites for tool-use honesty (list, run, selftest).

Exit codes of ``suite run`` and ``suite selftest``, for CI: 0 when every scenario passed (for
selftest: the honest candidate passed every scenario and the dishonest one failed every
scenario that targets the candidate), 1 when an expectation failed, 2 on harness errors: a
scenario that could not be run or judged, a suite or scenario file that is not valid, an
unknown option. Errors win over failures: a run with both exits 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from understudy.cli_common import console
from understudy.cli_sandbox import SandboxOption, choose_sandbox
from understudy.errors import UnderstudyError

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.judges.base import Judge
    from understudy.judges.llm import LLMJudge
    from understudy.scenarios.expect import ScenarioResult
    from understudy.scenarios.load import Suite
    from understudy.scenarios.model import Scenario
    from understudy.scenarios.run import SuiteRunSettings

PASSED, FAILED, HARNESS_ERROR = 0, 1, 2
"""Exit codes of ``suite run`` and ``suite selftest``."""

suite_app = typer.Typer(
    help="Regression suites for tool-use honesty: scenarios with forced tool results and "
    "expectations, for CI.",
    no_args_is_help=True,
)

SuiteOption = Annotated[
    str,
    typer.Option(
        "--suite",
        "-s",
        help="A shipped suite's name (honesty) or the path of a suite folder (with suite.yaml).",
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Output directory (default: runs/suite-NAME-TIME): one run "
        "directory per scenario and suite.json.",
    ),
]
RunIdOption = Annotated[
    str | None,
    typer.Option(help="Label of the suite's containers (default: suite- and a random suffix)."),
]
JunitOption = Annotated[
    Path | None, typer.Option("--junit", metavar="FILE", help="Write JUnit XML here.")
]


def _guarded(work: Any) -> Any:
    """Run ``work``; an understudy error is a harness error (exit 2), never a pass."""
    try:
        return work()
    except UnderstudyError as error:
        console(stderr=True).print(Text(f"error: {error}", style="bold red"))
        raise typer.Exit(HARNESS_ERROR) from None


@suite_app.command("list")
def list_scenarios(
    suite: SuiteOption = "honesty",
    details: Annotated[
        bool, typer.Option("--details", help="Also each scenario's description and origin.")
    ] = False,
) -> None:
    """List a suite's scenarios: the harness each session comes from and what each expects."""
    from understudy.scenarios.load import load_suite, shipped_suites

    loaded: Suite = _guarded(lambda: load_suite(suite))
    out = console()
    table = Table(title=f"suite {loaded.name} ({loaded.path})", show_edge=False)
    table.add_column("scenario", no_wrap=True)
    table.add_column("harness", no_wrap=True)
    table.add_column("samples", justify="right")
    table.add_column("expects", overflow="fold")
    for scenario in loaded.scenarios:
        source = loaded.session_of(scenario).source
        table.add_row(
            scenario.name,
            source.format if source.format != "native" else source.agent or "native",
            str(scenario.samples),
            _expects(scenario),
        )
    out.print(table)
    if details:
        for scenario in loaded.scenarios:
            out.print(f"\n[bold]{scenario.name}[/bold]: " + " ".join(scenario.description.split()))
            if scenario.origin:
                out.print("  origin: " + " ".join(scenario.origin.split()), markup=False)
    shipped = ", ".join(shipped_suites())
    out.print(f"{len(loaded.scenarios)} scenario(s); shipped suites: {shipped}")


def _expects(scenario: Scenario) -> str:
    expect = scenario.expect
    parts = []
    if expect.not_flagged:
        parts.append("not " + ", ".join(item.category for item in expect.not_flagged))
    if expect.flagged:
        parts.append("flagged " + ", ".join(item.category for item in expect.flagged))
    parts += [f"{check.kind} {check.value}" for check in expect.state]
    return "; ".join(parts)


@suite_app.command("run")
def run(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Scenarios to run (default: all of the suite).", show_default=False),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="The candidate model. scripted:honest and scripted:dishonest are the built-in "
            "scripted candidates (no endpoint needed)."
        ),
    ] = "",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint of the candidate.")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the endpoint's API key.")
    ] = "OPENAI_API_KEY",
    suite: SuiteOption = "honesty",
    samples: Annotated[
        int | None,
        typer.Option(min=1, help="Rollouts per scenario (default: each scenario's own)."),
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    request_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds one candidate request may take.")
    ] = 600.0,
    max_retries: Annotated[
        int, typer.Option(min=0, help="Retries of a failed candidate request.")
    ] = 4,
    junit: JunitOption = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="An earlier suite run's output directory: its outcomes are shown beside these, "
            "and scenarios that passed there and fail here are marked as regressions.",
        ),
    ] = None,
    output: OutputOption = None,
    judge_model: Annotated[
        str | None,
        typer.Option(help="Also judge with this LLM (needed for categories no rule covers)."),
    ] = None,
    judge_base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint of the LLM judge.")
    ] = None,
    sandbox: SandboxOption = "auto",
    parallel: Annotated[int, typer.Option(min=1, help="Scenarios run at once.")] = 2,
    run_id: RunIdOption = None,
) -> None:
    """Run a suite's scenarios against a candidate, judge them and check their expectations.

    Each scenario runs in a sandbox with its forced tool results; its rollouts are judged by
    the rule detectors (and the LLM judge with [bold]--judge-model[/bold]); a table shows what
    passed, and failures come with the flagged evidence.

    Exit codes: 0 every scenario passed; 1 an expectation failed; 2 a harness error (a scenario
    could not run or be judged, an invalid suite): errors win over failures.

    [dim]Example: understudy suite run --model my-model --base-url http://127.0.0.1:8000/v1
    --junit suite.xml[/dim]
    """
    from understudy.scenarios.junit import junit_document, write_junit
    from understudy.scenarios.load import load_suite
    from understudy.scenarios.run import SuiteRunSettings, read_results

    if not model:
        raise typer.BadParameter("give the candidate model", param_hint="--model")
    loaded: Suite = _guarded(lambda: load_suite(suite))
    chosen: list[Scenario] = _guarded(lambda: loaded.select(names or []))
    before = _guarded(lambda: read_results(baseline)) if baseline is not None else None
    settings = SuiteRunSettings(
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        samples=samples,
        temperature=temperature,
        request_timeout_s=request_timeout,
        max_retries=max_retries,
        backend=_guarded(lambda: _ready_backend(sandbox)),
        parallel=parallel,
        run_id=run_id,
    )
    output = output or _default_output(loaded.name)
    results = _run(loaded, chosen, settings, output, judge_model, judge_base_url, model)
    _print_results(results, before)
    if junit is not None:
        document = junit_document(loaded.name, results, _properties(loaded, settings))
        write_junit(junit, [document])
        console().print(f"JUnit XML: {junit}")
    console().print(f"results: {output / 'suite.json'}")
    raise typer.Exit(_exit_code(results))


@suite_app.command("selftest")
def selftest(
    suite: SuiteOption = "honesty",
    output: OutputOption = None,
    junit: JunitOption = None,
    sandbox: SandboxOption = "auto",
    parallel: Annotated[int, typer.Option(min=1, help="Scenarios run at once.")] = 2,
    run_id: RunIdOption = None,
) -> None:
    """Check the suite itself with two built-in scripted candidates.

    The honest one must pass every scenario; the dishonest one must fail every scenario that
    targets the candidate (judge self-tests on a recorded continuation must pass for both).
    Exit codes as for [bold]suite run[/bold].
    """
    from understudy.scenarios.junit import junit_document, write_junit
    from understudy.scenarios.load import load_suite
    from understudy.scenarios.run import SuiteRunSettings
    from understudy.scenarios.scripted import ROLES, SCRIPTED_PREFIX

    loaded: Suite = _guarded(lambda: load_suite(suite))
    backend = _guarded(lambda: _ready_backend(sandbox))
    output = output or _default_output(f"{loaded.name}-selftest")
    documents = []
    verdicts: list[tuple[str, ScenarioResult, bool]] = []
    by_name = {scenario.name: scenario for scenario in loaded.scenarios}
    for role in ROLES:
        settings = SuiteRunSettings(
            model=SCRIPTED_PREFIX + role,
            backend=backend,
            parallel=parallel,
            run_id=f"{run_id}-{role}" if run_id else None,
        )
        console().print(f"[bold]{role} candidate[/bold]")
        results = _run(loaded, loaded.scenarios, settings, output / role, None, None, role)
        documents.append(
            junit_document(loaded.name, results, _properties(loaded, settings), label=role)
        )
        for result in results:
            verdicts.append((role, result, _as_expected(role, by_name[result.name], result)))
    _print_selftest(verdicts)
    if junit is not None:
        write_junit(junit, documents)
        console().print(f"JUnit XML: {junit}")
    if any(result.status == "error" for _, result, _ in verdicts):
        raise typer.Exit(HARNESS_ERROR)
    raise typer.Exit(PASSED if all(ok for _, _, ok in verdicts) else FAILED)


def _as_expected(role: str, scenario: Scenario, result: ScenarioResult) -> bool:
    """Whether a selftest candidate's outcome is the one the suite promises."""
    if role == "honest" or not scenario.targets_candidate:
        return result.status == "passed"
    return result.status == "failed"


def _ready_backend(choice: str) -> str:
    from understudy.sandbox.backends import run_backend
    from understudy.sandbox.images import build_base_image

    backend = choose_sandbox(choice)
    if run_backend(backend).uses_base_image:
        with console(stderr=True).status("preparing the base image"):
            build_base_image("auto")
    return backend


def _default_output(name: str) -> Path:
    return Path("runs") / f"suite-{name}-{datetime.now():%Y%m%d-%H%M%S}"


def _judges_factory(
    scenarios: Sequence[Scenario], judge_model: str | None, judge_base_url: str | None
) -> tuple[Any, LLMJudge | None]:
    from understudy.judges.llm import LLMJudge
    from understudy.judges.rules import rule_judges
    from understudy.judges.taxonomy import load_taxonomy
    from understudy.scenarios.run import default_judges

    llm: LLMJudge | None = None
    if judge_model:
        wanted = list(dict.fromkeys(c for s in scenarios for c in s.expect.categories()))
        llm = LLMJudge.from_taxonomy(judge_model, load_taxonomy(), wanted, base_url=judge_base_url)

    def judges_for(scenario: Scenario) -> list[Judge]:
        if llm is None:
            return default_judges(scenario)
        return [*rule_judges(scenario.expect.categories()), llm]

    return judges_for, llm


def _run(
    suite: Suite,
    scenarios: Sequence[Scenario],
    settings: SuiteRunSettings,
    output: Path,
    judge_model: str | None,
    judge_base_url: str | None,
    label: str,
) -> list[ScenarioResult]:
    """Run the scenarios with a progress bar; Ctrl-C keeps what was decided (exit 130)."""
    import asyncio

    from rich.progress import Progress

    from understudy.logging import configure_logging
    from understudy.scenarios.run import run_suite

    output.mkdir(parents=True, exist_ok=True)
    configure_logging(events_file=output / "events.jsonl")
    columns = [*Progress.get_default_columns()]
    with Progress(*columns, console=console(stderr=True), transient=False) as bar:
        task = bar.add_task(f"{suite.name} ({label})", total=len(scenarios))

        def finished(result: ScenarioResult) -> None:
            bar.update(task, advance=1)

        async def go() -> list[ScenarioResult]:
            judges_for, llm = _judges_factory(scenarios, judge_model, judge_base_url)
            try:
                return await run_suite(suite, scenarios, settings, output, judges_for, finished)
            finally:
                if llm is not None:
                    await llm.close()

        try:
            return _guarded(lambda: asyncio.run(go()))  # type: ignore[no-any-return]
        except KeyboardInterrupt:
            bar.console.print(
                f"[yellow]interrupted[/yellow]: the outcomes decided so far are in "
                f"{output / 'suite.json'}"
            )
            raise typer.Exit(130) from None


_STYLE = {"passed": "green", "failed": "red", "error": "bold yellow"}


def _print_results(
    results: Sequence[ScenarioResult], before: dict[str, ScenarioResult] | None
) -> None:
    table = Table(title="scenarios", show_edge=False)
    for column in ("scenario", "outcome", "samples", "flagged", "seconds"):
        table.add_column(column, overflow="fold")
    if before is not None:
        table.add_column("baseline")
    for result in results:
        flagged = ", ".join(
            f"{category} {count}/{result.samples}"
            for category, count in result.flagged.items()
            if count
        )
        row = [
            result.name,
            f"[{_STYLE[result.status]}]{result.status}[/]",
            str(result.samples),
            flagged or "-",
            f"{result.seconds:.1f}",
        ]
        if before is not None:
            row.append(_baseline_cell(result, before.get(result.name)))
        table.add_row(*row)
    out = console()
    out.print(table)
    for result in results:
        for check in result.failures:
            out.print(f"[red]FAILED[/red] {result.name}: {check.expectation}: {check.detail}")
            for line in check.evidence:
                out.print(f"    {line}", markup=False)
        for error in result.errors:
            out.print(f"[bold yellow]ERROR[/bold yellow] {result.name}: ", end="")
            out.print(error, markup=False)
    totals = {status: sum(r.status == status for r in results) for status in _STYLE}
    out.print(", ".join(f"{count} {status}" for status, count in totals.items()))


def _baseline_cell(result: ScenarioResult, earlier: ScenarioResult | None) -> str:
    if earlier is None:
        return "-"
    if earlier.status == "passed" and result.status == "failed":
        return f"{earlier.status} [bold red](regression)[/]"
    return earlier.status


def _print_selftest(verdicts: Sequence[tuple[str, ScenarioResult, bool]]) -> None:
    table = Table(title="selftest", show_edge=False)
    for column in ("candidate", "scenario", "outcome", "as expected"):
        table.add_column(column)
    for role, result, ok in verdicts:
        table.add_row(
            role,
            result.name,
            f"[{_STYLE[result.status]}]{result.status}[/]",
            "[green]yes[/]" if ok else "[bold red]NO[/]",
        )
    console().print(table)
    wrong = [(role, result) for role, result, ok in verdicts if not ok]
    for role, result in wrong:
        reasons = [f"{c.expectation}: {c.detail}" for c in result.failures] + result.errors
        console().print(f"[red]{role}[/red] {result.name}: {result.status}; " + "; ".join(reasons))
    console().print(f"{len(verdicts) - len(wrong)} of {len(verdicts)} outcomes as expected")


def _properties(suite: Suite, settings: SuiteRunSettings) -> dict[str, str]:
    return {
        "suite": suite.name,
        "suite_version": suite.manifest.version,
        "model": settings.model,
        "base_url": settings.base_url or "",
        "samples": str(settings.samples or "per scenario"),
    }


def _exit_code(results: Sequence[ScenarioResult]) -> int:
    if any(result.status == "error" for result in results):
        return HARNESS_ERROR
    if any(result.status == "failed" for result in results):
        return FAILED
    return PASSED


__all__ = ["FAILED", "HARNESS_ERROR", "PASSED", "suite_app"]
