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
from understudy.replay.executors.ray_cluster import (
    WORKER_START_S,
    RayWorkersLostError,
    WorkerHandle,
    awaited,
    import_ray,
    restarted,
    short_reason,
    stop_in_flight,
)
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
        self,
        workers: list[WorkerHandle],
        recorder: Recorder,
        judges: list[Judge],
        batches_per_worker: int,
        retries: int,
    ) -> None:
        self._workers = workers
        """The live workers (one that cannot come back is removed from the list)."""
        self._recorder = recorder
        self._judge_index = {id(judge): number for number, judge in enumerate(judges)}
        """Each judge's place in the list the workers were given."""
        self._per_worker = batches_per_worker
        self._retries = retries
        self._in_flight: dict[asyncio.Future[Any], tuple[Batch, WorkerHandle]] = {}

    async def judge(self, todo: deque[Batch]) -> None:
        try:
            while todo or self._in_flight:
                self._send(todo)
                waiting = set(self._in_flight) | {
                    w.checking for w in self._workers if w.checking is not None
                }
                if not waiting:
                    raise RayWorkersLostError(
                        "every Ray worker died; the judgments written so far are kept: "
                        "judge again to continue"
                    )
                ended, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                raised: Exception | None = None
                for future in ended:
                    flight = self._in_flight.pop(future, None)
                    if flight is None:
                        continue
                    flight[1].load -= 1
                    try:
                        await self._settle(future, *flight, todo)
                    except Exception as exc:  # a judge raised: record the rest that came back
                        raised = raised or exc
                if raised is not None:
                    raise raised
        finally:
            await self._cancel_in_flight()

    def _send(self, todo: deque[Batch]) -> None:
        while todo:
            ready = [w for w in self._workers if w.checking is None and w.load < self._per_worker]
            worker = min(ready, key=lambda w: w.load, default=None)
            if worker is None:
                return
            batch = todo.popleft()
            payload = batch_payload(batch.calls, self._judge_index)
            reference = worker.actor.judge_batch.remote(payload)
            self._in_flight[awaited(reference)] = (batch, worker)
            worker.load += 1

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
        if worker.checking is None:
            worker.checking = asyncio.ensure_future(self._wait_for(worker))

    async def _wait_for(self, worker: WorkerHandle) -> None:
        """Wait for a worker that died to be started again; drop it if it is not."""
        ray = import_ray()
        try:
            await asyncio.wait_for(restarted(worker.actor), WORKER_START_S)
        except (TimeoutError, ray.exceptions.RayError) as exc:
            log.warning("ray judge worker dropped", worker=worker.where, error=short_reason(exc))
            self._workers.remove(worker)
            ray.kill(worker.actor, no_restart=True)
            return
        worker.checking = None

    async def _cancel_in_flight(self) -> None:
        """Stop what workers are still judging (a Ctrl-C, an error)."""
        await stop_in_flight(self._workers, self._in_flight)
