"""Sending a judging pass's batches to Ray workers and recording what comes back.

The part of :mod:`understudy.judges.ray_judging` that runs once the workers are up:
:func:`make_batches` groups the calls, :class:`BatchDispatch` keeps each worker at most
``batches_per_worker`` batches busy, appends what comes back through the pass's
:class:`~understudy.judges.recording.Recorder`, and sends a batch whose worker died again (up to
``retries`` times; then its calls are recorded as judge error records).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from understudy.jsonl import append_models
from understudy.judges.base import Judge
from understudy.judges.recording import JudgingWork, Recorder, failed_judgments
from understudy.logging import get_logger, write_event_lines
from understudy.replay.executors.ray_cluster import import_ray, short_reason
from understudy.replay.executors.ray_pool import WorkerHandle, WorkerPool
from understudy.trajectory import Judgment

log = get_logger("judges.ray")


@dataclass
class Batch:
    """Calls sent to a worker together (their payload is made when they are sent)."""

    calls: list[JudgingWork]
    attempt: int = 0
    """Times the batch was sent before, to a worker that died under it."""


def make_batches(pending: list[JudgingWork], size: int) -> list[Batch]:
    """The calls in batches of ``size`` trajectories (a trajectory's calls stay together)."""
    groups: list[list[JudgingWork]] = []
    targets: set[str] = set()
    for item in pending:
        if item.target_id not in targets:
            if not groups or len(targets) == size:
                groups.append([])
                targets = set()
            targets.add(item.target_id)
        groups[-1].append(item)
    return [Batch(calls) for calls in groups]


def batch_payload(calls: list[JudgingWork], judge_index: dict[int, int]) -> dict[str, Any]:
    """What a worker is sent for ``calls`` (see :mod:`understudy.judges.ray_judge_worker`)."""
    sessions: dict[str, str] = {}
    rollouts: dict[str, str] = {}
    entries: list[tuple[str, str, int]] = []
    for item in calls:
        if item.session.id not in sessions:
            sessions[item.session.id] = item.session.model_dump_json()
        if item.rollout is not None and item.target_id not in rollouts:
            rollouts[item.target_id] = item.rollout.model_dump_json()
        entries.append((item.target_id, item.session.id, judge_index[id(item.judge)]))
    return {"sessions": sessions, "rollouts": rollouts, "calls": entries}


class BatchDispatch:
    """Sends batches to workers as they have room and records what comes back."""

    def __init__(
        self, pool: WorkerPool[Batch], recorder: Recorder, judges: list[Judge], retries: int
    ) -> None:
        self._pool = pool
        self._recorder = recorder
        self._judge_index = {id(judge): number for number, judge in enumerate(judges)}
        """Each judge's place in the list the workers were given."""
        self._retries = retries

    async def judge(self, todo: deque[Batch]) -> None:
        lost_all = "every Ray worker died; the judgments written so far are kept: judge again"
        lost_all += " to continue"
        try:
            while todo or self._pool.in_flight:
                self._send(todo)
                raised: Exception | None = None
                for call in await self._pool.finished(lost_all):
                    try:
                        await self._settle(call.future, call.item, call.worker, todo)
                    except Exception as exc:  # a judge raised: record the rest that came back
                        raised = raised or exc
                if raised is not None:
                    raise raised
        finally:
            await self._pool.stop_in_flight()

    def _send(self, todo: deque[Batch]) -> None:
        while todo:
            worker = self._pool.least_loaded()
            if worker is None:
                return
            batch = todo.popleft()
            payload = batch_payload(batch.calls, self._judge_index)
            self._pool.sent(worker, worker.actor.judge_batch.remote(payload), batch)

    async def _settle(
        self, future: asyncio.Future[Any], batch: Batch, worker: WorkerHandle, todo: deque[Batch]
    ) -> None:
        """Record a finished batch, or send a lost one again."""
        ray = import_ray()
        try:
            results, events = future.result()
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
            await self._lost(batch, worker, todo, exc)
            return
        except ray.exceptions.RayError as exc:
            log.error("ray task failed", error=short_reason(exc), worker=worker.where)
            await self._record_failed(batch, f"the Ray task failed: {short_reason(exc)}")
            return
        write_event_lines(events)
        await self._record(batch, results)

    async def _record(self, batch: Batch, results: list[list[str] | BaseException]) -> None:
        """Append the batch's judgments at once; then raise what a judge raised, if one did."""
        taken: list[tuple[JudgingWork, list[Judgment]]] = []
        raised: BaseException | None = None
        for item, result in zip(batch.calls, results, strict=True):
            if isinstance(result, BaseException):
                raised = raised or result
                continue
            judgments = [Judgment.model_validate_json(line) for line in result]
            taken.append((item, self._recorder.take(item, judgments)))
        await self._write(taken)
        if raised is not None:
            raise raised

    async def _record_failed(self, batch: Batch, reason: str) -> None:
        """Record every call of the batch as a judge error record giving ``reason``."""
        taken = [
            (item, self._recorder.take(item, failed_judgments(item, reason)))
            for item in batch.calls
        ]
        await self._write(taken)

    async def _write(self, taken: list[tuple[JudgingWork, list[Judgment]]]) -> None:
        fresh = [judgment for _, judgments in taken for judgment in judgments]
        if fresh:
            await asyncio.to_thread(append_models, self._recorder.out, fresh)
        for item, judgments in taken:
            self._recorder.counted(item, judgments)

    async def _lost(
        self, batch: Batch, worker: WorkerHandle, todo: deque[Batch], failure: Exception
    ) -> None:
        """The worker died under a batch: send it again (first in line), or record it."""
        log.warning(
            "ray judge worker died",
            worker=worker.where,
            calls=len(batch.calls),
            attempt=batch.attempt + 1,
            error=short_reason(failure),
        )
        if batch.attempt < self._retries:
            batch.attempt += 1
            todo.appendleft(batch)
        else:
            tries = batch.attempt + 1
            reason = f"its Ray worker died {tries} time(s) while judging ({short_reason(failure)})"
            await self._record_failed(batch, reason)
        self._pool.died(worker)
