"""Tool simulators: answers for the calls that can be neither executed nor replayed.

A real deployment never answers "this tool is not available" to a web search, an MCP tool, a
``pip install`` or a read of a file the rebuilt workspace lacks; a replay that does changes what
the candidate does next. The ``simulate`` step of a tool policy asks a simulator instead:

- ``retrieval`` (:mod:`~understudy.replay.simulate.retrieval`; no model, deterministic; the
  default): the best matching real result from the pair database, adapted where it is safe;
- ``llm`` (:mod:`~understudy.replay.simulate.llm`): an OpenAI-compatible model given the tool's
  spec, the call, retrieved real pairs as examples, the session's related earlier results and
  facts read from the container, answering ``{output, exit_code, is_error}`` (validated), with
  replies cached by request hash so that a rerun is reproducible;
- or any object at a dotted path that takes the :class:`SimulatorResources` and returns a
  :class:`~understudy.protocols.Simulator`.

Either is wrapped, one per rollout, in a
:class:`~understudy.replay.simulate.grounding.GroundedSimulator`, which keeps the rollout's
simulated results consistent (repeats, file tools on a copy-on-write overlay of the container).
Every simulated result carries provenance ``simulated`` and, in its
``meta``, the simulator's name, the pair ids it drew on and its confidence. How realistic the
answers are is measured by ``understudy simcheck`` (:mod:`~understudy.replay.simulate.simcheck`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import ConfigError
from understudy.protocols import Simulator
from understudy.registry import Registry
from understudy.replay.pairs.store import PairStore
from understudy.replay.simulate.grounding import GroundedSimulator

if TYPE_CHECKING:  # the endpoint imports openai, which only the llm simulator needs
    from understudy.replay.simulate.endpoint import SimulatorEndpoint

__all__ = [
    "NO_SIMULATOR",
    "SIMULATORS",
    "SimulatorConfig",
    "SimulatorResources",
    "Simulators",
]


NO_SIMULATOR = "none"
"""The name that turns simulation off: the ``simulate`` step passes every call on."""


class SimulatorConfig(BaseModel):
    """Which simulator answers a run's simulated calls, and what it draws on."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str = "retrieval"
    """``retrieval``, ``llm``, ``none``, or a dotted path to a factory taking
    :class:`SimulatorResources`."""
    pairs: Path | None = None
    """The pair database (``understudy pairs build``); None: no real pairs to draw on."""
    leave_out_session: bool = False
    """Never draw on the pairs of the session being replayed (``simcheck``'s leave-one-out)."""
    examples: int = Field(default=4, ge=0)
    """Real pairs shown to the ``llm`` simulator as examples."""
    model: str | None = None
    """The ``llm`` simulator's model, as its endpoint knows it."""
    base_url: str | None = None
    """The ``llm`` simulator's OpenAI-compatible endpoint."""
    api_key_env: str = "SIMULATOR_API_KEY"
    """Environment variable holding the ``llm`` simulator's key (loopback endpoints need none)."""
    cache: Path | None = None
    """JSONL file of the ``llm`` simulator's replies by request hash (reruns send nothing new)."""
    max_retries: int = Field(default=3, ge=0)
    """Retries of a failed ``llm`` request, with back-off."""
    timeout_s: float = Field(default=120.0, gt=0)
    """Seconds one ``llm`` request may take."""

    def describe(self) -> dict[str, object]:
        """The settings worth recording in run.json (no key)."""
        return self.model_dump(mode="json", exclude_none=True)


class SimulatorResources:
    """What the simulators of one run share: the pair store and the model endpoint."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.pairs = PairStore(config.pairs, config.leave_out_session) if config.pairs else None
        """The pair database, opened once for the run."""
        self.endpoint = _endpoint(config) if config.name == "llm" else None
        """The ``llm`` simulator's endpoint client, shared by every rollout."""

    async def close(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.close()
        if self.pairs is not None:
            self.pairs.close()


SimulatorFactory = Callable[[SimulatorResources], Simulator]
"""Makes the base simulator of one rollout from the run's shared resources."""


def _retrieval(resources: SimulatorResources) -> Simulator:
    from understudy.replay.simulate.retrieval import RetrievalSimulator

    return RetrievalSimulator(resources.pairs)


def _llm(resources: SimulatorResources) -> Simulator:
    from understudy.replay.simulate.llm import LLMSimulator

    assert resources.endpoint is not None  # made for an llm config
    return LLMSimulator(resources.endpoint, resources.pairs, resources.config.examples)


SIMULATORS: Registry[SimulatorFactory] = Registry(
    "simulator", {"retrieval": lambda: _retrieval, "llm": lambda: _llm}
)
"""Simulators by short name (their factories), with a dotted-path fallback."""


def _endpoint(config: SimulatorConfig) -> SimulatorEndpoint:
    from understudy.replay.simulate.endpoint import SimulatorEndpoint

    if not config.model:
        raise ConfigError("the llm simulator needs a model: give --simulator-model")
    return SimulatorEndpoint(
        config.model,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        cache_path=config.cache,
        max_retries=config.max_retries,
        timeout_s=config.timeout_s,
    )


class Simulators:
    """The simulators of one run: a fresh one for each rollout, sharing the run's resources."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._factory = SIMULATORS.get(config.name)
        self.resources = SimulatorResources(config)
        self.name = config.name

    def for_rollout(self) -> Simulator:
        """A simulator for one rollout (it remembers what it simulated there)."""
        return GroundedSimulator(self._factory(self.resources), self.name)

    async def close(self) -> None:
        """Close the pair store and the endpoint. Safe to call more than once."""
        await self.resources.close()
