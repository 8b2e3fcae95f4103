"""The LLM simulator: a model plays the tool, grounded in real recorded pairs and the context.

For a call that can be neither executed nor replayed, :class:`LLMSimulator` asks a model (through
the run's shared :class:`~understudy.replay.simulate.endpoint.SimulatorEndpoint`) what the real
tool would have answered. The model is shown the tool as offered, the call, up to ``examples``
real pairs retrieved from the pair database for the call, the earlier results of the
conversation that touch the same files or commands, and, when the rollout has a live container,
facts read from it (:mod:`~understudy.replay.simulate.context`); the prompt itself is built in
:mod:`~understudy.replay.simulate.llm_prompt`. The reply is the JSON
``{output, exit_code, is_error}``, validated by the endpoint.

The outcome's ``meta`` says where it came from: ``simulator`` (``llm``), ``pair_ids`` (the
examples shown), ``confidence`` (the best example's
:func:`~understudy.replay.simulate.adapt.pair_confidence` with the call, or
:data:`NO_EXAMPLE_CONFIDENCE` without one: the model was guessing from the spec alone),
``exit_code`` (when there is one) and ``model``. An endpoint that fails for good raises
:class:`~understudy.errors.SimulatorError`, which the router notes before passing on.
"""

from __future__ import annotations

from typing import Any

from understudy.protocols import SimulationRequest
from understudy.replay.pairs.query import Neighbour, tool_and_text
from understudy.replay.pairs.store import PairStore
from understudy.replay.simulate.adapt import pair_confidence
from understudy.replay.simulate.context import container_facts, related_results
from understudy.replay.simulate.endpoint import SimulatorEndpoint
from understudy.replay.simulate.llm_prompt import REPLY_SCHEMA, build_messages
from understudy.tools.base import ToolOutcome

__all__ = ["NO_EXAMPLE_CONFIDENCE", "REPLY_NAME", "LLMSimulator"]

NO_EXAMPLE_CONFIDENCE = 0.3
"""Confidence of a simulation made without any real example to draw on."""
REPLY_NAME = "tool_result"
"""The name the reply schema is sent under."""
RELATED_RESULTS = 4
"""Earlier results of the conversation shown at most."""


class LLMSimulator:
    """Answers one rollout's calls with a model playing the tool.

    ``endpoint`` is shared by the run's rollouts; ``pairs`` (None: no pair database) gives the
    real examples, ``examples`` of them at most per call.
    """

    name = "llm"

    def __init__(
        self, endpoint: SimulatorEndpoint, pairs: PairStore | None, examples: int = 4
    ) -> None:
        self.endpoint = endpoint
        self.pairs = pairs
        self.examples = max(examples, 0)

    async def simulate(self, request: SimulationRequest) -> ToolOutcome:
        """The simulated outcome of ``request.call``; raises SimulatorError when the endpoint
        fails or never gives a valid reply."""
        examples = self._examples(request)
        earlier = related_results(
            request.conversation, request.call, request.agent, limit=RELATED_RESULTS
        )
        facts = (
            await container_facts(request.sandbox, request.call, request.agent)
            if request.sandbox is not None
            else {}
        )
        messages = build_messages(request, examples, earlier, facts)
        reply = await self.endpoint.complete_json(messages, REPLY_SCHEMA, REPLY_NAME)
        return ToolOutcome(
            content=reply["output"],
            is_error=reply["is_error"],
            meta=self._meta(request, examples, reply["exit_code"]),
        )

    def _examples(self, request: SimulationRequest) -> list[Neighbour]:
        if self.pairs is None or self.examples == 0:
            return []
        return self.pairs.nearest(request.call, request.agent, request.session_id, self.examples)

    def _meta(
        self, request: SimulationRequest, examples: list[Neighbour], exit_code: int | None
    ) -> dict[str, Any]:
        call_text = tool_and_text(request.call, request.agent)[1]
        confidence = max(
            (pair_confidence(call_text, example) for example in examples),
            default=NO_EXAMPLE_CONFIDENCE,
        )
        meta: dict[str, Any] = {
            "simulator": self.name,
            "pair_ids": [example.pair_id for example in examples],
            "confidence": confidence,
            "model": self.endpoint.model,
        }
        if exit_code is not None:
            meta["exit_code"] = exit_code
        return meta
