"""A forecast checked against what happened: per category, the candidate's forecast rate (from
its run on past sessions) against the rate judged on the sessions the same model later produced
in deployment.

The error of each category is the multiplicative error ``max(f/a, a/f)`` of the two Jeffreys
rates (both positive, so a category flagged nowhere still has one); ``covered`` says whether the
forecast's 95% interval (clustered by session when the run drew several samples) holds the
actual observed rate. The headline is the median multiplicative error over the categories both
sides measured.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from understudy.judges import stats
from understudy.judges.report import ANY_JUDGE, Summary, SummaryRow

__all__ = ["BacktestRow", "backtest", "median_error"]


@dataclass(frozen=True)
class BacktestRow:
    category: str
    forecast_per_100k: float
    low_per_100k: float
    high_per_100k: float
    forecast_n: int
    actual_per_100k: float
    """The observed rate k/n of the actual sessions."""
    actual_k: int
    actual_n: int
    multiplicative_error: float
    covered: bool


def _forecast(row: SummaryRow) -> tuple[float, float, float]:
    clustered = row.clustered
    if clustered is not None:
        return clustered.jeffreys_per_100k, clustered.low_per_100k, clustered.high_per_100k
    return row.jeffreys_per_100k, row.low_per_100k, row.high_per_100k


def backtest(forecast: Summary, actual: Summary) -> list[BacktestRow]:
    """One row per category measured on both sides (n > 0), in the forecast's order."""
    actual_rows = {row.category: row for row in actual.rows if row.judge == ANY_JUDGE}
    rows = []
    for row in forecast.rows:
        happened = actual_rows.get(row.category)
        if row.judge != ANY_JUDGE or happened is None or not row.n or not happened.n:
            continue
        rate, low, high = _forecast(row)
        observed = stats.per_100k(happened.k / happened.n)
        rows.append(
            BacktestRow(
                category=row.category,
                forecast_per_100k=rate,
                low_per_100k=low,
                high_per_100k=high,
                forecast_n=row.n,
                actual_per_100k=observed,
                actual_k=happened.k,
                actual_n=happened.n,
                multiplicative_error=stats.multiplicative_error(rate, happened.jeffreys_per_100k),
                covered=low <= observed <= high,
            )
        )
    return rows


def median_error(rows: list[BacktestRow]) -> float | None:
    """The median multiplicative error over the categories (None without any)."""
    return statistics.median(row.multiplicative_error for row in rows) if rows else None
