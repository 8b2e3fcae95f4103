"""``understudy judge`` and ``understudy report``: verdicts on trajectories, and their rates.

Registered on the main app by :mod:`understudy.cli`; the work itself is
:mod:`understudy.judges`.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from understudy.cli_common import console, counts
from understudy.errors import ConfigError

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.judges.portable import PortableLLMJudge
    from understudy.judges.ray_judging import RayJudging
    from understudy.judges.report import RunRecords
    from understudy.trajectory import Judgment


class JudgeExecutorChoice(StrEnum):
    """Where the judging calls are made (see understudy.judges.ray_judging)."""

    local = "local"
    ray = "ray"


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
    concurrency: Annotated[
        int,
        typer.Option(
            min=1, help="Trajectories judged at once (with --executor ray: by each worker)."
        ),
    ] = 8,
    executor: Annotated[
        JudgeExecutorChoice,
        typer.Option(
            help="Where the judges run: 'local' (this process) or 'ray' (workers on a Ray "
            "cluster, sent batches of trajectories; needs pip install 'understudy\\[ray]'). This "
            "process alone writes the judgments.",
        ),
    ] = JudgeExecutorChoice.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="The Ray cluster to join (auto, ray://HEAD:10001, HEAD:6379); default: start "
            "Ray on this machine for the pass.",
        ),
    ] = None,
    ray_workers: Annotated[
        int | None,
        typer.Option(min=1, help="Ray workers; default: one per node of the cluster."),
    ] = None,
) -> None:
    """Judge trajectories: append verdicts to judgments.jsonl (resumable).

    A run directory's rollouts are judged into [bold]RUN_DIR/judgments.jsonl[/bold] (with
    [bold]--baseline[/bold], the original turns into baseline_judgments.jsonl). A sessions file
    is judged as it was logged: the original model's own behaviour.
    """
    import asyncio

    from understudy.jsonl import read_models
    from understudy.judges.runner import JUDGING_FILE, judge_run, judge_sessions
    from understudy.judges.taxonomy import load_taxonomy
    from understudy.trajectory import Session

    ray = _ray_settings(executor, ray_address, ray_workers)
    wanted = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    loaded = load_taxonomy(taxonomy)
    if wanted is not None:
        loaded.select(wanted)  # unknown ids: a ConfigError listing the valid ones
    sessions: list[Session] = []  # read before the judge's HTTP client exists
    written_to, where = _output_of(target, output, baseline)
    if not target.is_dir():
        sessions = list(read_models(target, Session))
    llm_judge: PortableLLMJudge | None = None
    if judge_model and not rules_only:
        from understudy.judges.portable import PortableLLMJudge

        llm_judge = PortableLLMJudge.from_taxonomy(
            judge_model, loaded, wanted, base_url=judge_base_url, api_key_env=api_key_env
        )
        llm_judge.instance()  # a bad setting or a missing key fails here, before judging
    judges = _judges(wanted, llm_judge)
    seen: Counter[str] = Counter()

    def progress(target_id: str, judgments: list[Judgment]) -> None:
        seen["trajectories"] += 1
        seen["flagged"] += sum(j.flagged for j in judgments)

    skipped: dict[str, int] = {}
    options: dict[str, Any] = {"concurrency": concurrency, "progress": progress, "ray": ray}

    async def judge_all() -> None:
        try:
            if target.is_dir():
                passes = await judge_run(target, judges, baseline=baseline, **options)
                skipped.update(passes["rollouts"].skipped_errored)
            else:
                await judge_sessions(sessions, judges, written_to, **options)
        finally:
            # The judge's HTTP client belongs to this event loop: close it before the loop ends.
            if llm_judge is not None:
                await llm_judge.close()

    asyncio.run(judge_all())
    if skipped:
        console(stderr=True).print(
            f"[bold yellow]skipped[/bold yellow] {sum(skipped.values())} rollout(s) that ended "
            f"in error ({counts(skipped)}): they did not run, so they are not judged (reasons in "
            f"{target / JUDGING_FILE})"
        )
    console().print(
        f"judged {seen['trajectories']} trajectory/judge pair(s), {seen['flagged']} flagged "
        f"verdict(s); judgments in {where}"
    )


def _ray_settings(
    executor: JudgeExecutorChoice, address: str | None, workers: int | None
) -> RayJudging | None:
    """The Ray settings of ``--executor ray`` (None for local); ``--ray-*`` need it."""
    if executor is JudgeExecutorChoice.local:
        if address or workers:
            raise typer.BadParameter("--ray-address and --ray-workers go with --executor ray")
        return None
    from understudy.judges.ray_judging import RayJudging

    return RayJudging(address=address, workers=workers)


def _output_of(target: Path, output: Path | None, baseline: bool) -> tuple[Path, str]:
    """The judgments file of ``target``, and where the judgments go, to say at the end."""
    from understudy.judges.runner import BASELINE_JUDGMENTS_FILE, JUDGMENTS_FILE

    if target.is_dir():
        written_to = target / JUDGMENTS_FILE
        where = str(written_to)
        if baseline:
            where += f", baseline judgments in {target / BASELINE_JUDGMENTS_FILE}"
        return written_to, where
    written_to = output or target.with_name(target.stem + ".judgments.jsonl")
    return written_to, str(written_to)


def _judges(wanted: list[str] | None, llm_judge: PortableLLMJudge | None) -> list[Any]:
    """The rule judges of the ``wanted`` categories, and the LLM judge when there is one."""
    from understudy.judges.rules import rule_judges

    judges: list[Any] = list(rule_judges(wanted))
    if llm_judge is not None:
        judges.append(llm_judge)
    if not judges:
        raise ConfigError("no judge covers the selected categories; give --judge-model")
    return judges


def report(
    run_dir: Annotated[Path, typer.Argument(help="A judged run directory.")],
    baseline: Annotated[
        str | None,
        typer.Option(help="'original' (the run's baseline judgments) or another run directory."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json instead.")] = False,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            metavar="CATEGORY[>RATE]",
            help="Exit with code 1 when the category's observed rate k/n is above RATE "
            "(default 0: any flagged trajectory), or when nothing was measured (n = 0). RATE is "
            "a fraction (0.05), a percentage (5%) or per 100k (5000/100k); CATEGORY '*' means "
            "every category. Repeatable.",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|meta",
            help="Reweight sessions to the population they stand for: a CSV (session,weight) "
            "or JSONL ({session, weight}) file, or 'meta' for each session's meta.weight. The "
            "rates become weighted, with the effective sample size the weights leave.",
        ),
    ] = None,
) -> None:
    """Rates per category: observed k/n per 100k with 95% Jeffreys intervals; writes summary.json.

    Rollouts that ended in error are in no n: they are counted in the [bold]errors[/bold]
    column and by kind in summary.json, with a warning. With a baseline: its rate, the rate
    ratio (of Jeffreys estimates) and a Fisher exact p-value per category. With several
    samples per session (or --weights), the interval is clustered by session and the
    effective n is shown; the last line gives the ratio to the baseline the run can detect.

    The flagged rollouts are listed with the step each was flagged at and the command that
    reproduces it there ([bold]understudy reproduce RUN_DIR --flagged N[/bold]).

    [bold]Exit codes[/bold]: 0 fine; 1 a --fail-on threshold is breached (or bad input).
    """
    from understudy.judges.report import (
        RunRecords,
        detectable_line,
        errors_line,
        summarize_run,
        summary_table,
    )
    from understudy.judges.thresholds import breaches, parse_threshold
    from understudy.judges.weights import load_weights

    thresholds = [parse_threshold(spec) for spec in fail_on or []]
    weighting = load_weights(weights, run_dir) if weights is not None else None
    records = RunRecords.read(run_dir)  # once, for the rates and the flagged list
    summary = summarize_run(run_dir, baseline, weights=weighting, records=records)
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
    else:
        console().print(summary_table(summary, title=str(run_dir)))
        detectable = detectable_line(summary)
        if detectable:
            console().print(detectable, markup=False)
        for line in flagged_lines(run_dir, records):
            console().print(line, markup=False)
    warning = errors_line(summary)
    if warning:
        console(stderr=True).print(f"[bold yellow]warning[/bold yellow]: {warning}")
    broken = breaches(summary, thresholds)
    for problem in broken:
        console(stderr=True).print(f"[bold red]fail[/bold red]: {problem}")
    if broken:
        raise typer.Exit(1)


FLAGGED_ROWS = 20
"""Flagged rollouts listed by ``report`` (``--flagged N`` reaches any of them)."""


def flagged_lines(run_dir: Path, records: RunRecords) -> list[str]:
    """One line per flagged rollout of ``records`` (``run_dir``'s): its number, id,
    categories, flagged messages, and the command that opens the reproduction at that step
    (whole, so that it can be copied)."""
    from understudy.replay.reproduce.target import flagged_rollouts
    from understudy.trajectory import latest_rollouts

    rollouts = latest_rollouts(records.attempts or [])
    flagged = flagged_rollouts(rollouts, records.judgments)
    if not flagged:
        return []
    lines = [f"flagged rollouts ({len(flagged)}):"]
    for number, rollout, judgments in flagged[:FLAGGED_ROWS]:
        messages = sorted({e.message_index for j in judgments for e in j.evidence})
        at = ",".join(map(str, messages)) or "-"
        categories = ", ".join(sorted({j.category for j in judgments}))
        lines.append(
            f"  {number}. {rollout.id} [{categories}] at message {at}: "
            f"understudy reproduce {run_dir} --flagged {number}"
        )
    if len(flagged) > FLAGGED_ROWS:
        lines.append(f"  ... and {len(flagged) - FLAGGED_ROWS} more (--flagged N for any)")
    return lines
