"""The transport of a DockerSandbox's persistent shell: an exec with stdin attached.

The exec's stream is the engine's multiplexed format (an 8-byte header per frame: stream id,
three zero bytes, big-endian length); only stdout frames are kept. The socket is read by the
event loop itself, not by a thread, so a command's round trip stays well under a millisecond.
Signals go through a second exec.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from understudy.errors import SandboxError
from understudy.sandbox.docker_exec import Guard, finished_exit_code, run_beside
from understudy.sandbox.engine_api import ThreadedEngineAPI
from understudy.sandbox.shell_session import SHELL_ARGV
from understudy.sandbox.strays import SWEEP

_HEADER = struct.Struct(">BxxxI")
_STDOUT = 1
SWEEP_ATTEMPTS = 3


class DockerShellTransport:
    """Starts the shell as an exec in a container and talks to it over the attached socket."""

    def __init__(
        self,
        api: ThreadedEngineAPI,
        container_id: str,
        env: dict[str, str],
        workdir: str,
        guard: Guard,
    ) -> None:
        self._api = api
        self._guard = guard
        """Runs an SDK call in the pool, turning a vanished container into a SandboxError."""
        self._container_id = container_id
        self._env = env
        self._workdir = workdir
        self._exec_id: str | None = None
        self._socket: socket.socket | None = None
        self._frames = bytearray()

    async def open(self) -> None:
        self._exec_id = await self._guard(
            self._api.exec_create,
            self._container_id,
            SHELL_ARGV,
            stdin=True,
            environment=self._env,
            workdir=self._workdir,
        )
        raw = await self._guard(self._api.exec_attach, self._exec_id)
        raw.setblocking(False)
        self._socket = raw
        self._frames = bytearray()

    async def send(self, data: bytes) -> None:
        if self._socket is None:
            raise SandboxError("the shell's stream is closed")
        await asyncio.get_running_loop().sock_sendall(self._socket, data)

    async def receive(self) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            payload = self._next_stdout()
            if payload is not None:
                return payload
            if self._socket is None:
                return b""
            try:
                data = await loop.sock_recv(self._socket, 1 << 16)
            except OSError:
                return b""
            if not data:
                return b""
            self._frames += data

    def _next_stdout(self) -> bytes | None:
        """The payload of the next complete stdout frame(s) buffered, or None if none yet."""
        out = bytearray()
        while len(self._frames) >= _HEADER.size:
            stream, size = _HEADER.unpack_from(self._frames)
            if len(self._frames) < _HEADER.size + size:
                break
            if stream == _STDOUT:
                out += self._frames[_HEADER.size : _HEADER.size + size]
            del self._frames[: _HEADER.size + size]
        return bytes(out) if out else None

    async def side(self, script: str, *args: str) -> None:
        await run_beside(self._api, self._container_id, ["/bin/sh", "-c", script, "sh", *args])

    async def stop_strays(self, marks: str, shell_pid: int) -> None:
        # In the whole container (see strays.SWEEP). The sweep may find no pid to run with
        # while a fork bomb holds them all: the engine then refuses it, and it is tried again.
        for _ in range(SWEEP_ATTEMPTS):
            argv = ["/bin/sh", "-c", SWEEP, "sh", marks, str(shell_pid)]
            if await run_beside(self._api, self._container_id, argv) != -1:
                return
            await asyncio.sleep(0.2)

    async def exit_status(self) -> int | None:
        if self._exec_id is None:
            return None
        return await finished_exit_code(self._guard, self._api, self._exec_id)

    async def close(self) -> None:
        raw, self._socket = self._socket, None
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)
            raw.close()
