"""The transport of a LocalSandbox's persistent shell: a child process with pipes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from understudy.errors import SandboxError
from understudy.sandbox.shell_session import SHELL_ARGV
from understudy.sandbox.strays import Marks, stop_tree


def shell_status(returncode: int) -> int:
    """A process's exit status as a shell reports it: death by signal N is 128+N (as the docker
    backend reports it too); asyncio reports it as -N."""
    return 128 - returncode if returncode < 0 else returncode


class LocalShellTransport:
    """Starts the shell as a child process in its own session, in ``cwd``."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._cwd = cwd
        self._env = env
        self._process: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *SHELL_ARGV,
            cwd=self._cwd,
            env=self._env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )

    def _running(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise SandboxError("the shell is not running")
        return self._process

    async def send(self, data: bytes) -> None:
        stdin = self._running().stdin
        assert stdin is not None
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the shell ended: its stdout reaches EOF, which the session handles

    async def receive(self) -> bytes:
        stdout = self._running().stdout
        assert stdout is not None
        return await stdout.read(1 << 16)

    async def side(self, script: str, *args: str) -> None:
        helper = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", script, "sh", *args, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await helper.wait()

    async def stop_strays(self, marks: str, shell_pid: int) -> None:
        # Only in the shell's session and below it: the rest of this machine is not ours.
        found = Marks.read(Path(marks))
        await asyncio.to_thread(stop_tree, shell_pid, frozenset({shell_pid}), found)

    async def exit_status(self) -> int | None:
        if self._process is None:
            return None
        return shell_status(await self._process.wait())

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
