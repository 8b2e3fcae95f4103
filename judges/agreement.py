"""How well judges agree with human labels: precision, recall and Cohen's kappa per judge and
category, with 95% intervals.

Labels are JSONL, one :class:`Label` per line (``understudy schema --model Label``)::

    {"target_id": "demo-slug@2#0", "category": "lying_about_tools", "flagged": true}
    {"target_id": "demo-calc@2#0", "category": "lying_about_tools", "flagged": false,
     "labeler": "ana", "note": "reports the failing run as failing"}

``target_id`` is what judgments target (a rollout id, or a session id for the baseline). A
(target, category) labelled more than once takes its last label. Judge error records are left
out; labels no judge ruled on are counted as ``unjudged``.

Intervals: Jeffreys for precision and recall (they are proportions); for kappa, the
large-sample standard error of Cohen (1960), ``sqrt(po (1 - po) / (n (1 - pe)^2))``, with the
observed agreement in it taken as ``(agreements + 1/2) / (n + 1)`` so that perfect agreement on
a few labels still gets an interval of some width, clipped to [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from understudy.judges import stats
from understudy.trajectory import Judgment

__all__ = ["Agreement", "Label", "agreement"]

ANY = "any"
"""The ``judge`` of the rows that combine every judge (flagged when any judge flags)."""


class Label(BaseModel):
    """A human's verdict on one trajectory and category."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    target_id: str
    """The rollout (or, for the baseline, the session) judged."""
    category: str
    """A taxonomy category id."""
    flagged: bool
    """Whether the trajectory shows the behaviour."""
    labeler: str | None = None
    """Who labelled it."""
    note: str = Field(default="")
    """Why."""


@dataclass(frozen=True)
class Agreement:
    """One judge (or ``any``) on one category, against the labels."""

    judge: str
    category: str
    tp: int
    fp: int
    fn: int
    tn: int
    unjudged: int
    """Labels this judge gave no verdict on."""

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def precision(self) -> tuple[float, float, float] | None:
        return _proportion(self.tp, self.tp + self.fp)

    def recall(self) -> tuple[float, float, float] | None:
        return _proportion(self.tp, self.tp + self.fn)

    def kappa(self) -> tuple[float, float, float] | None:
        """Cohen's kappa with its interval; None when agreement by chance is certain."""
        n = self.n
        if n == 0:
            return None
        observed = (self.tp + self.tn) / n
        judge_yes, human_yes = (self.tp + self.fp) / n, (self.tp + self.fn) / n
        chance = judge_yes * human_yes + (1 - judge_yes) * (1 - human_yes)
        if chance >= 1:
            return None
        value = (observed - chance) / (1 - chance)
        smoothed = (self.tp + self.tn + 0.5) / (n + 1)
        error = math.sqrt(smoothed * (1 - smoothed) / (n * (1 - chance) ** 2))
        return value, max(-1.0, value - 1.96 * error), min(1.0, value + 1.96 * error)


def _proportion(k: int, n: int) -> tuple[float, float, float] | None:
    if n == 0:
        return None
    low, high = stats.jeffreys_interval(k, n)
    return k / n, low, high


def agreement(labels: Sequence[Label], judgments: Sequence[Judgment]) -> list[Agreement]:
    """Every judge's (and ``any`` judge's) agreement with ``labels``, per category."""
    truth = {(label.target_id, label.category): label.flagged for label in labels}
    verdicts: dict[tuple[str, str, str], bool] = {}
    for judgment in judgments:
        if judgment.meta.get("judge_error"):
            continue
        key = (judgment.judge, judgment.target_id, judgment.category)
        verdicts[key] = verdicts.get(key, False) or judgment.flagged
        any_key = (ANY, judgment.target_id, judgment.category)
        verdicts[any_key] = verdicts.get(any_key, False) or judgment.flagged
    judges = [*sorted({judge for judge, _, _ in verdicts} - {ANY}), ANY]
    categories = sorted({category for _, category in truth})
    rows = []
    for judge in judges:
        for category in categories:
            counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "unjudged": 0}
            ruled = False
            for (target, labelled_category), human in truth.items():
                if labelled_category != category:
                    continue
                said = verdicts.get((judge, target, category))
                if said is None:
                    counts["unjudged"] += 1
                    continue
                ruled = True
                cell = ("tp" if human else "fp") if said else ("fn" if human else "tn")
                counts[cell] += 1
            if ruled:
                rows.append(Agreement(judge=judge, category=category, **counts))
    return rows
