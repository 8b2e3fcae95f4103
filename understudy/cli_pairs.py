"""``understudy pairs``: the database of recorded tool-call/result pairs the simulators draw on.

Registered on the main app by :mod:`understudy.cli` as a command group; the work itself is
:mod:`understudy.replay.pairs`: ``build`` fills the database, ``stats`` says what is in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from understudy.cli_common import console
from understudy.errors import ConfigError

# The library is imported by the commands that use it: the command line starts without it.

pairs_app = typer.Typer(
    help="The pair database: real tool calls and their recorded results, which the tool "
    "simulators draw on (`run --pairs`, `simcheck --pairs`).",
    no_args_is_help=True,
)


@pairs_app.command("build")
def pairs_build(
    sessions_files: Annotated[
        list[Path],
        typer.Argument(
            metavar="SESSIONS...",
            help="JSONL files of de-identified sessions (`understudy import`, without "
            "--no-redact).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Pair database to create or update.")
    ],
) -> None:
    """Add every recorded tool call that has a recorded result to a pair database.

    Each pair keeps the logged call, its canonical tool and arguments (when an adapter
    translates it), its shell script, the result as recorded and the tool's own output, exit
    code, error flag, format, agent and session. A pair's id is a hash of its session and call
    ids, so building again [bold]updates[/bold] pairs rather than adding them twice; an existing
    database of an older schema is upgraded first.

    A session that is not de-identified (imported with [bold]--no-redact[/bold]) is refused,
    naming its file and id; the sessions before it stay in the database.

    [dim]Example: understudy pairs build sessions.jsonl -o pairs.db[/dim]
    """
    from rich.progress import Progress

    from understudy.replay.pairs import build_pairs

    for path in sessions_files:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    total = sum(_lines(path) for path in sessions_files)
    with Progress(*Progress.get_default_columns(), console=console(stderr=True)) as bar:
        task = bar.add_task("building pairs", total=total)
        counts = build_pairs(output, sessions_files, on_session=lambda _: bar.advance(task))
    console().print(
        f"{counts['added']} pair(s) added, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged in {output}"
    )


def _lines(path: Path) -> int:
    """Sessions in a JSONL file, counted cheaply (its non-blank lines) for the progress bar."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


@pairs_app.command("stats")
def pairs_stats(
    database: Annotated[
        Path, typer.Argument(metavar="PAIRS_DB", help="Pair database (`understudy pairs build`).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Say what a pair database holds: pairs and sessions, errors, schema version, and counts
    per canonical tool, logged tool, source format and agent."""
    from understudy.replay.pairs import pair_stats

    stats = pair_stats(database)
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    out = console()
    out.print(
        f"{database}: {stats['pairs']} pair(s) from {stats['sessions']} session(s), "
        f"{stats['errors']} error result(s), schema version {stats['schema_version']}"
    )
    for title, key in (
        ("canonical tool", "per_tool"),
        ("logged tool", "per_logged_tool"),
        ("format", "per_format"),
        ("agent", "per_agent"),
    ):
        table = Table(show_edge=False)
        table.add_column(title, overflow="fold")
        table.add_column("pairs", justify="right")
        for name, count in stats[key].items():
            table.add_row(name, str(count))
        out.print(table)
