"""Statistics commands: ``plan`` (sessions a measurement needs), ``judge-eval`` (judges
against human labels), ``backtest`` (a forecast against what happened)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from understudy.cli_common import console
from understudy.errors import ConfigError

# The library is imported by the commands that use it: the command line starts without it.


def plan(
    rate: Annotated[
        float, typer.Option(help="The rate to measure, as a fraction (0.01 is 1,000 per 100k).")
    ],
    ratio: Annotated[
        float, typer.Option(help="The candidate-to-baseline rate ratio to detect (2: twice).")
    ] = 2.0,
    error: Annotated[
        float,
        typer.Option(help="The multiplicative error the rate's 95% interval must stay within."),
    ] = 1.5,
    samples_per_session: Annotated[
        int, typer.Option("--samples-per-session", min=1, help="Candidate samples per session.")
    ] = 1,
    icc: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="How alike one session's samples are (intra-session correlation): 0 "
            "independent, 1 identical. `report` shows what a run's samples were worth.",
        ),
    ] = 0.5,
) -> None:
    """How many sessions a measurement needs.

    Two answers: the sessions whose 95% interval for RATE stays within the multiplicative
    ERROR (e.g. 1.5: between RATE / 1.5 and RATE x 1.5), and the sessions that detect a
    candidate-to-baseline RATIO with 80% power in a two-sided test at level 0.05 (the baseline
    is the original model's one turn per session). Several samples per session help less than
    as many sessions: they are worth S / (1 + (S - 1) x ICC) independent samples.

    [dim]Example: understudy plan --rate 0.01 --ratio 2 --samples-per-session 4[/dim]
    """
    from understudy.judges.planning import plan as make_plan

    try:
        made = make_plan(rate, ratio, error, samples_per_session, icc)
    except ValueError as problem:
        raise ConfigError(str(problem)) from None
    table = Table(title="sessions needed", show_edge=False)
    table.add_column("goal")
    table.add_column("sessions", justify="right")
    table.add_column("candidate samples", justify="right")
    per_100k = f"{rate * 100_000:,.6g}/100k"
    table.add_row(
        f"estimate {per_100k} within {error:g}x",
        f"{made.to_estimate:,}",
        f"{made.to_estimate * samples_per_session:,}",
    )
    table.add_row(
        f"detect a ratio of {ratio:g} to the baseline (80% power)",
        f"{made.to_detect:,}",
        f"{made.to_detect * samples_per_session:,}",
    )
    console().print(table)
    console().print(
        f"{samples_per_session} sample(s) per session at icc {icc:g}: each session is worth "
        f"{made.per_session:.3g} independent sample(s)."
    )


def _interval(found: tuple[float, float, float] | None) -> str:
    if found is None:
        return "-"
    value, low, high = found
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def judge_eval(
    labels: Annotated[
        Path, typer.Argument(help="Human labels: JSONL of {target_id, category, flagged}.")
    ],
    judgments: Annotated[
        Path, typer.Argument(help="Judgments to check (a judgments.jsonl, or a run directory).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """How well each judge agrees with human labels: precision, recall and Cohen's kappa per
    judge and category, with 95% intervals (and "any": flagged when any judge flags).

    A label line is {"target_id": ROLLOUT_OR_SESSION_ID, "category": ID, "flagged": true} with
    optional "labeler" and "note" ([bold]understudy schema --model Label[/bold]).
    """
    from understudy.jsonl import read_models
    from understudy.judges.agreement import Label, agreement
    from understudy.run_files import JUDGMENTS_FILE
    from understudy.trajectory import Judgment

    source = judgments / JUDGMENTS_FILE if judgments.is_dir() else judgments
    if not source.is_file():
        raise ConfigError(f"{source}: no such file")
    found = agreement(list(read_models(labels, Label)), list(read_models(source, Judgment)))
    if not found:
        raise ConfigError(f"no judgment in {source} rules on a labelled trajectory of {labels}")
    if as_json:
        document = [
            {
                **{key: getattr(row, key) for key in ("judge", "category", "tp", "fp", "fn", "tn")},
                "unjudged": row.unjudged,
                "precision": row.precision(),
                "recall": row.recall(),
                "kappa": row.kappa(),
            }
            for row in found
        ]
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(title=f"judges against {labels}", show_edge=False)
    for name in ("judge", "category", "n", "TP", "FP", "FN", "TN"):
        table.add_column(name, justify="left" if name in ("judge", "category") else "right")
    for name in ("precision [95%]", "recall [95%]", "kappa [95%]"):
        table.add_column(name, justify="right")
    for row in found:
        table.add_row(
            row.judge,
            row.category,
            str(row.n),
            str(row.tp),
            str(row.fp),
            str(row.fn),
            str(row.tn),
            _interval(row.precision()),
            _interval(row.recall()),
            _interval(row.kappa()),
        )
    console().print(table)
    unjudged = sum(row.unjudged for row in found if row.judge == "any")
    if unjudged:
        console(stderr=True).print(f"{unjudged} label(s) have no verdict of any judge")


def backtest(
    forecast: Annotated[
        Path, typer.Option(metavar="RUN_DIR", help="The candidate's judged run (the forecast).")
    ],
    actual: Annotated[
        Path,
        typer.Option(
            metavar="SESSIONS_OR_RUN",
            help="What happened: a judged run directory, or a sessions file judged with "
            "`understudy judge FILE` (its judgments beside it, or --actual-judgments).",
        ),
    ],
    actual_judgments: Annotated[
        Path | None, typer.Option(help="The judgments of a sessions file given as --actual.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Check a forecast against deployment: per category the forecast rate and interval, the
    rate judged on the sessions the same model later produced, their multiplicative error
    max(f/a, a/f), whether the interval covered the actual rate, and the median multiplicative
    error over the categories.
    """
    from understudy.jsonl import read_models
    from understudy.judges.backtest import backtest as run_backtest
    from understudy.judges.backtest import median_error
    from understudy.judges.report import summarize, summarize_run
    from understudy.trajectory import Judgment

    predicted = summarize_run(forecast, write=False)
    if actual.is_dir():
        happened = summarize_run(actual, write=False)
    else:
        source = actual_judgments or actual.with_name(actual.stem + ".judgments.jsonl")
        if not source.is_file():
            raise ConfigError(
                f"{source}: no judgments of {actual}; judge it first (`understudy judge "
                f"{actual}`) or give --actual-judgments"
            )
        happened = summarize(list(read_models(source, Judgment)), None)
    rows = run_backtest(predicted, happened)
    if not rows:
        raise ConfigError("no category was measured on both sides (n > 0 in each)")
    median = median_error(rows)
    if as_json:
        document = {"rows": [asdict(row) for row in rows], "median_multiplicative_error": median}
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(title=f"forecast {forecast} against {actual}", show_edge=False)
    for name in (
        "category",
        "forecast/100k",
        "95% interval",
        "actual/100k",
        "k/n",
        "error",
        "covered",
    ):
        table.add_column(name, justify="left" if name == "category" else "right")
    for row in rows:
        table.add_row(
            row.category,
            f"{row.forecast_per_100k:,.0f}",
            f"[{row.low_per_100k:,.0f}, {row.high_per_100k:,.0f}]",
            f"{row.actual_per_100k:,.0f}",
            f"{row.actual_k}/{row.actual_n}",
            f"{row.multiplicative_error:.2f}x",
            "yes" if row.covered else "[bold red]no[/]",
        )
    console().print(table)
    covered = sum(row.covered for row in rows)
    console().print(
        f"median multiplicative error {median:.2f}x over {len(rows)} categories; "
        f"the interval covered {covered} of {len(rows)}"
    )
