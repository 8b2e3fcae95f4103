"""The seams of understudy: small Protocols with the typed values that cross them.

Backends live in the subpackages (``understudy.sandbox`` for sandboxes, ...) and are looked up
by short name through :mod:`understudy.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from understudy.trajectory import Message, ToolSpec


class ExecResult(BaseModel):
    """The result of one command run in a sandbox."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    exit_code: int
    """Exit status of the command (124 when it was killed for running past its timeout)."""
    output: str
    """stdout and stderr interleaved as produced, decoded as UTF-8 (undecodable bytes replaced);
    when ``truncated``, the middle is cut out and a marker says how many bytes."""
    truncated: bool = False
    """The output was larger than the sandbox's cap."""
    output_bytes: int = 0
    """Size of the full output in bytes, before truncation."""
    timed_out: bool = False
    """The command ran past its timeout and its whole process group was killed."""
    duration_s: float = 0.0
    """Wall-clock seconds from start to the exit status being known."""
    cwd: str | None = None
    """Working directory the command ended in (persistent shell only; None otherwise)."""


ChangeKind = Literal["added", "modified", "deleted"]


class FileChange(BaseModel):
    """A path that differs from the sandbox's start image."""

    model_config = ConfigDict(frozen=True)

    path: str
    kind: ChangeKind


@runtime_checkable
class Sandbox(Protocol):
    """An isolated place to run a session's tool calls.

    ``exec`` raises :class:`~understudy.errors.SandboxClosedError` after ``close()``,
    :class:`~understudy.errors.SandboxCrashedError` when the container is gone or stopped, and
    :class:`~understudy.errors.SandboxError` for other engine failures. A command that fails or
    times out is not an exception: it is an :class:`ExecResult` with its exit code and
    ``timed_out`` flag. ``read_file`` raises
    :class:`~understudy.errors.SandboxFileNotFoundError` for a missing path.
    """

    @property
    def id(self) -> str:
        """Identifier of the sandbox (a container id for Docker)."""
        ...

    @property
    def workdir(self) -> str:
        """Default working directory of commands."""
        ...

    async def exec(
        self,
        cmd: str,
        timeout: float | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        persistent: bool = False,
    ) -> ExecResult:
        """Run ``cmd`` with bash, killing it if it outlives ``timeout`` seconds.

        With ``persistent`` the command runs in the sandbox's persistent shell, as an agent's
        shell that kept its state did: the working directory, variables, functions and
        activated virtualenvs of earlier persistent commands carry over (``workdir``, if given,
        is changed to first and stays; ``env`` is exported and stays). Otherwise each command
        starts fresh in ``workdir`` (default: the sandbox's workdir) with only the sandbox's
        environment plus ``env``.
        """
        ...

    async def read_file(self, path: str) -> bytes:
        """The bytes of a file (absolute, or relative to ``workdir``)."""
        ...

    async def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Create or replace a file, creating parent directories."""
        ...

    async def changed_files(self) -> list[FileChange]:
        """Paths added, modified or deleted since the sandbox started from its image."""
        ...

    async def snapshot(self) -> str:
        """Save the current state; the returned id can start a new sandbox."""
        ...

    async def close(self) -> None:
        """Stop and remove the sandbox. Safe to call more than once."""
        ...


class CandidateReply(BaseModel):
    """One assistant turn produced by a candidate."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    message: Message
    """The assistant message; tool calls whose arguments were not valid JSON keep them in
    ``raw_arguments`` (with empty ``arguments``)."""
    usage: dict[str, int] = Field(default_factory=dict)
    """Token counts of this call (prompt_tokens, completion_tokens, total_tokens)."""
    latency_s: float = 0.0
    """Wall-clock seconds of the call, retries included."""
    attempts: int = 1
    """How many requests it took (1 when the first one succeeded)."""


@runtime_checkable
class Candidate(Protocol):
    """A model that plays the assistant's part.

    ``complete`` raises :class:`~understudy.errors.CandidateError` when the endpoint fails for
    good; transient failures (429, 5xx, timeouts) are retried inside it.
    """

    @property
    def model(self) -> str:
        """Model name, as recorded in rollouts."""
        ...

    @property
    def params(self) -> dict[str, object]:
        """Sampling parameters, as recorded in rollouts."""
        ...

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> CandidateReply:
        """The next assistant turn after ``messages``, with ``tools`` on offer."""
        ...

    async def close(self) -> None:
        """Release connections. Safe to call more than once."""
        ...


@runtime_checkable
class SeedableCandidate(Candidate, Protocol):
    """A candidate whose endpoint takes a sampling seed.

    The runner gives each sample of a (session, cut) a seed of its own, so that samples differ
    from one another yet a run is reproducible on endpoints that honour seeds.
    """

    def with_seed(self, seed: int) -> Candidate:
        """The same candidate (sharing its connections) sending ``seed`` with each request."""
        ...
