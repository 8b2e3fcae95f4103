"""The performance goals the benchmarks measure against, and how a figure is compared with one.

Every benchmark adds ``"goals": {name: goal_figure(...), ...}`` to the JSON object it prints, so
that ``bench/run_all.py`` can put them all in one table. ``ratio`` is always "how many times the
goal", oriented so that 1.0 or more means the goal is met: the value over the goal for a rate
(higher is better), the goal over the value for a time or a size (lower is better).
"""

from __future__ import annotations

from typing import Any


def goal_figure(
    value: float, goal: float, unit: str, *, higher_is_better: bool = True
) -> dict[str, Any]:
    """``{"value", "goal", "unit", "higher_is_better", "ratio", "met"}`` for one figure."""
    if higher_is_better:
        ratio = value / goal if goal else float("inf")
    else:
        ratio = goal / value if value else float("inf")
    return {
        "value": round(value, 3),
        "goal": goal,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "ratio": round(ratio, 2),
        "met": ratio >= 1.0,
    }
