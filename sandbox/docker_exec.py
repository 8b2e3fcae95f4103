"""Running one command in an exec of its own: the path for commands that cannot use the
sandbox's persistent shell (one arrives while the shell is busy, or the image has no bash).

Each command runs as ``sh -c WRAPPER`` whose first act is to write its marks (see
:mod:`~understudy.sandbox.strays`: its pid, which is also its session id as ``docker exec``
makes every exec a session leader, the time and the pids that exist) to a file on the
container's tmpfs, so that a timeout can find, from a second exec, everything the command
started, also what left its process group. The file stays while the command's output is open
(a process that outlived the wrapper may hold it) and is removed afterwards.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import docker.errors
from docker.utils.socket import frames_iter

from understudy.protocols import ExecResult
from understudy.sandbox.containers import in_thread
from understudy.sandbox.engine_api import ThreadedEngineAPI
from understudy.sandbox.output import OutputCollector
from understudy.sandbox.strays import MARK_SH, SWEEP

PID_DIR = "/dev/shm"
KILL_ATTEMPTS = 3
Guard = Callable[..., Awaitable[Any]]
# $0: marks file, $1: working directory, $2: the command. The command's stderr joins
# stdout here, at the source (through fd 3): the engine copies the two streams separately and
# does not keep their order. The wrapper's own stderr goes nowhere, so that its notes (dash says
# "Killed" when the command dies by SIGKILL) never mix into the command's output; the command
# gets its redirections inside a subshell because dash applies a command's redirections to
# itself while it waits for the command.
# The wrapper removes its marks itself when the command ends: a separate exec for that, left
# running in the background, could start while a snapshot has the container paused, and an exec
# frozen in its start-up deadlocks the engine's commit.
_WRAPPER = (
    f"{MARK_SH}; exec 3>&1 2>/dev/null; "
    'cd "$1" || { echo "cd: $1: No such file or directory"; rm -f "$0"; exit 126; }; '
    "if command -v bash >/dev/null; then shell=bash; else shell=sh; fi; "
    '(exec "$shell" -c "$2" 2>&3 3>&-); status=$?; rm -f "$0"; exit "$status"'
)
# The sweep (builtins only, up to the kill), then the marks file goes; exit 1: no marks yet.
_KILL = f'{SWEEP}\nrm -f "$1"; exit 0'
_FORGET = 'rm -f "$1"'


class SingleExec:
    """One command in one exec of a container."""

    def __init__(
        self, api: ThreadedEngineAPI, container_id: str, guard: Guard, output_limit: int
    ) -> None:
        self._api = api
        self._container_id = container_id
        self._guard = guard
        """Runs an SDK call in the pool, turning a vanished container into a SandboxError."""
        self._output_limit = output_limit

    async def run(
        self, cmd: str, timeout: float, workdir: str, env: Mapping[str, str] | None
    ) -> tuple[ExecResult, int | None]:
        """Run ``cmd`` in ``workdir``; the result, and the exit code the engine reported (None
        if it reported none, which the sandbox takes for a crash)."""
        pid_file = f"{PID_DIR}/understudy-{uuid.uuid4().hex}.pid"
        argv = ["/bin/sh", "-c", _WRAPPER, pid_file, workdir, cmd]
        started = time.monotonic()
        exec_id, stream = await self._launch(argv, env, pid_file)
        collector = OutputCollector(self._output_limit)
        reader = asyncio.ensure_future(in_thread(self._pump, stream, collector))
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.shield(reader), timeout)
        except TimeoutError:
            timed_out = True
            await self._kill_group(pid_file, stream, reader)
        except asyncio.CancelledError:
            await asyncio.shield(self._kill_group(pid_file, stream, reader))
            raise
        if timed_out:
            return collector.result(0, started, timed_out=True), None
        reported = await finished_exit_code(self._guard, self._api, exec_id)
        return collector.result(reported or 0, started), reported

    async def _run_quietly(self, argv: list[str]) -> int | None:
        """Run ``argv`` in an exec of its own and wait for it: its exit code; None if the
        container is gone, -1 if the engine could not start it."""
        return await run_beside(self._api, self._container_id, argv)

    async def _launch(
        self, argv: list[str], env: Mapping[str, str] | None, pid_file: str
    ) -> tuple[str, socket.socket]:
        """Create and start an exec: its id and output stream."""
        launch = asyncio.ensure_future(self._create_and_start(argv, env))
        try:
            return await asyncio.shield(launch)
        except asyncio.CancelledError:
            # The engine may start the command anyway; it must not be left running.
            await asyncio.shield(self._abandon(launch, pid_file))
            raise

    async def _create_and_start(
        self, argv: list[str], env: Mapping[str, str] | None
    ) -> tuple[str, socket.socket]:
        exec_id = await self._guard(
            self._api.exec_create, self._container_id, argv, environment=dict(env or {})
        )
        return exec_id, await self._guard(self._api.exec_attach, exec_id)

    async def _abandon(
        self, launch: asyncio.Future[tuple[str, socket.socket]], pid_file: str
    ) -> None:
        """Kill a command whose caller was cancelled while it was being started."""
        try:
            _, stream = await launch
        except Exception:  # it did not start, so there is nothing to kill
            return
        reader = asyncio.ensure_future(in_thread(self._pump, stream, OutputCollector(1024)))
        await self._kill_group(pid_file, stream, reader)

    @staticmethod
    def _pump(stream: socket.socket, collector: OutputCollector) -> None:
        try:
            for _, data in frames_iter(stream, tty=False):  # type: ignore[no-untyped-call]
                collector.add(data)
        except OSError:
            pass  # the socket was shut down after a timeout
        finally:
            stream.close()

    async def _kill_group(
        self,
        pid_file: str,
        stream: socket.socket,
        reader: asyncio.Future[None],
    ) -> None:
        """Kill everything the command started, then make sure its output stream ends."""
        for _ in range(KILL_ATTEMPTS):
            # None: the container is gone, which ends the command too. Else 0 unless the marks
            # were not written yet: then the wrapper has not started the command either.
            if await self._run_quietly(["/bin/sh", "-c", _KILL, "sh", pid_file, "0"]) in (0, None):
                break
            if reader.done():
                await self._run_quietly(["/bin/sh", "-c", _FORGET, "sh", pid_file])
                break
            await asyncio.sleep(0.2)
        try:
            await asyncio.wait_for(asyncio.shield(reader), 5)
        except TimeoutError:
            # Something the sweep could not kill (a process of another user) holds the output.
            stream.shutdown(socket.SHUT_RDWR)
            await reader


async def run_beside(
    api: ThreadedEngineAPI, container_id: str, argv: list[str], user: str = ""
) -> int | None:
    """Run ``argv`` in an exec of its own and wait for it: its exit code; None if the container
    is gone, -1 if the engine could not start it (as when the pids limit is used up)."""
    try:
        exec_id = await api.exec_create(container_id, argv, user=user)
        await api.exec_run(exec_id)
        info = await api.exec_inspect(exec_id)
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as exc:
        return None if exc.status_code == 409 else -1
    code = info.get("ExitCode")
    return -1 if code is None else int(code)


async def finished_exit_code(guard: Guard, api: ThreadedEngineAPI, exec_id: str) -> int | None:
    """The exit code of an exec whose output has ended (the engine can take a moment to
    record it), or None if it records none."""
    for _ in range(50):
        info = await guard(api.exec_inspect, exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        await asyncio.sleep(0.01)
    return None
