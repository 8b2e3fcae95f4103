"""What every sandbox backend shares: context management, idempotent close, use-after-close."""

from __future__ import annotations

from typing import Self

from understudy.errors import SandboxClosedError
from understudy.sandbox.tracking import forget


class SandboxLifecycle:
    """Base of the backends. Subclasses set ``_closed = False`` and implement ``_remove``."""

    _closed: bool

    @property
    def id(self) -> str:
        """Identifier of the sandbox."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """How messages name the sandbox."""
        return self.id

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
