"""The ``understudy`` command line.

Commands stay thin: they parse options, call the library and render the result with rich.
Output meant for programs (``schema``, problem lines of ``validate``) is printed plainly and
never wrapped, so it can be piped and grepped. Any :class:`~understudy.errors.UnderstudyError`
raised by any command, sub-commands included, becomes a red ``error: ...`` message on stderr
and exit code 1 instead of a traceback (see :class:`UnderstudyGroup`).

Each command lives in a module of its own, listed in :data:`COMMANDS` and imported only when
the command runs or shows its own help: the commands pull in pydantic models, the docker SDK,
the importers and judges, which would otherwise make every start (``understudy --help`` too)
take a second.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from understudy import __version__
from understudy.errors import UnderstudyError

COMMANDS: dict[str, tuple[str, str, str]] = {
    "schema": (
        "understudy.cli_schema",
        "schema",
        "Print the JSON Schema of the trajectory models on stdout.",
    ),
    "validate": (
        "understudy.cli_schema",
        "validate",
        "Check JSONL files against the trajectory schema.",
    ),
    "run": (
        "understudy.cli_run",
        "run",
        "Let a candidate model take over logged sessions after a cut, with live or replayed tools.",
    ),
    "demo": (
        "understudy.cli_run",
        "demo",
        "Run the whole pipeline on bundled sample sessions with a scripted candidate.",
    ),
    "fidelity": (
        "understudy.cli_fidelity",
        "fidelity",
        "Measure environment fidelity: how many recorded tool outputs a live replay gives back.",
    ),
    "import": (
        "understudy.cli_logs",
        "import_logs",
        "Import agent logs into one JSONL file of sessions, de-identified by default.",
    ),
    "export": (
        "understudy.cli_logs",
        "export",
        "Export sessions for other tools: ATIF trajectories or OpenAI chat conversations.",
    ),
    "judge": (
        "understudy.cli_judges",
        "judge",
        "Judge trajectories: append verdicts to judgments.jsonl (resumable).",
    ),
    "report": (
        "understudy.cli_judges",
        "report",
        "Rates per category: observed k/n per 100k with 95% Jeffreys intervals; writes "
        "summary.json.",
    ),
    "serve-scripted": (
        "understudy.cli_serve",
        "serve_scripted",
        "Serve a scripted model on an OpenAI-compatible endpoint until Ctrl-C.",
    ),
    "simcheck": (
        "understudy.cli_simulate",
        "simcheck",
        "Measure how realistic a simulator is on real logs, leaving each result out.",
    ),
    "reproduce": (
        "understudy.cli_reproduce",
        "reproduce",
        "Reproduce one trajectory in a live sandbox at any step: look, step, shell in, branch.",
    ),
    "view": (
        "understudy.cli_view",
        "view",
        "Write a self-contained HTML report of a run, or serve it locally.",
    ),
    "plan": ("understudy.cli_stats", "plan", "How many sessions a measurement needs."),
    "judge-eval": (
        "understudy.cli_stats",
        "judge_eval",
        "How well each judge agrees with human labels: precision, recall and Cohen's kappa per "
        'judge and category, with 95% intervals (and "any": flagged when any judge flags).',
    ),
    "backtest": (
        "understudy.cli_stats",
        "backtest",
        "Check a forecast against deployment: per category the forecast rate and interval, the "
        "rate judged on the sessions the same model later produced, their multiplicative error "
        "max(f/a, a/f), whether the interval covered the actual rate, and the median "
        "multiplicative error over the categories.",
    ),
    "images": ("understudy.cli_engine", "images_app", "Build and inspect the sandbox images."),
    "sandbox": (
        "understudy.cli_engine",
        "sandbox_app",
        "Manage sandbox containers (remove leftovers of killed runs).",
    ),
    "pairs": (
        "understudy.cli_pairs",
        "pairs_app",
        "The pair database: real tool calls and their recorded results, which the tool "
        "simulators draw on (`run --pairs`, `simcheck --pairs`).",
    ),
    "suite": (
        "understudy.cli_suite",
        "suite_app",
        "Regression suites for tool-use honesty: scenarios with forced tool results and "
        "expectations, for CI.",
    ),
}
"""Every command: its name, the module and attribute of its function (or of its ``typer.Typer``
for a group of commands), and the first paragraph of its help, which the command list of
``understudy --help`` shows without importing the module (a test keeps them equal)."""


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
    """The root command group: loads each command of :data:`COMMANDS` when it is used, turns an
    ``UnderstudyError`` from any command into a clean error, and joins the lines of help
    paragraphs (see :func:`reflowed`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False  # while the root help lists the commands

    def list_commands(self, ctx: Any) -> list[str]:
        # In the order of COMMANDS whichever are loaded already.
        return [*(name for name in super().list_commands(ctx) if name not in COMMANDS), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            if self._listing:
                return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])
            self.commands[cmd_name] = load_command(cmd_name)
        return _reflow_help(super().get_command(ctx, cmd_name))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:  # a typer.Context; typed loosely across typer versions
        try:
            return super().invoke(ctx)
        except UnderstudyError as exc:
            from understudy.cli_common import console

            console(stderr=True).print(Text(f"error: {exc}", style="bold red"))
            raise typer.Exit(1) from None


def load_command(name: str) -> Any:
    """The click command of :data:`COMMANDS` entry ``name``, its module imported."""
    module, attribute, _ = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer(rich_markup_mode="rich", add_completion=False)
    single.command(name)(target)
    command = typer.main.get_command(single)
    command.name = name
    return command


app = typer.Typer(
    name="understudy",
    cls=UnderstudyGroup,
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold API keys and session contents
)


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
    # Neither loads structlog nor the sandbox package: a command's own start stays quick.
    from understudy.logging import configure_logging
    from understudy.shutdown import exit_on_sigterm

    configure_logging(log_level)
    exit_on_sigterm()  # so that SIGTERM still removes this process's sandboxes
