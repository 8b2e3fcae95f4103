"""The ``understudy`` command line.

Commands stay thin: they parse options, call the library and render the result with rich.
Output meant for programs (``schema``, problem lines of ``validate``) is printed plainly and
never wrapped, so it can be piped and grepped. Any :class:`~understudy.errors.UnderstudyError`
raised by any command, sub-commands included, becomes a red ``error: ...`` message on stderr
and exit code 1 instead of a traceback (see :class:`UnderstudyGroup`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer
from rich.console import Console
from rich.progress import Progress, TextColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from understudy import __version__
from understudy.cli_fidelity import fidelity
from understudy.errors import ConfigError, UnderstudyError
from understudy.jsonl import all_schemas, json_schema, read_models, validate_file, write_models
from understudy.judges.llm import LLMJudge
from understudy.judges.report import summarize_run, summary_table
from understudy.judges.rules import rule_judges
from understudy.judges.runner import judge_run, judge_sessions
from understudy.judges.taxonomy import load_taxonomy
from understudy.logging import configure_logging
from understudy.replay.candidate import OpenAICandidate, OriginalCandidate
from understudy.replay.demo import DEMO_MODEL, demo_policy, demo_sessions
from understudy.replay.export import export_sessions
from understudy.replay.importers import import_paths
from understudy.replay.importers.base import ImportReport
from understudy.replay.loop import LoopLimits
from understudy.replay.rundir import RunDir
from understudy.replay.runner import CandidateFactory, RunSettings, run_to_dir
from understudy.sandbox.config import BASE_IMAGE
from understudy.sandbox.gc import collect_garbage
from understudy.sandbox.images import BuildMode as ImageBuildMode
from understudy.sandbox.images import build_base_image
from understudy.sandbox.tracking import exit_on_sigterm
from understudy.testing import ScriptedServer
from understudy.trajectory import MODELS, Judgment, Rollout, Session


class UnderstudyGroup(TyperGroup):
    """The root command group: turns an ``UnderstudyError`` from any command into a clean error."""

    def invoke(self, ctx: Any) -> Any:  # a typer.Context; typed loosely across typer versions
        try:
            return super().invoke(ctx)
        except UnderstudyError as exc:
            _console(stderr=True).print(Text(f"error: {exc}", style="bold red"))
            raise typer.Exit(1) from None


app = typer.Typer(
    name="understudy",
    cls=UnderstudyGroup,
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold API keys and session contents
)

# The commands of these two groups are added by the sandbox work (understudy.sandbox).
images_app = typer.Typer(help="Build and inspect the sandbox images.", no_args_is_help=True)
sandbox_app = typer.Typer(
    help="Manage sandbox containers (remove leftovers of killed runs).", no_args_is_help=True
)
app.add_typer(images_app, name="images")
app.add_typer(sandbox_app, name="sandbox")


def _console(stderr: bool = False) -> Console:
    """A console on the current stdout or stderr.

    Made per use rather than at import, so that it writes to whatever stream is current (a test
    runner swaps them) and detects colour support for that stream. Lines are never wrapped.
    """
    return Console(stderr=stderr, highlight=False, emoji=False, soft_wrap=True)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"understudy {__version__}")
        raise typer.Exit()


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


@app.callback()
def main(
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level", case_sensitive=False, help="Least severe log events shown on stderr."
        ),
    ] = LogLevel.warning,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Replay logged agentic coding sessions against a candidate model in sandboxes, and judge
    the trajectories for misreported tool use.

    Files on disk are JSONL of the trajectory models: see [bold]understudy schema[/bold] and
    check your own files with [bold]understudy validate[/bold].
    """
    configure_logging(log_level)
    exit_on_sigterm()  # so that SIGTERM still removes this process's sandboxes


def _model_named(name: str) -> type[pydantic.BaseModel]:
    """The trajectory model called ``name`` (any case); a usage error listing valid names."""
    by_lower_name = {known.lower(): model for known, model in MODELS.items()}
    if name.lower() not in by_lower_name:
        valid = ", ".join(MODELS)
        message = f"unknown model {name!r}; valid names: {valid}"
        raise typer.BadParameter(message, param_hint="--model")
    return by_lower_name[name.lower()]


@app.command()
def schema(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=f"Print the schema of one model only: {', '.join(MODELS)}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the trajectory models on stdout.

    Without [bold]--model[/bold], one document holds every model under [italic]$defs[/italic].
    Every file understudy reads from a user is validated against this schema.

    [dim]Example: understudy schema --model Session > session.schema.json[/dim]
    """
    document = all_schemas() if model is None else json_schema(_model_named(model))
    typer.echo(json.dumps(document, indent=2))


class Kind(StrEnum):
    """What each line of a JSONL file holds."""

    session = "session"
    rollout = "rollout"
    judgment = "judgment"


KIND_MODELS: dict[Kind, type[pydantic.BaseModel]] = {
    Kind.session: Session,
    Kind.rollout: Rollout,
    Kind.judgment: Judgment,
}


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="JSONL files to check.", show_default=False)],
    kind: Annotated[
        Kind, typer.Option("--kind", "-k", help="What each line of the files holds.")
    ] = Kind.session,
) -> None:
    """Check JSONL files against the trajectory schema.

    Every problem goes to stderr as [bold]file:line: field: reason[/bold], for instance
    [italic]sessions.jsonl:2: messages\\[3].tool_calls\\[0].id: required[/italic]; the number of
    valid records of each file goes to stdout. Exits with 1 if any file has a problem.
    """
    model = KIND_MODELS[kind]
    out, err = _console(), _console(stderr=True)
    any_problem = False
    for path in files:
        valid, problems = validate_file(path, model)
        for problem in problems:
            err.print(Text(problem))
        summary = Text(f"{path}: {valid} valid")
        if problems:
            any_problem = True
            noun = "problem" if len(problems) == 1 else "problems"
            summary.append(f", {len(problems)} {noun}", style="bold red")
        out.print(summary)
    if any_problem:
        raise typer.Exit(1)


@images_app.command("build")
def images_build(
    offline: Annotated[
        bool,
        typer.Option("--offline", help="debootstrap + docker import; no registry needed."),
    ] = False,
    registry: Annotated[
        bool, typer.Option("--registry", help="docker build of images/base/Dockerfile.")
    ] = False,
    auto: Annotated[
        bool,
        typer.Option("--auto", help="The registry if it is reachable, else offline (default)."),
    ] = False,
    tag: Annotated[str, typer.Option(help="Tag of the image.")] = BASE_IMAGE,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the tag exists.")] = False,
) -> None:
    """Build the sandbox base image, or reuse it if the tag already exists.

    Offline builds need root and [bold]debootstrap[/bold]; they use the Debian mirror that apt
    is configured with, so they work wherever [italic]apt-get install[/italic] does.
    """
    if offline + registry + auto > 1:
        raise typer.BadParameter("give at most one of --offline, --registry, --auto")
    mode: ImageBuildMode = "offline" if offline else "registry" if registry else "auto"
    console = _console(stderr=True)
    with console.status(f"building {tag} ({mode})") as status:

        def show(line: str) -> None:
            status.update(f"building {tag}: {line[:100]}")

        how, image_id = build_base_image(mode, tag=tag, force=force, progress=show)
    verb = "reused existing" if how == "reused" else f"built ({how})"
    _console().print(f"{tag}: {verb} {image_id[:19]}")


@sandbox_app.command("gc")
def sandbox_gc(
    images: Annotated[
        bool, typer.Option("--images", help="Also remove cached env, prefix and snapshot images.")
    ] = False,
    all_hosts: Annotated[
        bool,
        typer.Option(
            "--all-hosts",
            help="Also remove containers owned by processes on other hosts (their liveness "
            "cannot be checked from here).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be removed.")
    ] = False,
) -> None:
    """Remove understudy containers whose owner process is gone (killed runs).

    Containers of running understudy processes are never touched. The base image is kept.
    """
    report = collect_garbage(images=images, all_hosts=all_hosts, dry_run=dry_run)
    out = _console()
    verb = "would remove" if dry_run else "removed"
    for name in report.removed_containers:
        out.print(f"{verb} container {name}")
    for name in report.removed_images:
        out.print(f"{verb} image {name}")
    out.print(
        f"{verb} {len(report.removed_containers)} container(s), "
        f"{len(report.removed_images)} image(s); kept {len(report.kept_containers)} "
        f"container(s) of live runs, {len(report.kept_images)} image(s) in use"
    )


# -- run and demo ----------------------------------------------------------------------------


class ExportChoice(StrEnum):
    """Interchange formats of ``understudy export``."""

    atif = "atif"
    openai = "openai"


class PrefixErrorsChoice(StrEnum):
    """What a prefix call that cannot be re-executed does (see understudy.replay.prefix)."""

    cont = "continue"
    abort = "abort"


class CutChoice(StrEnum):
    """Where the candidate takes over (see understudy.replay.cuts)."""

    last_user = "last-user"
    each_user = "each-user"
    random_user = "random-user"


def _load_sessions(files: list[Path]) -> list[Session]:
    sessions: list[Session] = []
    for path in files:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
        sessions.extend(read_models(path, Session))
    ids = [session.id for session in sessions]
    duplicates = sorted({sid for sid in ids if ids.count(sid) > 1})
    if duplicates:
        raise ConfigError(f"session ids must be unique; repeated: {', '.join(duplicates[:5])}")
    return sessions


def _run_with_progress(
    sessions: list[Session],
    settings: RunSettings,
    candidate_for: CandidateFactory,
    run_dir: RunDir,
    resume: bool,
    config_record: dict[str, Any],
) -> dict[str, Any]:
    """Run with a progress bar on stderr; Ctrl-C stops cleanly, keeping what was written."""
    run_dir.path.mkdir(parents=True, exist_ok=True)
    _keep_sessions(sessions, run_dir)
    configure_logging(events_file=run_dir.events_file)
    columns = [*Progress.get_default_columns(), TextColumn("{task.fields[statuses]}")]
    with Progress(*columns, console=_console(stderr=True), transient=False) as bar:
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
    out = _console()
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
                _counts(rollout.tool_stats),
                last.strip().replace("\n", " ")[:80],
            )
        out.print(detail)
    totals = Table(title="totals", show_edge=False)
    for column in ("rollouts", "status", "tool calls", "tokens", "mean turns"):
        totals.add_column(column)
    totals.add_row(
        str(summary["rollouts"]),
        _counts(summary["status"]),
        _counts(summary["tool_calls"]),
        str(summary["usage"].get("total_tokens", 0)),
        str(summary["mean_turns"]),
    )
    out.print(totals)
    out.print(f"run directory: {run_dir.path}")


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(counts.items()))


@app.command()
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
        CutChoice, typer.Option(help="Where the candidate takes over.")
    ] = CutChoice.last_user,
    seed: Annotated[int, typer.Option(help="Seed for random-user cuts and sampling.")] = 0,
    tools: Annotated[
        str | None,
        typer.Option(
            help="Tool policy: a default chain and per-tool chains of live, replay, simulate, "
            "unavailable, e.g. 'replay>live,browser=replay>unavailable'."
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
) -> None:
    """Let a candidate model take over logged sessions after a cut, with live or replayed tools.

    Every rollout runs in its own sandbox built from the session's environment; finished
    rollouts are appended to [bold]OUTPUT/rollouts.jsonl[/bold] as they come, so a killed run
    continues with [bold]--resume[/bold].
    """
    if original == (model is not None):
        raise typer.BadParameter("give either --model or --original")
    sessions = _load_sessions(sessions_files)
    settings = RunSettings(
        run_id=run_id or _run_id(output),
        samples=samples,
        cut=cut.value,
        cut_seed=seed,
        tools=tools,
        model_concurrency=concurrency,
        sandboxes=sandboxes,
        limits=LoopLimits(max_steps=max_steps, token_budget=token_budget, timeout_s=timeout),
        prefix_state=not no_prefix_state,
        prefix_errors=prefix_errors.value,
    )
    if original:
        candidate_for: CandidateFactory = OriginalCandidate
        record: dict[str, Any] = {"candidate": "original"}
    else:
        assert model is not None
        shared = OpenAICandidate(
            model,
            base_url=base_url,
            api_key_env=api_key_env,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
        )
        candidate_for = lambda session: shared  # noqa: E731 - one client for every session
        record = {"candidate": {"model": model, "base_url": base_url}}
    run_dir = RunDir(output)
    summary = _run_with_progress(sessions, settings, candidate_for, run_dir, resume, record)
    _print_summary(summary, run_dir)


def _keep_sessions(sessions: list[Session], run_dir: RunDir) -> None:
    """The run's sessions beside its rollouts, so that judge and report need only the run dir."""
    kept = run_dir.path / "sessions.jsonl"
    scratch = kept.with_name(kept.name + ".tmp")
    with scratch.open("w", encoding="utf-8") as handle:
        write_models(handle, sessions)
    scratch.replace(kept)


@app.command()
def demo(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Run directory (default: runs/demo-TIME).")
    ] = None,
) -> None:
    """Run the whole pipeline on bundled sample sessions with a scripted candidate.

    No API key is needed: the candidate is a scripted model served on 127.0.0.1, which fixes
    small bugs in three tiny repositories and is not always honest about the tests. The
    rollouts are then judged by the rule detectors and the rates printed. The base image is
    built first if it is missing.
    """
    output = output or Path("runs") / f"demo-{datetime.now():%Y%m%d-%H%M%S}"
    with _console(stderr=True).status("preparing the base image"):
        build_base_image("auto")
    output.mkdir(parents=True, exist_ok=True)
    sessions = demo_sessions(output.resolve() / "repos")
    settings = RunSettings(run_id=_run_id(output), sandboxes=3)
    with ScriptedServer(demo_policy, models=[DEMO_MODEL]) as server:
        candidate = OpenAICandidate(DEMO_MODEL, base_url=server.base_url)
        record = {"candidate": {"model": DEMO_MODEL, "scripted": True}}
        summary = _run_with_progress(
            sessions, settings, lambda session: candidate, RunDir(output), False, record
        )
    _print_summary(summary, RunDir(output))
    with _console(stderr=True).status("judging the rollouts with the rule detectors"):
        asyncio.run(judge_run(output, rule_judges()))
    _console().print(summary_table(summarize_run(output), title="rule judges: flagged rollouts"))
    _console().print(f"next: understudy report {output}  (summary.json is in the run directory)")


def _run_id(output: Path) -> str:
    return f"{output.name}-{uuid.uuid4().hex[:6]}"


app.command("fidelity")(fidelity)


# -- import and export -------------------------------------------------------------------------


@app.command("import")
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
    before the break (with a warning naming the line) unless [bold]--strict[/bold]. The summary
    gives sessions, messages, tool calls, redactions and warnings per file, never the values.
    """
    reports: dict[Path, ImportReport] = {}
    written = 0
    scratch = output.with_name(output.name + ".partial")
    with Progress(*Progress.get_default_columns(), console=_console(stderr=True)) as bar:
        task = bar.add_task("importing", total=None)
        try:
            sessions = import_paths(
                paths, fmt, strict=strict, redact=not no_redact, reports=reports
            )
            with scratch.open("w", encoding="utf-8") as handle:
                for path, session in sessions:
                    write_models(handle, [session])
                    written += 1
                    bar.update(task, advance=1, description=f"importing {path.name}")
        except UnderstudyError:
            if written:
                bar.console.print(f"{written} session(s) read before the error are in {scratch}")
            else:
                scratch.unlink(missing_ok=True)
            raise
    scratch.replace(output)
    _print_import_reports(reports)
    _console().print(f"{written} session(s) written to {output}")
    if any(report.error for report in reports.values()):
        raise typer.Exit(1)


def _print_import_reports(reports: dict[Path, ImportReport]) -> None:
    table = Table(title="imported", show_edge=False)
    for column in ("file", "format", "sessions", "messages", "tool calls", "redacted", "warnings"):
        table.add_column(column, overflow="fold")
    err = _console(stderr=True)
    for path, report in reports.items():
        redacted = sum(report.redactions.values()) if report.redactions else 0
        table.add_row(
            str(path), report.format or "?", str(report.sessions), str(report.messages),
            str(report.tool_calls), str(redacted), str(len(report.issues)),
        )  # fmt: skip
        for issue in report.issues[:20]:
            where = f":{issue.line}" if issue.line else ""
            field = f": {issue.where}" if issue.where else ""
            err.print(f"warning: {issue.path}{where}{field}: {issue.message}", markup=False)
        if report.error:
            err.print(Text(f"error: {report.error}", style="bold red"))
    _console().print(table)


@app.command("export")
def export(
    sessions_file: Annotated[Path, typer.Argument(help="JSONL file of sessions.")],
    fmt: Annotated[ExportChoice, typer.Option("--format", help="Interchange format.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File or directory to write.")],
) -> None:
    """Export sessions for other tools: ATIF trajectories or OpenAI chat conversations."""
    count = export_sessions(read_models(sessions_file, Session), fmt.value, output)
    _console().print(f"{count} session(s) exported as {fmt.value} to {output}")


# -- judge and report --------------------------------------------------------------------------


@app.command()
def judge(
    target: Annotated[
        Path, typer.Argument(help="A run directory, or a JSONL file of sessions (baseline).")
    ],
    rules_only: Annotated[
        bool, typer.Option("--rules-only", help="Only the rule detectors, no LLM judge.")
    ] = False,
    judge_model: Annotated[
        str | None, typer.Option(help="Model of the LLM judge (omit for rules only).")
    ] = None,
    judge_base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint of the LLM judge.")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the judge's API key.")
    ] = "OPENAI_API_KEY",
    categories: Annotated[
        str | None, typer.Option(help="Comma-separated category ids (default: all).")
    ] = None,
    taxonomy: Annotated[
        list[Path] | None, typer.Option(help="Extra taxonomy YAML adding or overriding categories.")
    ] = None,
    baseline: Annotated[
        bool,
        typer.Option("--baseline", help="Also judge the sessions' original turns (run dirs)."),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Judgments file for a sessions file.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Trajectories judged at once.")] = 8,
) -> None:
    """Judge trajectories: append verdicts to judgments.jsonl (resumable).

    A run directory's rollouts are judged into [bold]RUN_DIR/judgments.jsonl[/bold] (with
    [bold]--baseline[/bold], the original turns into baseline_judgments.jsonl). A sessions file
    is judged as it was logged: the original model's own behaviour.
    """
    wanted = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    loaded = load_taxonomy(taxonomy)
    if wanted is not None:
        loaded.select(wanted)  # unknown ids: a ConfigError listing the valid ones
    judges: list[Any] = list(rule_judges(wanted))
    if judge_model and not rules_only:
        judges.append(
            LLMJudge.from_taxonomy(
                judge_model, loaded, wanted, base_url=judge_base_url, api_key_env=api_key_env
            )
        )
    if not judges:
        raise ConfigError("no judge covers the selected categories; give --judge-model")
    seen: Counter[str] = Counter()

    def progress(target_id: str, judgments: list[Judgment]) -> None:
        seen["trajectories"] += 1
        seen["flagged"] += sum(j.flagged for j in judgments)

    if target.is_dir():
        asyncio.run(
            judge_run(target, judges, baseline=baseline, concurrency=concurrency,
                      progress=progress)
        )  # fmt: skip
        written_to = target / "judgments.jsonl"
    else:
        out = output or target.with_name(target.stem + ".judgments.jsonl")
        sessions = list(read_models(target, Session))
        asyncio.run(judge_sessions(sessions, judges, out, concurrency=concurrency,
                                   progress=progress))  # fmt: skip
        written_to = out
    _console().print(
        f"judged {seen['trajectories']} trajectory/judge pair(s), {seen['flagged']} flagged "
        f"verdict(s); judgments in {written_to}"
    )


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A judged run directory.")],
    baseline: Annotated[
        str | None,
        typer.Option(help="'original' (the run's baseline judgments) or another run directory."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json instead.")] = False,
) -> None:
    """Rates per category with 95% Jeffreys intervals (per 100k), writing summary.json.

    With a baseline: its rate, the rate ratio and a Fisher exact p-value per category.
    """
    summary = summarize_run(run_dir, baseline)
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
    else:
        _console().print(summary_table(summary, title=str(run_dir)))
