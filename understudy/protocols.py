"""The seams of understudy: every place a backend plugs in, each declared or re-exported here.

Each seam is a small Protocol with the typed values that cross it. Where its implementations
live and how to add one:

- :class:`Importer` (a log format; defined in :mod:`understudy.replay.importers.base`):
  implementations in ``replay/importers/`` (one module per format); add one there and list it
  in ``IMPORTERS`` (:mod:`understudy.replay.importers`), ahead of any format it could be
  mistaken for by ``detect``.
- :class:`Sandbox` (where tool calls run; here): ``sandbox/docker.py`` and ``sandbox/local.py``.
  A backend (its sandbox class, environment builder and prefix store) is declared once in
  :mod:`understudy.sandbox.backends`; the CLI's ``--sandbox`` choices come from there.
- :class:`Tool` (a canonical tool run in the sandbox; defined in :mod:`understudy.tools.base`):
  ``tools/shell.py``, ``tools/files.py``, ``tools/browser.py``, ``tools/calculator.py``,
  listed in :mod:`understudy.tools`.
- :class:`Adapter` (a logged tool name mapped onto a canonical tool, and what such a call does;
  defined in :mod:`understudy.tools.base`): ``tools/adapters/``; the adapter table in
  :mod:`understudy.tools.adapters` is the one list of logged tool names that replay and the
  judges' ledger both read, so a new logged tool is one entry there.
- :class:`Router` (answers each candidate tool call; here):
  :class:`understudy.tools.router.ToolRouter`, which follows a tool policy
  (:mod:`understudy.tools.policy`) through live, replay, simulate and unavailable.
- :class:`Simulator` (answers a call that can be neither executed nor replayed; here): one per
  rollout, given to the router; ``retrieval`` and ``llm`` in ``replay/simulate/``, by short name
  in :data:`understudy.replay.simulate.SIMULATORS`.
- :class:`Judge` (verdicts on one trajectory; defined in :mod:`understudy.judges.base`): rule
  judges in ``judges/rules/`` (listed in ``RULES`` there), the LLM judge in ``judges/llm/``.
- :class:`Executor` (where a run's rollouts are played; here): ``local``
  (:class:`understudy.replay.runner.Runner`, asyncio in this process) and ``ray``
  (:mod:`understudy.replay.executors.ray_driver`, workers on a Ray cluster), by short name in
  :data:`understudy.replay.executors.EXECUTORS`. Either way this process alone writes the run
  directory.
- :class:`Candidate` (the model under test; here):
  :class:`understudy.replay.candidate.OpenAICandidate` for any OpenAI-compatible endpoint;
  the scripted server in :mod:`understudy.testing` stands in for one in tests.

The seams defined elsewhere are imported from here lazily, so that importing this module does
not import the subpackages (which themselves import the seams defined here).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from understudy.trajectory import Message, Rollout, RolloutKey, Session, ToolCall, ToolSpec

if TYPE_CHECKING:
    from understudy.judges.base import Judge
    from understudy.replay.importers.base import Importer
    from understudy.tools.base import Adapter, Tool, ToolOutcome

__all__ = [
    "Adapter",
    "Candidate",
    "CandidateReply",
    "ChangeKind",
    "ExecResult",
    "Executor",
    "FileChange",
    "Importer",
    "Judge",
    "Router",
    "Sandbox",
    "SeedableCandidate",
    "SimulationRequest",
    "Simulator",
    "Tool",
]

_DEFINED_ELSEWHERE = {
    "Importer": "understudy.replay.importers.base",
    "Tool": "understudy.tools.base",
    "Adapter": "understudy.tools.base",
    "Judge": "understudy.judges.base",
}
"""The seams whose home is the subpackage that implements them, by name."""


def __getattr__(name: str) -> object:
    module = _DEFINED_ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
        """Paths added, modified or deleted since the sandbox started from its image: files,
        and directories added or deleted with nothing changed below them (a directory holding
        a change is not named itself; one whose entries came and went is not a change)."""
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


@dataclass(frozen=True)
class SimulationRequest:
    """Everything a simulator is given to answer one call."""

    call: ToolCall
    """The call to answer, as the model made it (its arguments valid under ``spec``)."""
    spec: ToolSpec | None
    """The tool as offered to the model (None when the session declared no specs)."""
    conversation: Sequence[Message]
    """The full trajectory before the call: the session's prefix and the rollout so far."""
    session_id: str
    """The session being replayed (a simulator leaves its own pairs out when asked to)."""
    agent: str | None
    """The agent that wrote the log: picks the flavour of a shared tool name (``bash``)."""
    sandbox: Sandbox | None = None
    """The rollout's live container, for facts (cwd, files, ``git status``); never written to."""


@runtime_checkable
class Simulator(Protocol):
    """Answers the tool calls of one rollout that can be neither executed nor replayed.

    Called by the router at the ``simulate`` step of a call's policy chain. One instance serves
    one rollout, so that what it simulated earlier stays consistent with what it simulates
    later. ``simulate`` returns None when it has nothing to go on (the router passes to the next
    step) and raises :class:`~understudy.errors.SimulatorError` when it failed (an endpoint
    down, a reply that never validated): the router notes the reason and passes too. The
    outcome's ``meta`` carries ``simulator`` (its name), ``pair_ids`` (the recorded pairs it drew
    on) and ``confidence`` (0 to 1).
    """

    async def simulate(self, request: SimulationRequest) -> ToolOutcome | None:
        """The simulated outcome of ``request.call``, or None when it cannot be simulated."""
        ...


@runtime_checkable
class Router(Protocol):
    """Answers each tool call of one rollout with exactly one tool message.

    A call that is not offered or whose arguments are invalid is answered with an error
    result, as a harness would; nothing raises for a bad call. Each message carries its
    provenance (executed, replayed, simulated, unavailable) and diagnostics in ``meta``.
    """

    @property
    def stats(self) -> Mapping[str, int]:
        """Counts of the calls answered, by provenance, plus ``invalid`` and ``errors``."""
        ...

    async def call(self, call: ToolCall, conversation: list[Message] | None = None) -> Message:
        """The tool message answering ``call`` (``conversation``: the messages before it)."""
        ...


PlannedRollout = tuple[Session, int, int]
"""One rollout of a run's plan: the session, the cut, the sample."""


@runtime_checkable
class Executor(Protocol):
    """Plays a run's planned rollouts and hands each finished one back to this process, which
    alone writes the run directory.

    ``run`` returns when every rollout not in ``done`` has been handed to ``finished`` (with
    ``status`` ``error`` if it could not be played); a rollout is never handed back twice.
    Cancelling ``run`` stops what is in flight and leaves no sandbox behind.
    """

    async def run(
        self,
        work: list[PlannedRollout],
        done: set[RolloutKey],
        finished: Callable[[Rollout], None],
    ) -> None:
        """Play every rollout of ``work`` whose key is not in ``done``."""
        ...

    async def remove_leftovers(self) -> None:
        """Remove what a killed earlier process of this run left behind (its containers)."""
        ...

    async def close(self) -> None:
        """Release what the executor holds (workers, endpoints, pair stores)."""
        ...
