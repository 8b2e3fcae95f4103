"""The judgments file of a judging pass: what it already holds, and each call's verdicts added once.

Shared by the executors of a judging pass (:mod:`understudy.judges.runner` judges in this
process, :mod:`understudy.judges.ray_judging` on Ray workers): whichever judged, only the process
that holds the :class:`Recorder` writes the file, so resume works the same either way.

- :func:`open_output` prepares the file and reads the (target_id, judge, category) keys already
  judged (a last line cut short is dropped; judge error records do not count as judged).
- :meth:`Recorder.pending` leaves out the (trajectory, judge) pairs judged in full.
- :meth:`Recorder.take` checks a call's judgments and keeps those not written before;
  :meth:`Recorder.counted` adds them to the stats and tells the progress callback.
- :func:`failed_judgments`: the judge error records of a call that could not be made (its
  worker died too often), one per category the judge covers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from understudy.errors import ConfigError, SchemaError
from understudy.jsonl import read_models
from understudy.judges.base import Judge
from understudy.logging import get_logger
from understudy.trajectory import Judgment, Rollout, Session

log = get_logger("judges.runner")

JudgmentKey = tuple[str, str, str]
"""(target_id, judge, category)."""
Progress = Callable[[str, list[Judgment]], None]
"""Called with the target id and the judgments written, after each (trajectory, judge) call."""
UNKNOWN_CATEGORY = "unknown"
"""The category of the error record of a judge that does not say which categories it covers."""


@dataclass
class JudgingStats:
    """What a judging pass did."""

    calls: int = 0
    """(trajectory, judge) calls made."""
    skipped: int = 0
    """(trajectory, judge) pairs already judged in full."""
    written: int = 0
    """Judgment lines appended."""
    judge_errors: int = 0
    """Of those, judge error records."""
    flagged: int = 0
    """Of those, flagged verdicts."""
    by_judge: dict[str, int] = field(default_factory=dict)
    """Lines written per judge."""
    skipped_errored: dict[str, int] = field(default_factory=dict)
    """Rollouts not judged because they ended in error, by error kind."""

    def as_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "skipped": self.skipped,
            "written": self.written,
            "judge_errors": self.judge_errors,
            "flagged": self.flagged,
            "by_judge": dict(self.by_judge),
            "skipped_errored": dict(self.skipped_errored),
        }


@dataclass(frozen=True)
class JudgingWork:
    """One (trajectory, judge) call: ``rollout`` None judges the session alone."""

    target_id: str
    session: Session
    rollout: Rollout | None
    judge: Judge


def is_judge_error(judgment: Judgment) -> bool:
    """A record of a judge that could not give a verdict (not a verdict)."""
    return bool(judgment.meta.get("judge_error"))


def covered_categories(judge: Judge) -> frozenset[str] | None:
    """The category ids a judge rules on, when it says (``category_ids``, ``categories`` or
    ``category``); None when it does not."""
    ids = getattr(judge, "category_ids", None)
    if ids is None:
        categories = getattr(judge, "categories", None)
        if categories is not None:
            ids = [getattr(category, "id", category) for category in categories]
    if ids is None:
        single = getattr(judge, "category", None)
        if single is not None:
            ids = [getattr(single, "id", single)]
    if ids is None:
        return None
    return frozenset(str(item) for item in ids)


def read_judgments(path: Path | str) -> list[Judgment]:
    """Every judgment in a judgments file (empty when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return list(read_models(path, Judgment))


def open_output(out: Path, resume: bool) -> set[JudgmentKey]:
    """Prepare ``out`` for appending; the keys already judged (not counting error records)."""
    has_lines = out.exists() and out.stat().st_size > 0
    if has_lines and not resume:
        raise ConfigError(
            f"{out} already holds judgments; resume to continue judging into it, "
            "or choose another output file"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    if not has_lines:
        return set()
    data = out.read_bytes()
    if not data.endswith(b"\n"):
        # Killed in the middle of a write: that call was in flight and is judged again.
        with out.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
    try:
        existing = read_judgments(out)
    except SchemaError as exc:
        raise ConfigError(f"cannot resume: {out} is damaged: {exc}") from exc
    return {(j.target_id, j.judge, j.category) for j in existing if not is_judge_error(j)}


def failed_judgments(item: JudgingWork, reason: str) -> list[Judgment]:
    """The judge error records of a call that could not be made: one unflagged Judgment per
    category the judge covers, with ``meta["judge_error"]`` giving the reason (judged again on
    resume, like any judge error record)."""
    categories = sorted(covered_categories(item.judge) or {UNKNOWN_CATEGORY})
    return [
        Judgment(
            target_id=item.target_id,
            judge=item.judge.name,
            category=category,
            flagged=False,
            severity=0,
            confidence=0.0,
            rationale=f"judge error: {reason}",
            meta={"judge_error": reason},
        )
        for category in categories
    ]


class Recorder:
    """What a pass has judged into ``out``: the keys written, the stats, the progress callback.

    Not thread-safe: the executors call it from their event loop only."""

    def __init__(self, out: Path, done: set[JudgmentKey], progress: Progress | None) -> None:
        self.out = out
        self.progress = progress
        self.stats = JudgingStats()
        self._judged: dict[tuple[str, str], set[str]] = defaultdict(set)
        for target_id, judge_name, category in done:
            self._judged[target_id, judge_name].add(category)

    def pending(self, work: Sequence[JudgingWork]) -> list[JudgingWork]:
        """The calls still to make: pairs judged in full are skipped (and counted)."""
        pending: list[JudgingWork] = []
        for item in work:
            have = self._judged.get((item.target_id, item.judge.name), set())
            covered = covered_categories(item.judge)
            if have and (covered is None or covered <= have):
                self.stats.skipped += 1
            else:
                pending.append(item)
        log.info(
            "judging planned", calls=len(pending), skipped=self.stats.skipped, output=str(self.out)
        )
        return pending

    def take(self, item: JudgingWork, judgments: Sequence[Judgment]) -> list[Judgment]:
        """The judgments of one call that are to be written: those of categories not judged
        before (an error record never counts as judged). Appending them is the caller's."""
        have = self._judged[item.target_id, item.judge.name]
        fresh: list[Judgment] = []
        for judgment in judgments:
            if judgment.target_id != item.target_id:
                raise ConfigError(
                    f"judge {item.judge.name} returned a judgment for {judgment.target_id} "
                    f"while judging {item.target_id}"
                )
            if judgment.category in have:
                continue  # judged before this run was resumed
            fresh.append(judgment)
            if not is_judge_error(judgment):
                have.add(judgment.category)
        return fresh

    def counted(self, item: JudgingWork, fresh: Sequence[Judgment]) -> None:
        """Count one call whose ``fresh`` judgments were written, and tell the progress."""
        stats = self.stats
        stats.calls += 1
        stats.written += len(fresh)
        stats.judge_errors += sum(is_judge_error(j) for j in fresh)
        stats.flagged += sum(j.flagged for j in fresh)
        stats.by_judge[item.judge.name] = stats.by_judge.get(item.judge.name, 0) + len(fresh)
        if self.progress is not None:
            self.progress(item.target_id, list(fresh))
