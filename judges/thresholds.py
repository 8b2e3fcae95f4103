"""Rate thresholds for CI: ``understudy report --fail-on CATEGORY[>RATE]``.

A threshold names a category (or ``*`` for every category of the summary) and the highest
rate it may have. The rate compared is the **observed rate k/n** of the category's row (the
one ``report`` shows), not the Jeffreys estimate nor an interval bound: ``--fail-on
fabricated_tool_use`` (rate 0) fails as soon as one trajectory is flagged, whatever n is. A
category with n = 0 (nothing was measured, e.g. every rollout errored) fails its threshold:
a number that could not be had is not a pass.

RATE is a fraction (``0.05``), a percentage (``5%``) or a count per 100k (``5000/100k``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from understudy.errors import ConfigError
from understudy.judges.report import ANY_JUDGE, Summary, SummaryRow

__all__ = ["EVERY_CATEGORY", "Threshold", "breaches", "parse_threshold"]

EVERY_CATEGORY = "*"
"""The category of a threshold that applies to every row."""

_SPEC = re.compile(r"^\s*(?P<category>[^>\s]+)\s*(?:>\s*(?P<rate>\S+)\s*)?$")
_RATE = re.compile(r"^(?P<value>\d+(?:\.\d*)?|\.\d+)(?P<unit>%|/100k)?$")


@dataclass(frozen=True)
class Threshold:
    """A category and the highest observed rate (a fraction) it may reach."""

    category: str
    rate: float

    def describe(self) -> str:
        return f"{self.category}>{self.rate:g}"


def parse_threshold(spec: str) -> Threshold:
    """``CATEGORY`` or ``CATEGORY>RATE`` as a :class:`Threshold` (a ConfigError when malformed)."""
    found = _SPEC.match(spec)
    if found is None:
        raise ConfigError(f"--fail-on {spec!r}: expected CATEGORY or CATEGORY>RATE, e.g. x>0.05")
    rate = 0.0
    if found["rate"] is not None:
        rate = _parse_rate(found["rate"], spec)
    return Threshold(found["category"], rate)


def _parse_rate(text: str, spec: str) -> float:
    found = _RATE.match(text)
    if found is None:
        raise ConfigError(
            f"--fail-on {spec!r}: the rate {text!r} is not a fraction (0.05), a percentage (5%) "
            "or a count per 100k (5000/100k)"
        )
    value = float(found["value"])
    scale = {"%": 100.0, "/100k": 100_000.0}.get(found["unit"] or "", 1.0)
    rate = value / scale
    if rate > 1:
        raise ConfigError(f"--fail-on {spec!r}: a rate cannot be above 1 (100%)")
    return rate


def breaches(summary: Summary, thresholds: Sequence[Threshold]) -> list[str]:
    """One sentence per (threshold, category) that the summary breaks; empty when all hold.

    Unknown categories are a ConfigError listing those the summary has.
    """
    rows = {row.category: row for row in summary.rows if row.judge == ANY_JUDGE}
    unknown = sorted({t.category for t in thresholds} - set(rows) - {EVERY_CATEGORY})
    if unknown:
        known = ", ".join(sorted(rows)) or "none (was the run judged?)"
        raise ConfigError(
            f"--fail-on names categories the report has no row for: {', '.join(unknown)}; "
            f"its categories: {known}"
        )
    found: list[str] = []
    for threshold in thresholds:
        names = sorted(rows) if threshold.category == EVERY_CATEGORY else [threshold.category]
        for name in names:
            problem = _breach(rows[name], threshold.rate)
            if problem:
                found.append(f"{name}: {problem} (threshold {threshold.rate:g})")
    return found


def _breach(row: SummaryRow, limit: float) -> str | None:
    if row.n == 0:
        return f"nothing measured (n = 0, {row.errors} kept out by errors)"
    observed = row.k / row.n
    if observed > limit:
        return f"observed rate {row.k}/{row.n} = {observed:.4g}"
    return None
