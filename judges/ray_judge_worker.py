"""JudgeWorker: a Ray actor that makes judging calls for the driver of a judging pass.

It receives the pass's judges once (pickled: rule judges as they are, the LLM judge as the
recipe of :class:`~understudy.judges.portable.PortableLLMJudge`, which makes its client in the
worker on first use), then batches of (trajectory, judge) calls, and hands back each call's
judgments as JSON together with the events logged meanwhile. It writes nothing: the driver
alone appends to the judgments file (see :mod:`understudy.judges.ray_judging`).

A batch is a dict: ``sessions`` (id -> session JSON), ``rollouts`` (target id -> rollout JSON,
for the calls that judge a rollout) and ``calls``, each ``[target_id, session_id, judge_index]``
(the rollout is ``rollouts[target_id]`` when there is one). The answer has one entry per call:
its judgments' JSON lines, or the exception its judge raised (which ends the pass in the driver,
as it does when judging in one process).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
from collections.abc import Sequence
from typing import Any

from understudy.judges.base import Judge
from understudy.logging import get_logger
from understudy.replay.executors.ray_cluster import WorkerEvents
from understudy.trajectory import Rollout, Session

log = get_logger("judges.ray_worker")

CallResult = list[str] | BaseException
"""One call's judgments as JSON lines, or what its judge raised."""


class JudgeWorker:
    """Makes judging calls on its node (made by the driver with ``ray.remote``); at most
    ``concurrency`` calls at once, over all the batches it is given."""

    def __init__(self, judges: Sequence[Judge], concurrency: int) -> None:
        self._events = WorkerEvents()
        self._judges = list(judges)
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None
        """Made in the actor's event loop, on the first batch."""

    async def ready(self) -> dict[str, Any]:
        """Where this worker runs."""
        import ray

        return {
            "node": ray.get_runtime_context().get_node_id(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }

    async def judge_batch(self, batch: dict[str, Any]) -> tuple[list[CallResult], list[str]]:
        """Each call's judgments (or its judge's exception), and the events logged since the
        last batch handed back."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
        slots = self._slots
        sessions = {
            sid: Session.model_validate_json(text) for sid, text in batch["sessions"].items()
        }
        rollouts = {
            tid: Rollout.model_validate_json(text) for tid, text in batch["rollouts"].items()
        }

        async def call(target_id: str, session_id: str, judge_index: int) -> CallResult:
            judge = self._judges[judge_index]
            async with slots:
                try:
                    judgments = await judge.judge(sessions[session_id], rollouts.get(target_id))
                except Exception as exc:
                    log.warning(
                        "judge raised", judge=judge.name, target_id=target_id, error=str(exc)
                    )
                    return _sendable(exc)
            return [judgment.model_dump_json() for judgment in judgments]

        results = await asyncio.gather(*(call(*entry) for entry in batch["calls"]))
        return list(results), self._events.drain()

    async def close(self) -> None:
        """Close the judges that hold clients (the LLM judge's)."""
        for judge in self._judges:
            close = getattr(judge, "close", None)
            if close is not None:
                await close()


def _sendable(failure: Exception) -> BaseException:
    """``failure`` if it survives pickling back to the driver, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(failure))
    except Exception:
        return RuntimeError(f"{type(failure).__name__}: {failure}")
    return failure
