"""Judging on Ray: the (trajectory, judge) calls of a pass made by workers; this process writes.

The driver (this process) starts :class:`~understudy.judges.ray_judge_worker.JudgeWorker`
actors, one per alive node by default, each pinned to its node, and sends each the pass's judges
once (see :mod:`understudy.judges.portable` for the LLM judge, whose client cannot travel; its
API key variable goes with them when it is set here). The calls go in batches of
``batch_size`` trajectories, at most ``batches_per_worker`` batches in flight per worker, so
that a large pass costs little per call and a cluster is never sent more than it works on. Each
worker makes up to ``concurrency`` calls at once. A finished batch comes back with its judgments;
the driver alone appends them (:class:`~understudy.judges.recording.Recorder`), so resume works
whichever executor wrote what is there.

A worker that dies (its process killed, its node lost) loses only the batches it was judging:
Ray starts it again, and those batches are sent again, up to ``retries`` times each; then their
calls are recorded as judge error records (judged again on resume). A worker that cannot come
back is dropped; when none is left, the pass stops with what it wrote kept. A judge that raises
in a worker ends the pass, as it does in one process.

This module starts and stops the workers; :mod:`understudy.judges.ray_dispatch` sends the
batches and records what comes back; :mod:`understudy.judges.ray_judge_worker` is the worker.
"""

from __future__ import annotations

import pickle
from collections import deque
from dataclasses import dataclass
from typing import Any

from understudy.errors import ConfigError
from understudy.judges.base import Judge
from understudy.judges.ray_dispatch import Batch, BatchDispatch, make_batches
from understudy.judges.recording import JudgingWork, Recorder
from understudy.logging import get_logger
from understudy.replay.executors.ray_cluster import (
    alive_nodes,
    connect,
    disconnect,
    import_ray,
    pinned_to,
    worker_environment,
)
from understudy.replay.executors.ray_pool import WorkerHandle, WorkerPool, ready_workers

__all__ = ["RayJudging", "judge_on_ray"]

log = get_logger("judges.ray")


@dataclass(frozen=True)
class RayJudging:
    """Where and how a judging pass runs on Ray (``judge --executor ray``)."""

    address: str | None = None
    """The Ray cluster to join (``auto``, ``ray://HEAD:10001``, ``HEAD:6379``); None starts Ray
    on this machine for the pass, unless this process already joined a cluster."""
    workers: int | None = None
    """Workers to start; None: one per alive node. Several may share a node."""
    batch_size: int = 32
    """Trajectories per batch sent to a worker (each with all its pending judges)."""
    batches_per_worker: int = 2
    """Batches in flight per worker at once."""
    retries: int = 2
    """Times a batch whose worker died is sent again before its calls are recorded as judge
    error records."""
    local_cpus: int | None = None
    """CPUs of a Ray instance the pass starts on this machine (None: Ray counts them)."""

    def __post_init__(self) -> None:
        for name in ("workers", "local_cpus"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"ray {name} must be 1 or more, not {value}")
        if self.batch_size < 1 or self.batches_per_worker < 1 or self.retries < 0:
            raise ConfigError(
                "ray batch_size and batches_per_worker must be 1 or more, retries 0 or more"
            )


async def judge_on_ray(
    pending: list[JudgingWork], recorder: Recorder, settings: RayJudging, concurrency: int
) -> None:
    """Make the ``pending`` calls on Ray workers; ``recorder`` writes what they find."""
    if not pending:
        return
    import_ray()  # a clear error before anything starts when Ray is not installed
    judges = _distinct_judges(pending)
    batches = deque(make_batches(pending, settings.batch_size))
    started = connect(settings.address, settings.local_cpus)
    try:
        _check_judges_travel(judges)
        workers = await _start_workers(judges, _environment(judges), settings, concurrency)
        pool: WorkerPool[Batch] = WorkerPool(workers, settings.batches_per_worker)
        try:
            await BatchDispatch(pool, recorder, judges, settings.retries).judge(batches)
        finally:
            await pool.stop()
    finally:
        disconnect(started)


def _distinct_judges(pending: list[JudgingWork]) -> list[Judge]:
    """The judges of the calls, each once (the workers receive them by index)."""
    found: dict[int, Judge] = {}
    for item in pending:
        found.setdefault(id(item.judge), item.judge)
    return list(found.values())


def _environment(judges: list[Judge]) -> dict[str, str]:
    """The variables the judges need in a worker (an API key set here), from their
    ``environment()`` when they have one."""
    names: dict[str, str] = {}
    for judge in judges:
        environment = getattr(judge, "environment", None)
        if callable(environment):
            names.update(environment())
    return names


def _check_judges_travel(judges: list[Judge]) -> None:
    """A ConfigError if the judges cannot be sent to workers. They go with each worker's start
    (small: settings, not clients), not through the object store, so that a worker Ray starts
    again after a crash is made from them again whatever became of a stored copy."""
    ray = import_ray()
    try:
        ray.cloudpickle.dumps(judges)
    except (TypeError, ValueError, AttributeError, pickle.PicklingError) as exc:
        names = ", ".join(judge.name for judge in judges)
        cause = exc.__cause__ or exc  # Ray's own message is a page of diagnostics
        reason = (str(cause).strip().splitlines() or [""])[0][:200]
        raise ConfigError(
            f"the judges ({names}) cannot be sent to Ray workers ({type(cause).__name__}: "
            f"{reason}); an LLM judge travels as understudy.judges.portable.PortableLLMJudge"
        ) from exc


async def _start_workers(
    judges: list[Judge], environment: dict[str, str], settings: RayJudging, concurrency: int
) -> list[WorkerHandle]:
    """Start the workers, one per node unless told how many, and wait until they answer."""
    ray = import_ray()
    from understudy.judges.ray_judge_worker import JudgeWorker

    nodes = alive_nodes()
    options: dict[str, Any] = {
        "num_cpus": 0,  # judges wait on endpoints mostly; --ray-workers bounds the rest
        "max_restarts": settings.retries,
        "max_task_retries": 0,  # the driver sends again, so that it knows what was lost
        "max_concurrency": settings.batches_per_worker + 2,
        **worker_environment(environment),
    }
    remote = ray.remote(JudgeWorker)
    actors = []
    for number in range(settings.workers or len(nodes)):
        node = nodes[number % len(nodes)]
        actor = remote.options(**options, scheduling_strategy=pinned_to(node)).remote(
            judges, concurrency
        )
        actors.append((actor, node))
    workers, problems = await ready_workers(actors)
    if not workers:
        raise ConfigError("no Ray worker can judge: " + "; ".join(problems))
    log.info("ray judges ready", workers=len(workers), left_out=len(problems))
    return workers
