"""WorkerPool: the Ray workers of a run or a judging pass, as the driver keeps track of them.

Both dispatchers (rollouts, judging batches) send work the same way: to the least loaded worker
with room, never to one that died and is being waited for; they take back what finishes, and
when a worker dies they ask the pool to wait for Ray to start it again, dropping it if Ray does
not. What each dispatcher sends and how it records results stays with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from understudy.errors import UnderstudyError
from understudy.logging import get_logger
from understudy.replay.executors.ray_cluster import (
    WORKER_CLOSE_S,
    WORKER_START_S,
    RayNode,
    awaited,
    cancel_references,
    forget_outcomes,
    import_ray,
    restarted,
    short_reason,
)

log = get_logger("executors.ray_pool")

Item = TypeVar("Item")


class RayWorkersLostError(UnderstudyError, RuntimeError):
    """Every Ray worker died: the work cannot go on (what was written is kept)."""


@dataclass
class WorkerHandle:
    """A Ray worker (actor) as the driver sees it."""

    actor: Any
    where: str
    """host (node id) of the worker, for messages."""
    load: int = 0
    """Calls sent to it and not answered yet."""
    checking: asyncio.Future[None] | None = None
    """Set while the worker is being waited for after it died: nothing is sent to it then."""


async def ready_workers(actors: list[tuple[Any, RayNode]]) -> tuple[list[WorkerHandle], list[str]]:
    """Wait for each started actor to answer its ``ready``: those that can work, and what kept
    the others out (a worker that did not start, or whose ``ready`` names a ``problem``, such as
    a node without a Docker engine); those are ended."""
    ray = import_ray()
    workers, problems = [], []
    for actor, node in actors:
        try:
            info = await asyncio.wait_for(awaited(actor.ready.remote()), WORKER_START_S)
        except (TimeoutError, ray.exceptions.RayError) as exc:
            problems.append(f"{node.address}: the worker did not start ({short_reason(exc)})")
            ray.kill(actor, no_restart=True)
            continue
        where = f"{info['host']} ({str(info['node'])[:12]})"
        if info.get("problem"):
            log.warning("node not used", node=where, reason=info["problem"])
            problems.append(f"{where}: {info['problem']}")
            ray.kill(actor, no_restart=True)
            continue
        workers.append(WorkerHandle(actor, where))
    return workers, problems


@dataclass
class Finished(Generic[Item]):
    """A call that ended: its future (result or Ray error), what was sent, and to whom."""

    future: asyncio.Future[Any]
    item: Item
    worker: WorkerHandle


class WorkerPool(Generic[Item]):
    """The live workers, what is in flight on each, and the waits for those that died."""

    def __init__(self, workers: list[WorkerHandle], per_worker: int) -> None:
        self.workers = workers
        """The live workers (one that cannot come back is removed)."""
        self.per_worker = per_worker
        """Calls in flight on one worker at most."""
        self.in_flight: dict[asyncio.Future[Any], tuple[Item, WorkerHandle]] = {}

    def least_loaded(self) -> WorkerHandle | None:
        """The worker with the fewest calls in flight that has room, if any."""
        ready = [w for w in self.workers if w.checking is None and w.load < self.per_worker]
        return min(ready, key=lambda worker: worker.load, default=None)

    def sent(self, worker: WorkerHandle, reference: Any, item: Item) -> None:
        """Keep track of ``item``, sent to ``worker`` as the Ray call ``reference``."""
        self.in_flight[awaited(reference)] = (item, worker)
        worker.load += 1

    async def finished(self, when_all_lost: str) -> list[Finished[Item]]:
        """Wait until calls end (or a worker that died comes back); the calls that ended.
        RayWorkersLostError(``when_all_lost``) when nothing is left to wait for."""
        waiting = set(self.in_flight) | {w.checking for w in self.workers if w.checking}
        if not waiting:
            raise RayWorkersLostError(when_all_lost)
        ended, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        calls = []
        for future in ended:
            entry = self.in_flight.pop(future, None)
            if entry is not None:
                item, worker = entry
                worker.load -= 1
                calls.append(Finished(future, item, worker))
        return calls

    def died(self, worker: WorkerHandle) -> None:
        """``worker`` died under a call: send it nothing until Ray has started it again."""
        if worker.checking is None:
            worker.checking = asyncio.ensure_future(self._wait_for(worker))

    async def _wait_for(self, worker: WorkerHandle) -> None:
        ray = import_ray()
        try:
            await asyncio.wait_for(restarted(worker.actor), WORKER_START_S)
        except (TimeoutError, ray.exceptions.RayError) as exc:
            log.warning("ray worker dropped", worker=worker.where, error=short_reason(exc))
            self.workers.remove(worker)
            ray.kill(worker.actor, no_restart=True)
            return
        worker.checking = None

    async def stop_in_flight(self) -> None:
        """Stop what workers are still working on (a Ctrl-C, an error), and the waits for
        workers that died."""
        for worker in self.workers:
            if worker.checking is not None:
                worker.checking.cancel()
        if not self.in_flight:
            return
        cancel_references(self.in_flight)
        await asyncio.wait(list(self.in_flight), timeout=WORKER_CLOSE_S)
        forget_outcomes(self.in_flight)
        self.in_flight.clear()

    async def stop(self) -> None:
        """Let every worker close what it holds, then end its process."""
        ray = import_ray()
        workers, self.workers = self.workers, []
        closing = [awaited(worker.actor.close.remote()) for worker in workers]
        if closing:
            await asyncio.wait(closing, timeout=WORKER_CLOSE_S)
            forget_outcomes(closing)
        for worker in workers:
            ray.kill(worker.actor, no_restart=True)
