"""The trajectory schema: every object that crosses a seam in understudy is one of these models.

Files on disk are their JSON (``sessions.jsonl`` holds one :class:`Session` per line,
``rollouts.jsonl`` one :class:`Rollout`, ``judgments.jsonl`` one :class:`Judgment`). Unknown
fields are rejected so that a typo in a hand-written file is reported rather than ignored;
format-specific facts belong in the ``meta`` dictionaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self, cast

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
"""Bumped whenever a change to these models would make old files fail to load."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        """``cls(**fields)``, validated alike, at half the cost for a small model: pydantic's
        validator is called without the constructor's Python frame. For importers, which
        build a model for each of hundreds of thousands of messages and tool calls."""
        return cast(Self, cls.__pydantic_validator__.validate_python(fields))


class ToolSpec(_Model):
    """A tool as offered to a model."""

    name: str
    """The name the model calls the tool by."""
    description: str = ""
    """What the tool does, as shown to the model."""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    """JSON Schema of the tool's arguments."""
    inferred: bool = False
    """True when the log did not carry the spec and it was inferred from observed calls."""


class ToolCall(_Model):
    """One tool call made by an assistant message."""

    id: str
    """The call id; tool results point back to it through ``Message.tool_call_id``."""
    name: str
    """Name of the tool called."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Parsed arguments (empty when they were not valid JSON; see ``raw_arguments``)."""
    raw_arguments: str | None = None
    """The arguments exactly as produced, kept when they were not a valid JSON object."""


class Provenance(StrEnum):
    """Where a tool result came from."""

    RECORDED = "recorded"
    """Taken from the log as it was."""
    EXECUTED = "executed"
    """Run live in the sandbox."""
    REPLAYED = "replayed"
    """Served from a recorded result that matched the call."""
    SIMULATED = "simulated"
    """Produced by a tool simulator."""
    UNAVAILABLE = "unavailable"
    """The router could not serve the call; the model got an explicit error."""


Role = Literal["system", "user", "assistant", "tool"]


class Message(_Model):
    """One chat message. Multi-part content is flattened to text (images become ``[image]``)."""

    role: Role
    """Who speaks: system, user, assistant, or tool (a tool result)."""
    content: str = ""
    """The text of the message."""
    reasoning: str | None = None
    """Reasoning the model exposed, when the log kept it."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Tool calls made by an assistant message, in order."""
    tool_call_id: str | None = None
    """For a tool result: the id of the call it answers."""
    name: str | None = None
    """For a tool result: the tool's name."""
    is_error: bool = False
    """For a tool result: the tool reported an error."""
    provenance: Provenance | None = None
    """For a tool result: where it came from."""
    timestamp: datetime | None = None
    """When the message was written, if the log says."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Format-specific facts: exit_code, duration_s, usage, model, original ids, diagnostics."""

    @property
    def demonstration(self) -> bool:
        """Whether the message belongs to a demonstration the harness showed the model (a worked
        example of another task, ``meta["is_demo"]``) rather than to the session's own turns:
        it made no calls, and what it says is not the model's account of this session."""
        return bool(self.meta.get("is_demo"))

    @property
    def recounts_conversation(self) -> bool:
        """Whether the message retells a conversation held elsewhere (the summary a compaction
        run writes of the session it compacts, ``meta["recounts_conversation"]``): what it says
        was done was done there, not by calls of this session."""
        return bool(self.meta.get("recounts_conversation"))


class RepoSpec(_Model):
    """Where the task's repository comes from."""

    url: str | None = None
    """A clone URL (or anything git can clone)."""
    path: str | None = None
    """A local repository to clone from instead of ``url``."""
    commit: str | None = None
    """Commit to check out; the default branch head when absent."""
    branch: str | None = None
    """Branch to check out when no commit is given (and to name the checkout)."""
    patch: str | None = None
    """A unified diff applied after checkout."""


class EnvFile(_Model):
    """A file (or directory) written into an environment when it is built."""

    path: str
    """Absolute path inside the environment (relative: under ``workdir``)."""
    content: str = ""
    """The file's text (nothing for a directory)."""
    directory: bool = False
    """A directory to create rather than a file."""
    executable: bool = False
    """The file is executable (mode 755 rather than 644)."""


class EnvSpec(_Model):
    """The task environment a session ran in."""

    image: str | None = None
    """The session's own image; the base image is used when it is absent or not present locally."""
    repo: RepoSpec | None = None
    """The repository placed at ``workdir``."""
    workdir: str = "/workspace"
    """Absolute path of the working directory inside the environment."""
    setup: list[str] = Field(default_factory=list)
    """Shell commands run (in order, in ``workdir``) after the repository is in place."""
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables for every command."""
    files: list[EnvFile] = Field(default_factory=list)
    """Files written after the repository is in place and before ``setup`` (e.g. a workspace
    rebuilt from the log, see :mod:`understudy.replay.workspace`)."""
    pip_install: list[str] = Field(default_factory=list)
    """Arguments of a ``pip install`` run in ``workdir`` at build time (``["-e", ".[dev]"]``),
    as the logged harness installed the repository: the wheels are built on the host, the
    sandbox stays without a network (see :mod:`understudy.sandbox.dependencies`)."""


class SourceInfo(_Model):
    """Where a session was imported from."""

    format: str
    """Importer name (native, swe-agent, claude-code, ...)."""
    path: str | None = None
    """The file it came from."""
    agent: str | None = None
    """The agent that wrote the log."""
    model: str | None = None
    """The model that played the assistant in the log."""
    version: str | None = None
    """Version of the agent or log format."""
    instance_id: str | None = None
    """The benchmark instance the log ran (e.g. SWE-bench's
    ``marshmallow-code__marshmallow-1867``), where the log names one; ``--envs`` rows match it."""


class Session(_Model):
    """One logged session, normalized."""

    id: str
    """Stable identifier of the session."""
    source: SourceInfo
    """Where it was imported from."""
    task: str = ""
    """The task as the user stated it (usually the first user message)."""
    env: EnvSpec = Field(default_factory=EnvSpec)
    """The environment to rebuild."""
    tools: list[ToolSpec] = Field(default_factory=list)
    """Tools offered to the model in the log."""
    messages: list[Message] = Field(default_factory=list)
    """The conversation."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Format-specific facts about the whole session."""

    def answered_calls(self) -> Iterator[tuple[int, ToolCall, Message]]:
        """Each tool call that has a recorded result, with it (the last logged for its id), in
        the order of the calls; the index is that of the message that made the call."""
        results = {m.tool_call_id: m for m in self.messages if m.role == "tool"}
        for index, message in enumerate(self.messages):
            for call in message.tool_calls:
                result = results.get(call.id)
                if result is not None:
                    yield index, call, result


class CandidateInfo(_Model):
    """The model that played the assistant in a rollout."""

    model: str
    """Model name as sent to the endpoint."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Sampling parameters (temperature, max_tokens, seed, ...)."""


RolloutStatus = Literal["completed", "max_steps", "timeout", "error"]

RolloutErrorKind = Literal["environment", "sandbox", "candidate", "prefix", "harness", "worker"]
"""Why a rollout ended in ``error``:

- ``environment``: its environment could not be built or its declared image is absent;
- ``sandbox``: the container failed or vanished under it;
- ``candidate``: the model endpoint failed for good (after its retries), or answered garbage;
- ``prefix``: the state at the cut could not be rebuilt (``--prefix-errors abort``);
- ``harness``: understudy itself failed (a bug: the traceback is in events.jsonl);
- ``worker``: the executor's worker running it died (a Ray node lost, a process killed), and
  so did the workers it was retried on.
"""


class Rollout(_Model):
    """What the candidate produced after ``session.messages[:cut]``.

    The full trajectory is ``session.messages[:cut] + rollout.messages``; message indices in
    judgments refer to it.
    """

    id: str
    """Stable identifier of the rollout."""
    session_id: str
    """The session it continues."""
    cut: int = Field(ge=0)
    """Number of session messages kept before the candidate took over."""
    sample: int = Field(default=0, ge=0)
    """Sample number among rollouts of the same (session, cut)."""
    candidate: CandidateInfo
    """Who played the assistant."""
    messages: list[Message] = Field(default_factory=list)
    """Messages produced after the cut (assistant turns and tool results)."""
    status: RolloutStatus = "completed"
    """How the rollout ended."""
    error: str | None = None
    """What went wrong, when status is ``error``."""
    error_kind: RolloutErrorKind | None = None
    """Why it went wrong, when status is ``error`` (see :data:`RolloutErrorKind`)."""
    usage: dict[str, int] = Field(default_factory=dict)
    """Token counts summed over the candidate's calls."""
    timing: dict[str, float] = Field(default_factory=dict)
    """Seconds spent per phase (env, prefix, model, tools, total)."""
    tool_stats: dict[str, int] = Field(default_factory=dict)
    """Counts of tool calls by outcome (executed, replayed, invalid, ...)."""
    env_fidelity: float | None = Field(default=None, ge=0.0, le=1.0)
    """Share of re-executed prefix calls whose live output matched the recorded one."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Facts about the end state: ``changed_files`` ([{path, kind}]), replay diagnostics."""


class Evidence(_Model):
    """A quote from the full trajectory backing a judgment."""

    message_index: int = Field(ge=0)
    """Index into the full trajectory."""
    quote: str
    """Text that occurs in that message."""


class Judgment(_Model):
    """One judge's verdict on one category for one trajectory."""

    target_id: str
    """A rollout id, or a session id when the original model's own turn is judged."""
    judge: str
    """Which judge produced it (a rule name or ``llm:<model>``)."""
    category: str
    """Taxonomy category id."""
    flagged: bool
    """Whether the behaviour was found."""
    severity: int = Field(default=0, ge=0, le=4)
    """0 (none) to 4 (severe)."""
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    """The judge's confidence in the verdict."""
    evidence: list[Evidence] = Field(default_factory=list)
    """Quotes that back the verdict."""
    rationale: str = ""
    """Why, in a sentence or two."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Judge model, prompt hash, taxonomy version, errors."""


MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (ToolSpec, ToolCall, Message, RepoSpec, EnvSpec, Session, Rollout, Judgment)
}
"""The top-level models by name, as ``understudy schema --model`` accepts them."""


RolloutKey = tuple[str, int, int]
"""(session_id, cut, sample): what a run plans and ``--resume`` skips."""


def rollout_key(rollout: Rollout) -> RolloutKey:
    """The planned rollout that ``rollout`` is an attempt at."""
    return (rollout.session_id, rollout.cut, rollout.sample)


def error_kind(rollout: Rollout) -> str:
    """The kind of an errored rollout (``unknown`` for files written before kinds were kept)."""
    return rollout.error_kind or "unknown"


def latest_rollouts(rollouts: Iterable[Rollout]) -> list[Rollout]:
    """The newest attempt at each planned rollout, in the order the keys first appear.

    ``rollouts.jsonl`` is append-only: ``--resume`` runs an errored rollout again and appends
    the new attempt after the old line, which stays as a record. Whoever reads the file for
    results (judges, reports, summaries) takes the last line of each key.
    """
    newest: dict[RolloutKey, Rollout] = {}
    for rollout in rollouts:
        newest[rollout_key(rollout)] = rollout
    return list(newest.values())


def full_trajectory(session: Session, rollout: Rollout) -> list[Message]:
    """The messages a judge reads: the session prefix up to the cut, then the rollout."""
    return [*session.messages[: rollout.cut], *rollout.messages]
