"""The ``schema`` and ``validate`` commands: the file formats, and checking files against them."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from understudy.cli_common import console

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    import pydantic

SCHEMA_MODEL_NAMES = (
    "ToolSpec",
    "ToolCall",
    "Message",
    "RepoSpec",
    "EnvSpec",
    "Session",
    "Rollout",
    "Judgment",
    "Scenario",
    "SuiteManifest",
    "Label",
)
"""The names of :func:`schema_models`, in order (a test keeps them equal), for the help."""


def schema_models() -> dict[str, type[pydantic.BaseModel]]:
    """What ``understudy schema`` prints: the trajectory models and the suite formats."""
    from understudy.judges.agreement import Label
    from understudy.scenarios.model import Scenario, SuiteManifest
    from understudy.trajectory import MODELS

    return {**MODELS, "Scenario": Scenario, "SuiteManifest": SuiteManifest, "Label": Label}


def _model_named(name: str) -> type[pydantic.BaseModel]:
    """The model called ``name`` (any case); a usage error listing valid names."""
    by_lower_name = {known.lower(): model for known, model in schema_models().items()}
    if name.lower() not in by_lower_name:
        valid = ", ".join(schema_models())
        message = f"unknown model {name!r}; valid names: {valid}"
        raise typer.BadParameter(message, param_hint="--model")
    return by_lower_name[name.lower()]


def schema(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=f"Print the schema of one model only: {', '.join(SCHEMA_MODEL_NAMES)}.",
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
    from understudy.jsonl import all_schemas, json_schema

    document = all_schemas(schema_models()) if model is None else json_schema(_model_named(model))
    typer.echo(json.dumps(document, indent=2))


class Kind(StrEnum):
    """What each line of a JSONL file holds."""

    session = "session"
    rollout = "rollout"
    judgment = "judgment"


def kind_model(kind: Kind) -> type[pydantic.BaseModel]:
    """The model of each line of a file of ``kind``."""
    from understudy.trajectory import Judgment, Rollout, Session

    models: dict[Kind, type[pydantic.BaseModel]] = {
        Kind.session: Session,
        Kind.rollout: Rollout,
        Kind.judgment: Judgment,
    }
    return models[kind]


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
    from understudy.jsonl import validate_file

    model = kind_model(kind)
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
