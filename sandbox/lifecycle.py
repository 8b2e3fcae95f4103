"""What every sandbox backend shares: context management, idempotent close, use-after-close,
and the checks and defaults of ``exec``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from understudy.errors import SandboxClosedError
from understudy.protocols import ExecResult
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.tracking import forget

Env = Mapping[str, str] | None
"""Variables a command gets on top of the sandbox's own."""


class SandboxLifecycle:
    """Base of the backends. Subclasses set ``_config`` and ``_closed = False``, and implement
    ``_remove`` and ``_run``."""

    _config: SandboxConfig
    _closed: bool

    @property
    def id(self) -> str:
        """Identifier of the sandbox."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """How messages name the sandbox."""
        return self.id

    @property
    def workdir(self) -> str:
        """Default working directory of commands."""
        return self._config.workdir

    async def exec(
        self,
        cmd: str,
        timeout: float | None = None,
        workdir: str | None = None,
        env: Env = None,
        *,
        persistent: bool = False,
    ) -> ExecResult:
        """Run ``cmd`` as :meth:`Sandbox.exec <understudy.protocols.Sandbox.exec>` says;
        ``timeout`` defaults to the config's ``exec_timeout_s``. A failing command is a result,
        not an exception; a closed sandbox is a SandboxClosedError."""
        self._check_open()
        timeout = self._config.exec_timeout_s if timeout is None else timeout
        return await self._run(cmd, timeout, workdir, env, persistent)

    async def _run(
        self, cmd: str, timeout: float, workdir: str | None, env: Env, persistent: bool
    ) -> ExecResult:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Remove the sandbox and everything running in it. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        await self._remove()
        forget(self.id)

    async def _remove(self) -> None:
        raise NotImplementedError

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxClosedError(f"sandbox {self.name} is closed")
