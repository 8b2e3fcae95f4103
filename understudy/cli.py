"""The ``understudy`` command line.

Commands stay thin: they parse options, call the library and render the result with rich.
Output meant for programs (``schema``, problem lines of ``validate``) is printed plainly and
never wrapped, so it can be piped and grepped. Any :class:`~understudy.errors.UnderstudyError`
raised by any command, sub-commands included, becomes a red ``error: ...`` message on stderr
and exit code 1 instead of a traceback (see :class:`UnderstudyGroup`).

This module holds the app, the schema, validate, images and sandbox commands, and registers the
others from their own modules: ``cli_run`` (run, demo), ``cli_fidelity``, ``cli_logs`` (import,
export), ``cli_judges`` (judge, report), ``cli_serve`` (serve-scripted), ``cli_pairs`` (the
``pairs`` group), ``cli_simulate`` (simcheck, and the simulator's options of ``run``) and
``cli_reproduce`` (reproduce), ``cli_suite`` (the ``suite`` group), ``cli_view`` (view) and
``cli_stats`` (plan, judge-eval, backtest).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer
from rich.text import Text
from typer.core import TyperGroup

from understudy import __version__
from understudy.cli_common import console
from understudy.cli_fidelity import fidelity
from understudy.cli_judges import judge, report
from understudy.cli_logs import export, import_logs
from understudy.cli_pairs import pairs_app
from understudy.cli_reproduce import reproduce
from understudy.cli_run import demo, run
from understudy.cli_serve import serve_scripted
from understudy.cli_simulate import simcheck
from understudy.cli_stats import backtest, judge_eval, plan
from understudy.cli_suite import suite_app
from understudy.cli_view import view
from understudy.errors import UnderstudyError
from understudy.jsonl import all_schemas, json_schema, validate_file
from understudy.judges.agreement import Label
from understudy.logging import configure_logging
from understudy.sandbox.config import BASE_IMAGE
from understudy.sandbox.gc import collect_garbage
from understudy.sandbox.images import BuildMode as ImageBuildMode
from understudy.sandbox.images import build_base_image
from understudy.sandbox.tracking import exit_on_sigterm
from understudy.scenarios.model import Scenario, SuiteManifest
from understudy.trajectory import MODELS, Judgment, Rollout, Session


def reflowed(help_text: str) -> str:
    """A command's help with the lines of each paragraph joined: typer's rich mode keeps a
    docstring's line breaks, which then fall mid-sentence once rich wraps the text to the
    terminal. A paragraph of list items or indented lines keeps its lines."""
    paragraphs = help_text.split("\n\n")
    kept = []
    for paragraph in paragraphs:
        lines = paragraph.strip("\n").split("\n")
        listed = any(line.lstrip().startswith(("- ", "* ", "$ ")) for line in lines)
        indented = any(line.startswith((" ", "\t")) for line in lines[1:])
        kept.append(paragraph if listed or indented else " ".join(lines))
    return "\n\n".join(kept)


def _reflow_help(command: Any) -> Any:
    """``command`` (and the commands of a group) with reflowed help, once."""
    if command is not None and not getattr(command, "_understudy_reflowed", False):
        if command.help:
            command.help = reflowed(command.help)
        command._understudy_reflowed = True
        for sub in getattr(command, "commands", {}).values():
            _reflow_help(sub)
    return command


class UnderstudyGroup(TyperGroup):
    """The root command group: turns an ``UnderstudyError`` from any command into a clean error,
    and joins the lines of help paragraphs (see :func:`reflowed`)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return _reflow_help(super().get_command(ctx, cmd_name))

    def invoke(self, ctx: Any) -> Any:  # a typer.Context; typed loosely across typer versions
        try:
            return super().invoke(ctx)
        except UnderstudyError as exc:
            console(stderr=True).print(Text(f"error: {exc}", style="bold red"))
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


SCHEMA_MODELS: dict[str, type[pydantic.BaseModel]] = {
    **MODELS,
    "Scenario": Scenario,
    "SuiteManifest": SuiteManifest,
    "Label": Label,
}
"""What ``understudy schema`` prints: the trajectory models and the suite formats."""


def _model_named(name: str) -> type[pydantic.BaseModel]:
    """The model called ``name`` (any case); a usage error listing valid names."""
    by_lower_name = {known.lower(): model for known, model in SCHEMA_MODELS.items()}
    if name.lower() not in by_lower_name:
        valid = ", ".join(SCHEMA_MODELS)
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
            help=f"Print the schema of one model only: {', '.join(SCHEMA_MODELS)}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the trajectory models on stdout.

    Without [bold]--model[/bold], one document holds every model under [italic]$defs[/italic].
    Every file understudy reads from a user is validated against this schema: sessions,
    rollouts and judgments, and the scenarios and manifests of suites
    ([italic]Scenario[/italic], [italic]SuiteManifest[/italic]).

    [dim]Example: understudy schema --model Session > session.schema.json[/dim]
    """
    document = all_schemas(SCHEMA_MODELS) if model is None else json_schema(_model_named(model))
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
    out, err = console(), console(stderr=True)
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
    err = console(stderr=True)
    with err.status(f"building {tag} ({mode})") as status:

        def show(line: str) -> None:
            status.update(f"building {tag}: {line[:100]}")
            if not err.is_terminal:  # a spinner shows nothing in a CI log: print the steps
                err.print(f"building {tag}: {line[:200]}", markup=False)

        how, image_id = build_base_image(mode, tag=tag, force=force, progress=show)
    verb = "reused existing" if how == "reused" else f"built ({how})"
    console().print(f"{tag}: {verb} {image_id[:19]}")


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
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            metavar="PREFIX",
            help="Only containers (and with --images, images) of runs whose run id starts with "
            "PREFIX; other runs on the same engine are left alone.",
        ),
    ] = None,
) -> None:
    """Remove understudy containers whose owner process is gone (killed runs).

    Containers of running understudy processes are never touched. The base image is kept.
    """
    report = collect_garbage(
        images=images, all_hosts=all_hosts, dry_run=dry_run, run_id_prefix=run_id
    )
    out = console()
    verb = "would remove" if dry_run else "removed"
    for name in report.removed_containers:
        out.print(f"{verb} container {name}")
    for name in report.removed_images:
        out.print(f"{verb} image {name}")
    out.print(
        f"{verb} {len(report.removed_containers)} container(s), "
        f"{len(report.removed_images)} image(s); kept {len(report.kept_containers)} "
        f"container(s) of live runs, {len(report.kept_images)} image(s) in use or of live runs"
    )


# -- the commands of the other modules -------------------------------------------------------


app.command()(run)
app.command()(demo)
app.command("fidelity")(fidelity)
app.command("import")(import_logs)
app.command("export")(export)
app.command()(judge)
app.command()(report)
app.command("serve-scripted")(serve_scripted)
app.add_typer(pairs_app, name="pairs")
app.command()(simcheck)
app.command()(reproduce)
app.add_typer(suite_app, name="suite")
app.command()(view)
app.command()(plan)
app.command("judge-eval")(judge_eval)
app.command()(backtest)
