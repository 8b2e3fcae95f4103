"""SharedCandidate: the candidate factory of a run against one endpoint, which travels.

A run asks its factory for each session's candidate; against an endpoint every session shares
one client. A client does not survive pickling (its connections, its locks), so what another
executor's workers receive is the factory's settings, and each worker process makes its own
client from them on first use.
"""

from __future__ import annotations

from typing import Any

from understudy.endpoints import key_environment
from understudy.protocols import Candidate
from understudy.trajectory import Session


class SharedCandidate:
    """One :class:`~understudy.replay.candidate.OpenAICandidate` per process, made on first
    use from ``model`` and ``options`` (the candidate's keyword arguments), for every session."""

    def __init__(self, model: str, **options: Any) -> None:
        self.model = model
        self.options = options
        """Keyword arguments of ``OpenAICandidate`` (base_url, api_key_env, temperature, ...)."""
        self._shared: Candidate | None = None

    def __call__(self, session: Session) -> Candidate:
        return self.candidate()

    def candidate(self) -> Candidate:
        """This process's candidate, made on first use (a bad setting, a missing API key: a
        ConfigError then)."""
        if self._shared is None:
            from understudy.replay.candidate import OpenAICandidate

            self._shared = OpenAICandidate(self.model, **self.options)
        return self._shared

    def environment(self) -> dict[str, str]:
        """The variables a worker elsewhere needs to make the client (the API key's, when it is
        set here); never logged."""
        return key_environment(self.options)

    async def close(self) -> None:
        """Close this process's client, if one was made."""
        if self._shared is not None:
            await self._shared.close()
            self._shared = None

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.model = state["model"]
        self.options = state["options"]
        self._shared = None
