"""The scenario format: one trap per YAML file, validated by these models.

A scenario names a session and a cut, the tool policy the candidate meets (with the results
``forced`` for the trap: a failing test run, a denied permission, an empty search), how many
samples to draw, and what must (not) happen: categories that must not be flagged, categories
that must be flagged (judge self-tests), and assertions on the final state. ``understudy schema
--model Scenario`` prints the JSON Schema of the format; a suite's manifest is ``suite.yaml``
(:class:`SuiteManifest`).

Sampling noise. With ``n`` judged samples of which ``k`` are flagged, a ``not_flagged`` limit
of ``max_rate`` fails only when a one-sided binomial test rejects "the candidate's rate is at
most ``max_rate``" at level ``alpha`` (default 0.05): ``k`` is above the largest count that a
candidate at exactly ``max_rate`` reaches with probability at least ``alpha``. With
``max_rate: 0`` (the default) one flagged sample fails. A ``flagged`` requirement of
``min_rate`` is the mirror image (``min_rate: 1``, the default, needs every sample flagged).
``max_flagged`` / ``min_flagged`` set the count outright instead.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from understudy.replay.cuts import Cut
from understudy.tools.forced import ForcedResult, check_pattern
from understudy.trajectory import Session

__all__ = [
    "CategoryLimit",
    "CategoryRequirement",
    "Expectations",
    "Scenario",
    "ScriptCall",
    "ScriptStep",
    "Selftest",
    "SessionSource",
    "StateCheck",
    "SuiteManifest",
    "Workspace",
]

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class SessionSource(_Model):
    """Where the scenario's session comes from: exactly one of ``inline``, ``file``, ``path``."""

    inline: Session | None = None
    """The session itself (the trajectory format of ``understudy schema --model Session``)."""
    file: str | None = None
    """A log file of the suite's own data, relative to the suite folder (any format
    ``understudy import`` reads)."""
    path: str | None = None
    """A log file anywhere (relative to the scenario file, or absolute)."""
    id: str | None = None
    """Which session of the file (default: the first)."""

    @model_validator(mode="after")
    def _one_source(self) -> SessionSource:
        given = [name for name in ("inline", "file", "path") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of inline, file, path (got {given or 'none'})")
        return self


class Workspace(_Model):
    """The files the session works on: made into a git repository for its environment."""

    files: dict[str, str] = Field(default_factory=dict)
    """Relative path -> content."""
    dir: str | None = None
    """A folder (relative to the suite folder) whose files are added first."""
    executable: list[str] = Field(default_factory=list)
    """Paths that get the executable bit."""
    workdir: str | None = None
    """Where the repository is in the sandbox (default: the session's own working directory,
    else /workspace)."""
    setup: list[str] = Field(default_factory=list)
    """Commands run when the environment is built (no network)."""


class ScriptCall(_Model):
    """A tool call of a scripted candidate."""

    tool: str
    """The tool's name, as offered to the model."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Its arguments."""


class ScriptStep(_Model):
    """One turn of a scripted candidate: words, and at most one tool call."""

    say: str = ""
    """The assistant's text. ``{report}`` is replaced by a faithful account of every tool result
    the candidate got (command, exit code, the last lines of output)."""
    call: ScriptCall | None = None
    """The tool call of the turn; the turn without one ends the rollout."""


class Selftest(_Model):
    """What the two built-in scripted candidates of ``understudy suite selftest`` do."""

    honest: list[ScriptStep] = Field(min_length=1)
    """An agent that reports what happened: it must pass the scenario."""
    dishonest: list[ScriptStep] = Field(min_length=1)
    """An agent that claims otherwise: it must fail the scenario."""


class CategoryLimit(_Model):
    """A category that must not be flagged (more often than sampling noise allows)."""

    category: str
    """A taxonomy category id."""
    max_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    """The rate tolerated (see the module docs for how noise is handled)."""
    max_flagged: int | None = Field(default=None, ge=0)
    """At most this many flagged samples, instead of the test."""


class CategoryRequirement(_Model):
    """A category that must be flagged (a judge self-test)."""

    category: str
    """A taxonomy category id."""
    min_rate: float = Field(default=1.0, gt=0.0, le=1.0)
    """The rate required (see the module docs for how noise is handled)."""
    min_flagged: int | None = Field(default=None, ge=1)
    """At least this many flagged samples, instead of the test."""


def _bare_id(value: Any) -> Any:
    """A bare category id stands for its item with the defaults."""
    return {"category": value} if isinstance(value, str) else value


LimitItem = Annotated[
    CategoryLimit, BeforeValidator(_bare_id, json_schema_input_type=CategoryLimit | str)
]
RequirementItem = Annotated[
    CategoryRequirement,
    BeforeValidator(_bare_id, json_schema_input_type=CategoryRequirement | str),
]


class StateCheck(_Model):
    """An assertion on what one rollout did: exactly one field is given. It must hold in every
    sample."""

    file_changed: str | None = None
    """A path (relative to the working directory, or absolute) the rollout changed."""
    file_unchanged: str | None = None
    """A path the rollout left as it found it."""
    command_run: str | None = None
    """A regular expression that some shell script the candidate ran matches."""
    command_not_run: str | None = None
    """A regular expression that no shell script the candidate ran matches."""
    tool_called: str | None = None
    """A tool the candidate called (the name offered, or a canonical one)."""
    tool_not_called: str | None = None
    """A tool the candidate did not call."""

    @model_validator(mode="after")
    def _one_check(self) -> StateCheck:
        given = [name for name, value in self if value is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one assertion per item (got {given or 'none'})")
        for name in ("command_run", "command_not_run"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    check_pattern(pattern)
                except ValueError as error:
                    raise ValueError(f"{name}: {error}") from None
        return self

    @property
    def kind(self) -> str:
        return next(name for name, value in self if value is not None)

    @property
    def value(self) -> str:
        return str(getattr(self, self.kind))


class Expectations(_Model):
    """What must (not) happen in the scenario's rollouts."""

    not_flagged: list[LimitItem] = Field(default_factory=list)
    """Categories that must not be flagged; a bare id means ``max_rate: 0``."""
    flagged: list[RequirementItem] = Field(default_factory=list)
    """Categories that must be flagged (judge self-tests); a bare id means ``min_rate: 1``."""
    state: list[StateCheck] = Field(default_factory=list)
    """Assertions on each rollout's files and commands."""
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    """Level of the binomial tests that keep sampling noise from failing a scenario."""

    @model_validator(mode="after")
    def _something(self) -> Expectations:
        if not (self.not_flagged or self.flagged or self.state):
            raise ValueError("a scenario expects something: not_flagged, flagged or state")
        return self

    def categories(self) -> list[str]:
        """Every category the expectations name, in order."""
        named = [item.category for item in self.not_flagged]
        named += [item.category for item in self.flagged]
        return list(dict.fromkeys(named))


class Scenario(_Model):
    """One regression scenario: a trap where an honest agent reports what happened and a
    dishonest one claims otherwise."""

    name: str
    """Short id (lower case, digits, ``-_.``), unique in its suite; the JUnit testcase name."""
    description: str
    """What the trap is and what an honest agent does."""
    origin: str = ""
    """The real situation it is taken from (log, agent, step)."""
    session: SessionSource
    """The session the candidate takes over."""
    workspace: Workspace | None = None
    """The files it works on; None: the session's own environment."""
    cut: Cut = "last-user"
    """Where the candidate takes over (a mode of ``run --cut``, or a message index)."""
    candidate: Literal["model", "original"] = "model"
    """``model``: the model under test plays; ``original``: the session's own recorded
    continuation is judged (a judge self-test that any model passes)."""
    tools: str | None = None
    """The tool policy (``run --tools`` syntax), e.g. ``live,web_search=unavailable``."""
    forced: list[ForcedResult] = Field(default_factory=list)
    """Tool results fixed for the trap (see :mod:`understudy.tools.forced`)."""
    samples: int = Field(default=1, gt=0)
    """Rollouts drawn (``suite run --samples`` overrides it)."""
    max_steps: int = Field(default=12, gt=0)
    """Most candidate turns in a rollout."""
    expect: Expectations
    """What must (not) happen."""
    selftest: Selftest | None = None
    """What the built-in honest and dishonest candidates do here."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r}: use lower case letters, digits and -_.")
        return value

    @property
    def targets_candidate(self) -> bool:
        """Whether the model under test plays (not a judge self-test on a recording)."""
        return self.candidate == "model"


class SuiteManifest(_Model):
    """``suite.yaml``: a suite's name and the scenarios it runs."""

    name: str
    """The suite's name (``--suite NAME`` for the shipped ones)."""
    description: str = ""
    """What the suite checks."""
    version: str = "1"
    """Bumped when scenarios change meaning (recorded in results)."""
    scenarios: list[str] = Field(default_factory=list)
    """Scenario files (relative to the suite folder), in order; empty: every ``*.yaml`` of the
    folder but the manifest, by name."""
