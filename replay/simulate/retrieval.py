"""The ``retrieval`` simulator: the best matching real result, adapted where it is safe.

No model, deterministic: the same call, conversation and pair database give the same answer.
For a call it answers, in order:

1. **The conversation's own answer**: an earlier call with the same name and arguments (in the
   session's prefix or the rollout so far) and its result. A real tool asked the same thing
   twice in a session mostly answers the same, and nothing else is as close.
2. **The nearest real pair** (:mod:`understudy.replay.pairs`): the ``k`` pairs retrieval finds
   are re-ranked by (same tool, same harness, text similarity of the calls), and the best one's
   result is adapted to the call (:func:`~understudy.replay.simulate.adapt.adapted_result`).

Its confidence is :func:`~understudy.replay.simulate.adapt.pair_confidence` of the pair used
(an answer from the conversation: 0.9 for a read-only call, 0.6 for one that may have changed
what a second run would print). With no pair sharing a word with the call it has nothing to go
on and returns None.
"""

from __future__ import annotations

from collections.abc import Sequence

from understudy.protocols import SimulationRequest
from understudy.replay.pairs.query import Neighbour, neighbour_text, tool_and_text
from understudy.replay.pairs.store import PairStore
from understudy.replay.simulate.adapt import (
    adapted_result,
    pair_confidence,
    shows_bare_output,
    text_similarity,
)
from understudy.tools.adapters import find_adapter
from understudy.tools.base import ToolOutcome
from understudy.trajectory import Message, ToolCall

CANDIDATES = 8
"""Pairs retrieved for re-ranking (the index ranks by shared words only)."""
REPEAT_CONFIDENCE = {True: 0.9, False: 0.6}
"""Confidence of the conversation's own answer to the same call, by whether it is read-only."""


class RetrievalSimulator:
    """Answers a call with the real result nearest to it."""

    name = "retrieval"

    def __init__(self, pairs: PairStore | None, candidates: int = CANDIDATES) -> None:
        self._pairs = pairs
        self._candidates = candidates

    async def simulate(self, request: SimulationRequest) -> ToolOutcome | None:
        call, agent = request.call, request.agent
        earlier = earlier_answer(request.conversation, call)
        if earlier is not None:
            adapter = find_adapter(call.name, agent)
            read_only = adapter is not None and adapter.read_only(call.name, call.arguments)
            meta = {**_exit_code(earlier), "source": "conversation"}
            meta.update(simulator=self.name, pair_ids=[], confidence=REPEAT_CONFIDENCE[read_only])
            return ToolOutcome(content=earlier.content, is_error=earlier.is_error, meta=meta)
        if self._pairs is None:
            return None
        found = self._pairs.nearest(call, agent, request.session_id, self._candidates)
        best = best_pair(call, agent, found)
        if best is None:
            return None
        outcome = adapted_result(
            call, agent, best, shows_bare_output(request.conversation, call, agent)
        )
        outcome.content = without_foreign_preamble(
            outcome.content, self._pairs.preamble(best.session_id, best.tool), request.conversation
        )
        text = tool_and_text(call, agent)[1]
        outcome.meta.update(
            simulator=self.name, pair_ids=[best.pair_id], confidence=pair_confidence(text, best)
        )
        return outcome

    async def close(self) -> None:
        """Nothing to release: the pair store belongs to the run."""


def earlier_answer(conversation: Sequence[Message], call: ToolCall) -> Message | None:
    """The result of the latest earlier call with ``call``'s name and arguments, if any."""
    results = {m.tool_call_id: m for m in conversation if m.role == "tool" and m.tool_call_id}
    for message in reversed(conversation):
        for earlier in message.tool_calls:
            if earlier.id == call.id:
                continue
            if earlier.name == call.name and earlier.arguments == call.arguments:
                answer = results.get(earlier.id)
                if answer is not None and answer.provenance != "unavailable":
                    return answer
    return None


def without_foreign_preamble(content: str, preamble: str, conversation: Sequence[Message]) -> str:
    """``content`` without the lines every output of its session started with (that machine's
    shell profile warnings), unless this conversation's results start with them too."""
    if not preamble or not content.startswith(preamble):
        return content
    if any(m.role == "tool" and m.content.startswith(preamble) for m in conversation):
        return content
    return content[len(preamble) :]


def best_pair(call: ToolCall, agent: str | None, found: list[Neighbour]) -> Neighbour | None:
    """The pair to answer with: same tool first, then the same logged tool (its harness's own
    wording), then the closest call text; ties keep retrieval's order."""
    if not found:
        return None
    text = tool_and_text(call, agent)[1]
    ranked = sorted(
        enumerate(found),
        key=lambda item: (
            not item[1].same_tool,
            item[1].tool != call.name,
            -text_similarity(text, neighbour_text(item[1])),
            item[0],
        ),
    )
    return ranked[0][1]


def _exit_code(message: Message) -> dict[str, int]:
    code = message.meta.get("exit_code")
    return {"exit_code": code} if isinstance(code, int) and not isinstance(code, bool) else {}
