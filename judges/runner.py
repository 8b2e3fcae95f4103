"""The judging runner: every trajectory of a run through every judge, into judgments.jsonl.

- :func:`judge_rollouts` judges rollouts (each with the session it continues); judgments target
  the rollout ids.
- :func:`judge_sessions` judges sessions alone: the original model's own behaviour, the
  baseline; judgments target the session ids. Given a cut per session, only the original's turns
  from that cut on are judged (the earlier messages are context), so the baseline covers the
  same part of each session as the candidate's rollouts.
- :func:`judge_run` does both for a run directory: ``rollouts.jsonl`` into ``judgments.jsonl``
  and, with ``baseline=True``, the sessions that have rollouts into
  ``baseline_judgments.jsonl``. Only the newest attempt at each rollout is judged, and a
  rollout that ended in ``error`` is not judged at all (it did not run: judging its empty tail
  would count it as clean); what was skipped, and why, is written to ``judging.json`` beside
  the judgments together with the judges and categories of the pass.

The output is append-only and resumable, like ``rollouts.jsonl``: the judgments of one
(trajectory, judge) call are appended together and fsynced as soon as the call returns, so a
killed run loses only the calls in flight; on resume a last line cut short is dropped and every
(target_id, judge, category) already judged is skipped, so no verdict is written twice. Judge
error records (``meta["judge_error"]``, see :mod:`understudy.judges.llm`) do not count as
judged: their targets are judged again on resume, and a new record (a verdict, or another error
record) is appended after the old one. Calls run concurrently (``concurrency`` at a time), which
is what the LLM judge needs.

Where the calls are made: in this process by default, or, given ``ray=RayJudging(...)``, by
workers on a Ray cluster (:mod:`understudy.judges.ray_judging`); either way this process alone
writes the judgments (:mod:`understudy.judges.recording`), so resume works whichever judged.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from understudy.errors import ConfigError
from understudy.jsonl import append_models, read_models, write_json
from understudy.judges.base import Judge
from understudy.judges.recording import (
    JudgingStats,
    JudgingWork,
    JudgmentKey,
    Progress,
    Recorder,
    covered_categories,
    is_judge_error,
    open_output,
    read_judgments,
)
from understudy.logging import get_logger
from understudy.run_files import (
    BASELINE_JUDGMENTS_FILE,
    JUDGING_FILE,
    JUDGMENTS_FILE,
    ROLLOUTS_FILE,
    SESSIONS_FILE,
)
from understudy.trajectory import (
    CandidateInfo,
    Rollout,
    Session,
    error_kind,
    latest_rollouts,
)

if TYPE_CHECKING:
    from understudy.judges.ray_judging import RayJudging

__all__ = [
    "BASELINE_JUDGMENTS_FILE",
    "JUDGING_FILE",
    "JUDGMENTS_FILE",
    "SESSIONS_FILE",
    "JudgingStats",
    "JudgmentKey",
    "Progress",
    "baseline_cuts",
    "covered_categories",
    "is_judge_error",
    "judge_rollouts",
    "judge_run",
    "judge_sessions",
    "original_continuation",
    "read_judged_categories",
    "read_judgments",
]

log = get_logger("judges.runner")


async def _judge_all(
    work: Sequence[JudgingWork],
    out: Path,
    resume: bool,
    concurrency: int,
    progress: Progress | None,
    ray: RayJudging | None,
) -> JudgingStats:
    if concurrency < 1:
        raise ConfigError(f"concurrency must be 1 or more, not {concurrency}")
    recorder = Recorder(out, open_output(out, resume), progress)
    pending = recorder.pending(work)
    if ray is not None:
        from understudy.judges.ray_judging import judge_on_ray

        await judge_on_ray(pending, recorder, ray, concurrency)
    else:
        await _judge_here(pending, recorder, concurrency)
    return recorder.stats


async def _judge_here(pending: Sequence[JudgingWork], recorder: Recorder, concurrency: int) -> None:
    """Make the calls in this process, ``concurrency`` at a time."""
    lock = asyncio.Lock()
    queue: Iterator[JudgingWork] = iter(pending)

    async def run_one(item: JudgingWork) -> None:
        judgments = await item.judge.judge(item.session, item.rollout)
        async with lock:
            fresh = recorder.take(item, judgments)
            if fresh:
                await asyncio.to_thread(append_models, recorder.out, fresh)
            recorder.counted(item, fresh)

    async def worker() -> None:
        for item in queue:
            await run_one(item)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(pending)))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _write_judging_record(
    path: Path, judges: Sequence[Judge], stats: JudgingStats, errored: Sequence[Rollout]
) -> None:
    """judging.json: which judges ruled on which categories, and the rollouts left out."""
    categories: set[str] = set()
    for judge in judges:
        categories |= covered_categories(judge) or set()
    record = {
        "judges": [judge.name for judge in judges],
        "categories": sorted(categories),
        "stats": stats.as_dict(),
        "skipped_errored": [
            {"rollout": r.id, "kind": error_kind(r), "error": r.error} for r in errored
        ],
    }
    write_json(path, record)


def read_judged_categories(run_dir: Path) -> list[str]:
    """The categories the last judging pass of ``run_dir`` covered (empty when unknown)."""
    path = Path(run_dir) / JUDGING_FILE
    if not path.exists():
        return []
    try:
        found = json.loads(path.read_text()).get("categories", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [str(category) for category in found] if isinstance(found, list) else []


def _check_judges(judges: Sequence[Judge]) -> None:
    if not judges:
        raise ConfigError("no judges given")
    names = [judge.name for judge in judges]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"judges with the same name: {', '.join(twice)}")


async def judge_rollouts(
    sessions: Sequence[Session],
    rollouts: Sequence[Rollout],
    judges: Sequence[Judge],
    out: Path,
    *,
    resume: bool = True,
    concurrency: int = 8,
    progress: Progress | None = None,
    ray: RayJudging | None = None,
) -> JudgingStats:
    """Judge each rollout (with its session) by each judge, appending to ``out``."""
    _check_judges(judges)
    by_id = {session.id: session for session in sessions}
    missing = sorted({r.session_id for r in rollouts if r.session_id not in by_id})
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ConfigError(f"rollouts continue sessions that were not given: {shown}")
    work = [
        JudgingWork(rollout.id, by_id[rollout.session_id], rollout, judge)
        for rollout in rollouts
        for judge in judges
    ]
    return await _judge_all(work, Path(out), resume, concurrency, progress, ray)


def original_continuation(session: Session, cut: int) -> Rollout:
    """The session's own turns from ``cut`` on, as a rollout whose id is the session id."""
    cut = max(0, min(cut, len(session.messages)))
    return Rollout(
        id=session.id,
        session_id=session.id,
        cut=cut,
        candidate=CandidateInfo(model=session.source.model or "original"),
        messages=[message.model_copy() for message in session.messages[cut:]],
        meta={"original": True},
    )


async def judge_sessions(
    sessions: Sequence[Session],
    judges: Sequence[Judge],
    out: Path,
    *,
    cuts: Mapping[str, int] | None = None,
    resume: bool = True,
    concurrency: int = 8,
    progress: Progress | None = None,
    ray: RayJudging | None = None,
) -> JudgingStats:
    """Judge each session alone (the baseline) by each judge, appending to ``out``.

    Judgments target the session ids. With ``cuts`` (session id -> cut), a session with a cut
    above 0 is judged as the continuation of its own first ``cut`` messages, like a rollout.
    """
    _check_judges(judges)
    work: list[JudgingWork] = []
    for session in sessions:
        cut = (cuts or {}).get(session.id, 0)
        rollout = original_continuation(session, cut) if cut > 0 else None
        work.extend(JudgingWork(session.id, session, rollout, judge) for judge in judges)
    return await _judge_all(work, Path(out), resume, concurrency, progress, ray)


def _load_sessions(source: Path | Sequence[Session]) -> list[Session]:
    if isinstance(source, Path):
        if not source.exists():
            raise ConfigError(
                f"no sessions file at {source}: pass the sessions the run was made from"
            )
        return list(read_models(source, Session))
    return list(source)


def baseline_cuts(rollouts: Sequence[Rollout]) -> dict[str, int]:
    """Per session, the cut its rollouts share (0, the whole session, when they differ)."""
    cuts: dict[str, set[int]] = defaultdict(set)
    for rollout in rollouts:
        cuts[rollout.session_id].add(rollout.cut)
    return {sid: next(iter(found)) if len(found) == 1 else 0 for sid, found in cuts.items()}


async def judge_run(
    run_dir: Path,
    judges: Sequence[Judge],
    *,
    sessions: Path | Sequence[Session] | None = None,
    resume: bool = True,
    baseline: bool = False,
    concurrency: int = 8,
    progress: Progress | None = None,
    ray: RayJudging | None = None,
) -> dict[str, JudgingStats]:
    """Judge a run directory's rollouts into its ``judgments.jsonl``.

    ``sessions`` is a sessions file or the sessions themselves (default: the run directory's
    ``sessions.jsonl``). With ``baseline``, the sessions that have rollouts are judged too, into
    ``baseline_judgments.jsonl``, each from the cut its rollouts share. Returns the stats of
    each pass (``rollouts``, and ``baseline`` when asked).
    """
    run_dir = Path(run_dir)
    rollouts_file = run_dir / ROLLOUTS_FILE
    if not rollouts_file.exists():
        raise ConfigError(f"{run_dir} is not a run directory: it has no rollouts.jsonl")
    everything = latest_rollouts(read_models(rollouts_file, Rollout))
    rollouts = [rollout for rollout in everything if rollout.status != "error"]
    errored = [rollout for rollout in everything if rollout.status == "error"]
    for rollout in errored:
        log.info("errored rollout not judged", rollout=rollout.id, kind=error_kind(rollout))
    loaded = _load_sessions(sessions if sessions is not None else run_dir / SESSIONS_FILE)
    judged = await judge_rollouts(
        loaded,
        rollouts,
        judges,
        run_dir / JUDGMENTS_FILE,
        resume=resume,
        concurrency=concurrency,
        progress=progress,
        ray=ray,
    )
    judged.skipped_errored = dict(Counter(error_kind(rollout) for rollout in errored))
    (run_dir / JUDGMENTS_FILE).touch()  # judged, even when every rollout was skipped
    _write_judging_record(run_dir / JUDGING_FILE, judges, judged, errored)
    results = {"rollouts": judged}
    if baseline:
        used = {rollout.session_id for rollout in rollouts}
        results["baseline"] = await judge_sessions(
            [session for session in loaded if session.id in used],
            judges,
            run_dir / BASELINE_JUDGMENTS_FILE,
            cuts=baseline_cuts(rollouts),
            resume=resume,
            concurrency=concurrency,
            progress=progress,
            ray=ray,
        )
    return results
