"""SandboxPool: sandboxes started ahead of time, so that a fan-out does not wait for each start.

The pool keeps up to ``size`` sandboxes of one config started or starting. ``acquire`` hands
out a started one if there is one, else the start that has been running longest (or a new one),
and starts a replacement in the background. A sandbox handed out is the caller's to close.
``close`` removes the idle sandboxes and waits for starts in flight to remove what they make, so
that no container outlives the pool, also when the pool's user is cancelled.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Self

from understudy.errors import ConfigError, SandboxClosedError
from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.sandbox.backend_config import BackendConfig
from understudy.sandbox.backends import run_backend
from understudy.sandbox.config import SandboxConfig

log = get_logger("sandbox.pool")

Start = asyncio.Task[Sandbox]


class SandboxPool:
    """Pre-started sandboxes of one config. Use as an async context manager."""

    def __init__(
        self, config: SandboxConfig, size: int, backend: BackendConfig | str = "docker"
    ) -> None:
        if size < 0:
            raise ConfigError(f"sandbox pool size must be 0 or more, not {size}")
        self.backend = backend if isinstance(backend, BackendConfig) else run_backend(backend)
        """Where the sandboxes start (a backend, or its name)."""
        self.config = config
        """What every sandbox of the pool is started with."""
        self.size = size
        """How many sandboxes are kept started (or starting) ahead of demand."""
        self._starts: deque[Start] = deque()
        self._closed = False

    async def __aenter__(self) -> Self:
        self.top_up()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def ready(self) -> int:
        """How many started sandboxes are waiting to be handed out."""
        return sum(1 for start in self._starts if _succeeded(start))

    def top_up(self) -> None:
        """Begin starts in the background until ``size`` are started or starting."""
        self._check_open()
        while len(self._starts) < self.size:
            self._starts.append(asyncio.ensure_future(self.backend.start(self.config)))

    async def fill(self) -> None:
        """Top up and wait until every sandbox of the pool has started.

        A start that failed is dropped from the pool and its error raised.
        """
        self.top_up()
        if self._starts:
            await asyncio.wait(list(self._starts))
        failed = [start for start in self._starts if not _succeeded(start)]
        for start in failed:
            self._starts.remove(start)
        if failed:
            await failed[0]  # raises its error

    async def acquire(self) -> Sandbox:
        """A started sandbox, the caller's to close; a replacement starts in the background."""
        self._check_open()
        start = self._take()
        self.top_up()
        try:
            sandbox = await asyncio.shield(start)
        except asyncio.CancelledError:
            # The start goes on; what it makes must not be lost.
            self._give_back(start)
            raise
        log.debug("sandbox acquired from pool", sandbox=sandbox.id, image=self.config.image)
        return sandbox

    def _take(self) -> Start:
        """The start to hand out: a started sandbox, else the oldest start, else a new one."""
        self._drop_failed()
        started = next((start for start in self._starts if start.done()), None)
        if started is not None:
            self._starts.remove(started)
            return started
        if self._starts:
            return self._starts.popleft()
        return asyncio.ensure_future(self.backend.start(self.config))

    def _drop_failed(self) -> None:
        """Forget background starts that failed; a fresh start will report a lasting problem."""
        for start in [start for start in self._starts if start.done() and not _succeeded(start)]:
            self._starts.remove(start)
            error = "cancelled" if start.cancelled() else repr(start.exception())
            log.warning("pool start failed", image=self.config.image, error=error)

    def _give_back(self, start: Start) -> None:
        """Return a start whose taker was cancelled: to the pool, or to removal if it is closed."""
        if self._closed:
            start.add_done_callback(_close_in_background)
        else:
            self._starts.appendleft(start)

    async def close(self) -> None:
        """Remove the idle sandboxes and whatever the starts in flight produce.

        Waits for those starts to finish (a container being created cannot be stopped halfway),
        and still finishes the clean-up when cancelled, before re-raising.
        """
        self._closed = True
        starts = list(self._starts)
        self._starts.clear()
        if not starts:
            return
        cleanup = asyncio.ensure_future(_remove_all(starts))
        try:
            await asyncio.shield(cleanup)
        except asyncio.CancelledError:
            await asyncio.wait([cleanup])
            raise

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxClosedError("the sandbox pool is closed")


def _succeeded(start: Start) -> bool:
    return start.done() and not start.cancelled() and start.exception() is None


async def _remove_all(starts: list[Start]) -> None:
    """Wait for the starts and close the sandboxes they made; failed starts made none."""
    await asyncio.wait(starts)
    await asyncio.gather(*(start.result().close() for start in starts if _succeeded(start)))


def _close_in_background(start: Start) -> None:
    if _succeeded(start):
        task = asyncio.ensure_future(start.result().close())
        _background.add(task)
        task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()
"""Closes in flight, referenced so that they are not collected before they finish."""
