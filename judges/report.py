"""Per-category rates from judgments: the summary (summary.json) and its table.

How judgments are counted, per category:

- **n** is the number of trajectories (rollouts) with at least one verdict on the category.
  Rollouts that ended in ``error`` did not run: they are never in n, whatever judgments they
  may have, and are counted apart by error kind (``Summary.errors``). Judge error records
  (``meta["judge_error"]``) are not verdicts either. A row's **errors** counts the
  trajectories kept out of its n for either reason. **k** is the number of those flagged by
  at least one judge (several judges covering one category, e.g. a rule detector and the LLM
  judge, are combined by "any"; ``by_judge=True`` gives one row per category and judge instead).
- Only the newest attempt at each (session, cut, sample) counts (``--resume`` appends a new
  attempt after an errored one).
- Each sample of a session counts on its own; separately, **any sample** counts sessions, a
  session being flagged when any of its samples is.
- The rate shown is the observed rate k/n (none when n = 0), with the 95% Jeffreys interval
  (see :mod:`understudy.judges.stats`), per 100k; the Jeffreys point estimate
  ``(k + 0.5) / (n + 1)`` is kept as ``jeffreys_per_100k``. With baseline judgments (the
  original sessions judged alone, or another run), the row compares the candidate to the
  baseline: ratio of Jeffreys rates (finite even when k = 0), Fisher exact p-value and
  multiplicative error.
- With session weights (``report --weights``), the candidate's and the baseline's rates are
  both the weighted ones (``clustered`` and ``baseline_clustered``), from the same weights of
  the same sessions, so that they are compared like for like.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.table import Table

from understudy.errors import ConfigError
from understudy.jsonl import read_models, write_json
from understudy.judges import stats
from understudy.judges.planning import detectable_ratio
from understudy.judges.runner import (
    BASELINE_JUDGMENTS_FILE,
    JUDGMENTS_FILE,
    is_judge_error,
    read_judged_categories,
    read_judgments,
)
from understudy.run_files import ROLLOUTS_FILE
from understudy.trajectory import Judgment, Rollout, error_kind, latest_rollouts

__all__ = [
    "ANY_JUDGE",
    "SUMMARY_FILE",
    "Rate",
    "Summary",
    "SummaryRow",
    "errors_line",
    "summarize",
    "summarize_run",
    "summary_table",
    "write_summary",
]

SUMMARY_FILE = "summary.json"
ANY_JUDGE = "any"
"""The ``judge`` of a row that combines every judge of its category."""


class Rate(BaseModel):
    """``k`` flagged out of ``n``: the observed rate, the Jeffreys estimate and 95% interval,
    per 100k."""

    n: int
    k: int
    rate_per_100k: float | None
    """The observed rate k/n (None when n = 0: nothing was measured)."""
    jeffreys_per_100k: float
    """The Jeffreys point estimate (k + 0.5) / (n + 1), which ratios use."""
    low_per_100k: float
    high_per_100k: float

    @classmethod
    def of(cls, k: int, n: int) -> Rate:
        found = stats.estimate(k, n)
        jeffreys, low, high = found.per_100k()
        return cls(
            n=n,
            k=k,
            rate_per_100k=stats.per_100k(k / n) if n else None,
            jeffreys_per_100k=jeffreys,
            low_per_100k=low,
            high_per_100k=high,
        )


class ClusteredRate(BaseModel):
    """A rate whose interval accounts for several samples per session (see
    :func:`~understudy.judges.stats.clustered_estimate`), per 100k."""

    n: int
    k: int
    sessions: int
    rate_per_100k: float
    """The observed rate, each session weighted when weights are given (else k/n)."""
    weighted: bool = False
    """Whether sessions were weighted (``report --weights``)."""
    jeffreys_per_100k: float
    """The Jeffreys estimate of the effective counts."""
    low_per_100k: float
    high_per_100k: float
    design_effect: float
    """Cluster-robust over binomial variance (1: the samples are as good as independent)."""
    effective_n: float
    """How many independent samples the clustered ones are worth."""

    @classmethod
    def of(
        cls, counts: Sequence[tuple[int, int]], weights: Sequence[float] | None = None
    ) -> ClusteredRate:
        found = stats.clustered_estimate(counts, weights)
        jeffreys, low, high = found.per_100k()
        return cls(
            n=found.n,
            k=found.k,
            sessions=found.sessions,
            rate_per_100k=stats.per_100k(found.pooled),
            weighted=weights is not None,
            jeffreys_per_100k=jeffreys,
            low_per_100k=low,
            high_per_100k=high,
            design_effect=round(found.design_effect, 4),
            effective_n=round(found.effective_n, 2),
        )


class SummaryRow(BaseModel):
    """One category (and judge, or ``any``)."""

    category: str
    judge: str = ANY_JUDGE
    n: int
    """Trajectories with a verdict on the category."""
    k: int
    """Of those, flagged."""
    errors: int = 0
    """Trajectories kept out of n: rollouts that ended in error, and trajectories with judge
    error records only."""
    rate_per_100k: float | None
    """The observed rate k/n per 100k (None when n = 0)."""
    jeffreys_per_100k: float
    """The Jeffreys point estimate per 100k."""
    low_per_100k: float
    high_per_100k: float
    any_sample: Rate | None = None
    """Sessions, flagged when any of their samples is (None when no rollouts were given)."""
    clustered: ClusteredRate | None = None
    """The rate with its interval clustered by session, when some session has more than one
    judged sample or sessions are weighted (None otherwise: then the samples are independent
    and the Jeffreys interval above is the one)."""
    baseline: Rate | None = None
    """The baseline's observed rate k/n."""
    baseline_clustered: ClusteredRate | None = None
    """The baseline's rate weighted like the candidate's ``clustered`` (None without weights),
    which the ratio, the p-value and the detectable ratio then use."""
    ratio: float | None = None
    """Jeffreys rate of the candidate over that of the baseline."""
    p_value: float | None = None
    """Two-sided Fisher exact test against the baseline."""
    multiplicative_error: float | None = None
    """``max(ratio, 1/ratio)``."""
    detectable_ratio: float | None = None
    """The smallest ratio above 1 to the baseline that a run of this size detects with 80%
    power (at the baseline's rate, or this rate without one; see
    :mod:`~understudy.judges.planning`); None when n = 0 or not even the largest can be."""


class Summary(BaseModel):
    """Rates per category, with what they were computed from."""

    rows: list[SummaryRow] = Field(default_factory=list)
    trajectories: int = 0
    """Distinct targets with at least one verdict."""
    rollouts: int | None = None
    """Rollouts of the run, newest attempt per key (None when no rollouts were given)."""
    errors: dict[str, int] = Field(default_factory=dict)
    """Rollouts that ended in error, by kind (environment, candidate, sandbox, prefix,
    harness): they did not run and are in no rate's n."""
    sessions: int = 0
    """Distinct sessions among them (by the rollouts given)."""
    baseline_trajectories: int | None = None
    judges: list[str] = Field(default_factory=list)
    judge_models: list[str] = Field(default_factory=list)
    prompt_hashes: list[str] = Field(default_factory=list)
    taxonomy_versions: list[str] = Field(default_factory=list)
    judge_errors: int = 0
    """Judge error records."""
    dropped_evidence: int = 0
    """Evidence quotes the LLM judge gave that could not be found in the transcript."""
    downgraded: int = 0
    """Flags unflagged for want of verified evidence."""
    unmatched: int = 0
    """Judgments whose target is not among the rollouts given (left out)."""


# -- counting ----------------------------------------------------------------------------------


class _Tally:
    """Per (category, judge key), which targets have a verdict, are flagged, have errors only."""

    def __init__(self) -> None:
        self.judged: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.flagged: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.errored: dict[tuple[str, str], set[str]] = defaultdict(set)

    def add(self, judgment: Judgment, judge_key: str) -> None:
        key = (judgment.category, judge_key)
        if is_judge_error(judgment):
            self.errored[key].add(judgment.target_id)
            return
        self.judged[key].add(judgment.target_id)
        if judgment.flagged:
            self.flagged[key].add(judgment.target_id)

    def keys(self) -> set[tuple[str, str]]:
        return set(self.judged) | set(self.errored)


def _tally(judgments: Iterable[Judgment], by_judge: bool) -> _Tally:
    tally = _Tally()
    for judgment in judgments:
        tally.add(judgment, judgment.judge if by_judge else ANY_JUDGE)
    return tally


def _sorted_unique(values: Iterable[Any]) -> list[str]:
    return sorted({str(value) for value in values if value})


def summarize(
    judgments: Sequence[Judgment],
    rollouts: Sequence[Rollout] | None,
    baseline_judgments: Sequence[Judgment] | None = None,
    *,
    by_judge: bool = False,
    order: Sequence[str] | None = None,
    categories: Sequence[str] = (),
    weights: Mapping[str, float] | None = None,
    baseline_sessions: Mapping[str, str] | None = None,
) -> Summary:
    """Rates per category of ``judgments`` (on ``rollouts``), against the baseline if given.

    ``weights`` (session id -> weight; a session without one weighs 1) reweight the rates to
    the population the sessions stand for: each row's ``clustered`` rate (and, with a
    baseline, its ``baseline_clustered`` rate) is then the weighted one, with the effective
    sample size the weights leave. ``baseline_sessions`` maps the baseline's targets to their
    sessions (another run's rollouts); a target not in it is a session itself (the original
    sessions judged alone).

    With ``rollouts``, judgments of other targets are left out (and counted as ``unmatched``),
    rollouts that ended in error are kept out of every n (and counted by kind), and the "any
    sample" rates are computed; with None, every judgment counts and targets are their own
    sessions. ``order`` lists category ids in the order the rows should come (taxonomy order);
    others follow alphabetically. ``categories`` get a row even without any verdict (n = 0),
    so that a run whose every rollout errored shows what it failed to measure.
    """
    session_of: dict[str, str] | None = None
    unmatched = 0
    errors: Counter[str] = Counter()
    if rollouts is not None:
        newest = latest_rollouts(rollouts)
        errors.update(error_kind(r) for r in newest if r.status == "error")
        session_of = {r.id: r.session_id for r in newest if r.status != "error"}
        errored_ids = {r.id for r in newest if r.status == "error"}
        kept = [j for j in judgments if j.target_id in session_of]
        unmatched = sum(
            j.target_id not in session_of and j.target_id not in errored_ids for j in judgments
        )
        judgments = kept
    tally = _tally(judgments, by_judge)
    base = _tally(baseline_judgments, by_judge) if baseline_judgments is not None else None
    keys = tally.keys() | (base.keys() if base is not None else set())
    if not by_judge:
        keys |= {(category, ANY_JUDGE) for category in categories}
    rank = {category: position for position, category in enumerate(order or [])}
    baseline = _Baseline(base, baseline_sessions or {}) if base is not None else None
    rows = [
        _row(category, judge_key, tally, baseline, session_of, sum(errors.values()), weights)
        for category, judge_key in sorted(
            keys, key=lambda key: (rank.get(key[0], len(rank)), key[0], key[1])
        )
    ]
    judged_targets = {target for targets in tally.judged.values() for target in targets}
    metas = [j.meta for j in judgments]
    baseline_targets = (
        {t for targets in base.judged.values() for t in targets} if base is not None else None
    )
    return Summary(
        rows=rows,
        trajectories=len(judged_targets),
        rollouts=len(session_of) + sum(errors.values()) if session_of is not None else None,
        errors=dict(errors),
        sessions=len({session_of.get(t, t) for t in judged_targets})
        if session_of is not None
        else len(judged_targets),
        baseline_trajectories=len(baseline_targets) if baseline_targets is not None else None,
        judges=_sorted_unique(j.judge for j in judgments),
        judge_models=_sorted_unique(meta.get("judge_model") for meta in metas),
        prompt_hashes=_sorted_unique(meta.get("prompt_sha256") for meta in metas),
        taxonomy_versions=_sorted_unique(meta.get("taxonomy_version") for meta in metas),
        judge_errors=sum(is_judge_error(j) for j in judgments),
        dropped_evidence=sum(int(meta.get("dropped_evidence") or 0) for meta in metas),
        downgraded=sum(1 for meta in metas if meta.get("downgraded")),
        unmatched=unmatched,
    )


class _Baseline:
    """The baseline's verdicts, and the session of each of its targets."""

    def __init__(self, tally: _Tally, sessions: Mapping[str, str]) -> None:
        self.tally = tally
        self.sessions = sessions

    def session_of(self, targets: Iterable[str]) -> dict[str, str]:
        return {target: self.sessions.get(target, target) for target in targets}


def _row(
    category: str,
    judge_key: str,
    tally: _Tally,
    base: _Baseline | None,
    session_of: Mapping[str, str] | None,
    errored_rollouts: int,
    weights: Mapping[str, float] | None = None,
) -> SummaryRow:
    key = (category, judge_key)
    judged, flagged = tally.judged.get(key, set()), tally.flagged.get(key, set())
    errors = len(tally.errored.get(key, set()) - judged) + errored_rollouts
    n, k = len(judged), len(flagged)
    rate = Rate.of(k, n)
    any_sample = clustered = None
    if session_of is not None:
        sessions = {session_of[target] for target in judged}
        flagged_sessions = {session_of[target] for target in flagged}
        any_sample = Rate.of(len(flagged_sessions), len(sessions))
        if len(sessions) < n or weights is not None:  # not independent, or not alike
            per_session = _per_session(judged, flagged, session_of)
            clustered = ClusteredRate.of(
                [counts for _, counts in per_session],
                _weights_of(per_session, weights) if weights is not None else None,
            )
    row = SummaryRow(
        category=category,
        judge=judge_key,
        n=n,
        k=k,
        errors=errors,
        rate_per_100k=rate.rate_per_100k,
        jeffreys_per_100k=rate.jeffreys_per_100k,
        low_per_100k=rate.low_per_100k,
        high_per_100k=rate.high_per_100k,
        any_sample=any_sample,
        clustered=clustered,
    )
    candidate_n = clustered.effective_n if clustered is not None else float(n)
    # Against the baseline's rate and size, or (without one) a baseline like this run.
    against, against_n = rate.jeffreys_per_100k / stats.PER, candidate_n
    if base is not None:
        # Weighted like the candidate, or the two would measure different populations.
        weighted = weights if clustered is not None and clustered.weighted else None
        against, against_n = _compare(row, clustered, base, weighted)
    row.detectable_ratio = detectable_ratio(against, candidate_n, against_n)
    return row


def _compare(
    row: SummaryRow,
    clustered: ClusteredRate | None,
    base: _Baseline,
    weights: Mapping[str, float] | None,
) -> tuple[float, float]:
    """Set the row's baseline rate and comparison; the baseline's rate and (effective) n."""
    key = (row.category, row.judge)
    judged, flagged = base.tally.judged.get(key, set()), base.tally.flagged.get(key, set())
    n_b, k_b = len(judged), len(flagged)
    row.baseline = Rate.of(k_b, n_b)
    against, against_n = row.baseline.jeffreys_per_100k / stats.PER, float(n_b)
    if weights is not None:
        per_session = _per_session(judged, flagged, base.session_of(judged))
        weighted = ClusteredRate.of(
            [counts for _, counts in per_session], _weights_of(per_session, weights)
        )
        row.baseline_clustered = weighted
        against, against_n = weighted.jeffreys_per_100k / stats.PER, weighted.effective_n
    if row.n > 0 and n_b > 0:
        # Compare as many independent samples as each side is worth.
        k, n = _effective_counts(clustered) if clustered is not None else (row.k, row.n)
        if row.baseline_clustered is not None:
            k_b, n_b = _effective_counts(row.baseline_clustered)
        comparison = stats.compare(k, n, k_b, n_b)
        row.ratio = comparison.ratio
        row.p_value = comparison.p_value
        row.multiplicative_error = comparison.multiplicative_error
    return against, against_n


def _weights_of(
    per_session: Sequence[tuple[str, tuple[int, int]]], weights: Mapping[str, float]
) -> list[float]:
    """Each session's weight; a session without one weighs 1 (candidate and baseline alike)."""
    return [weights.get(session, 1.0) for session, _ in per_session]


def _per_session(
    judged: set[str], flagged: set[str], session_of: Mapping[str, str]
) -> list[tuple[str, tuple[int, int]]]:
    """Each session and its (flagged, judged) samples."""
    counts: dict[str, list[int]] = {}
    for target in judged:
        tally = counts.setdefault(session_of[target], [0, 0])
        tally[0] += target in flagged
        tally[1] += 1
    return [(session, (k, n)) for session, (k, n) in sorted(counts.items())]


def _effective_counts(clustered: ClusteredRate) -> tuple[int, int]:
    """The effective counts, rounded for the Fisher test (at least one sample): the effective
    n at the (weighted) observed rate."""
    n = max(1, round(clustered.effective_n))
    if not clustered.n:
        return 0, n
    # Unweighted, k/n exactly (the rate per 100k would round it); weighted, the weighted rate.
    share = clustered.rate_per_100k / stats.PER if clustered.weighted else clustered.k / clustered.n
    return min(n, round(share * n)), n


# -- files -------------------------------------------------------------------------------------


def write_summary(summary: Summary, path: Path | str) -> None:
    """Write the summary as JSON, atomically (a reader never sees half a file)."""
    write_json(path, summary.model_dump(mode="json"))


@dataclass(frozen=True)
class RunRecords:
    """What a run directory holds for a report, read once: every rollout attempt (None without
    a rollouts.jsonl) and the judgments."""

    attempts: list[Rollout] | None
    judgments: list[Judgment]

    @classmethod
    def read(cls, run_dir: Path | str) -> RunRecords:
        run_dir = Path(run_dir)
        judgments_file = run_dir / JUDGMENTS_FILE
        if not judgments_file.exists():
            raise ConfigError(f"{run_dir} has no {JUDGMENTS_FILE}: judge the run first")
        return cls(_rollouts_in(run_dir), read_judgments(judgments_file))


def summarize_run(
    run_dir: Path | str,
    baseline: str | Path | None = None,
    *,
    by_judge: bool = False,
    order: Sequence[str] | None = None,
    write: bool = True,
    weights: Mapping[str, float] | None = None,
    records: RunRecords | None = None,
) -> Summary:
    """The summary of a run directory's judgments, written to its summary.json.

    ``baseline`` is ``"original"`` (the run's ``baseline_judgments.jsonl``, from
    ``judge_run(..., baseline=True)``), another run directory (its rollouts' judgments), or
    None. ``records`` are the run directory's, when the caller has read them already.
    """
    run_dir = Path(run_dir)
    records = records or RunRecords.read(run_dir)
    rollouts = records.attempts
    baseline_judgments: list[Judgment] | None = None
    baseline_sessions: dict[str, str] | None = None  # None: the targets are the sessions
    if baseline is not None:
        if str(baseline) == "original":
            source = run_dir / BASELINE_JUDGMENTS_FILE
            if not source.exists():
                raise ConfigError(
                    f"{run_dir} has no {BASELINE_JUDGMENTS_FILE}: judge the original sessions "
                    "first (the baseline)"
                )
            baseline_judgments = read_judgments(source)
        else:
            other = Path(baseline)
            if not (other / JUDGMENTS_FILE).exists():
                raise ConfigError(f"baseline run {other} has no {JUDGMENTS_FILE}")
            other_rollouts = _rollouts_in(other)
            other_judgments = read_judgments(other / JUDGMENTS_FILE)
            if other_rollouts is not None:
                baseline_sessions = {
                    r.id: r.session_id
                    for r in latest_rollouts(other_rollouts)
                    if r.status != "error"
                }
                other_judgments = [j for j in other_judgments if j.target_id in baseline_sessions]
            baseline_judgments = other_judgments
    summary = summarize(
        records.judgments,
        rollouts,
        baseline_judgments,
        by_judge=by_judge,
        order=order,
        categories=read_judged_categories(run_dir),
        weights=weights,
        baseline_sessions=baseline_sessions,
    )
    if write:
        write_summary(summary, run_dir / SUMMARY_FILE)
    return summary


def _rollouts_in(run_dir: Path) -> list[Rollout] | None:
    """A run directory's rollouts; None when it has no rollouts.jsonl."""
    path = run_dir / ROLLOUTS_FILE
    return list(read_models(path, Rollout)) if path.exists() else None


# -- the table ---------------------------------------------------------------------------------


def _per_100k(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _interval(low: float, high: float, n: int) -> str:
    return f"[{_per_100k(low)}, {_per_100k(high)}]" if n else "-"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def errors_line(summary: Summary) -> str | None:
    """A warning sentence when rollouts ended in error (None when none did)."""
    errored = sum(summary.errors.values())
    if not errored:
        return None
    kinds = " ".join(f"{kind}={count}" for kind, count in sorted(summary.errors.items()))
    return (
        f"{errored} of {summary.rollouts} rollout(s) ended in error ({kinds}): they did not run "
        "and are in no n; see rollouts.jsonl, and `understudy run --resume` to run them again"
    )


def detectable_line(summary: Summary) -> str | None:
    """What this run can tell apart from its baseline: the detectable ratio per category."""
    rows = [r for r in summary.rows if r.judge == ANY_JUDGE and r.detectable_ratio is not None]
    if not rows:
        return None
    against = "the baseline" if any(r.baseline is not None for r in rows) else "a baseline as large"
    shown = ", ".join(f"{r.category} {r.detectable_ratio:.2g}x" for r in rows)
    return f"detectable with 80% power (rate ratio to {against}): {shown}"


def _baseline_rate(row: SummaryRow) -> str:
    """The baseline's rate, weighted like the candidate's when it is."""
    if row.baseline_clustered is not None:
        return _per_100k(row.baseline_clustered.rate_per_100k)
    return _per_100k(row.baseline.rate_per_100k) if row.baseline else "-"


def summary_table(summary: Summary, title: str | None = None) -> Table:
    """The summary as a rich Table: category, n, k, errors, observed rate/100k, 95% interval,
    baseline, ratio, p, and flagged-in-any-sample."""
    has_baseline = any(row.baseline is not None for row in summary.rows)
    has_any = any(row.any_sample is not None for row in summary.rows)
    clustered = any(row.clustered is not None for row in summary.rows)
    by_judge = any(row.judge != ANY_JUDGE for row in summary.rows)
    table = Table(title=title or f"Rates per category ({summary.trajectories} trajectories)")
    # Category ids are what --fail-on takes: shown whole, the numbers wrap instead.
    longest = max((len(row.category) for row in summary.rows), default=8)
    table.add_column("category", no_wrap=True, min_width=longest)
    if by_judge:
        table.add_column("judge")
    weighted = any(row.clustered is not None and row.clustered.weighted for row in summary.rows)
    interval = "95% interval (by session)" if clustered else "95% interval"
    if weighted:
        interval = "95% interval (weighted)"
    rate = "weighted rate/100k" if weighted else "rate/100k"
    baseline = "weighted baseline/100k" if weighted else "baseline/100k"
    for name in ("n", "k", "errors", rate, interval):
        table.add_column(name, justify="right")
    if clustered:
        table.add_column("effective n", justify="right")
    if has_baseline:
        for name in (baseline, "ratio", "p"):
            table.add_column(name, justify="right")
    if has_any:
        table.add_column("any sample", justify="right")
    for row in summary.rows:
        cells = [row.category]
        if by_judge:
            cells.append(row.judge)
        cells += [
            str(row.n),
            str(row.k),
            str(row.errors),
            _per_100k(
                row.clustered.rate_per_100k
                if row.clustered is not None and row.clustered.weighted
                else row.rate_per_100k
            ),
        ]
        if row.clustered is not None:
            cells.append(_interval(row.clustered.low_per_100k, row.clustered.high_per_100k, row.n))
        else:
            cells.append(_interval(row.low_per_100k, row.high_per_100k, row.n))
        if clustered:
            cells.append(f"{row.clustered.effective_n:g}" if row.clustered else str(row.n))
        if has_baseline:
            cells += [
                _baseline_rate(row),
                f"{row.ratio:.2f}" if row.ratio is not None else "-",
                _p(row.p_value),
            ]
        if has_any:
            any_sample = row.any_sample
            cells.append(f"{any_sample.k}/{any_sample.n}" if any_sample is not None else "-")
        style = "bold red" if row.k and row.p_value is not None and row.p_value < 0.05 else None
        table.add_row(*cells, style=style)
    return table
