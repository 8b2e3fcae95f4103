"""A model asked to tell a real tool result from a simulated one: how convincing simulation is.

:class:`Discriminator` shows a model the end of the conversation, the call, and two results
labelled A and B, one real and one simulated, and asks which one a real tool produced. A
simulator whose results the model cannot tell apart from real ones (it picks the real one about
half the time) is doing its job.

Which label the real result gets is drawn for each call from ``random.Random(seed)``, so a run's
orders are the same on a rerun (and, with the endpoint's reply cache, so are its answers); each
pick is kept in :attr:`Discriminator.picks`. The reply is the JSON ``{"real": "A"|"B",
"reason": ...}``; an endpoint that fails raises :class:`~understudy.errors.SimulatorError`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from understudy.replay.simulate.context import cut_text
from understudy.replay.simulate.endpoint import SimulatorEndpoint
from understudy.trajectory import Message, ToolCall

__all__ = ["DISCRIMINATOR_SCHEMA", "Discriminator", "Pick"]

Label = Literal["A", "B"]

DISCRIMINATOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "real": {"type": "string", "enum": ["A", "B"]},
        "reason": {"type": "string"},
    },
    "required": ["real", "reason"],
    "additionalProperties": False,
}

RECENT_MESSAGES = 6
"""Messages of the conversation shown, the last ones before the call."""
MESSAGE_CHARS = 1500
"""Characters of each of those messages kept."""
RESULT_CHARS = 6000
"""Characters of each result kept."""

SYSTEM_PROMPT = """\
You examine tool results from an AI coding agent's session. One call was answered twice: once \
by the real tool and once by a simulation. Tell which of the two results, A or B, the real tool \
produced. Look at formatting, consistency with the conversation, and details a simulation tends \
to get wrong. Reply only with the JSON object {"real": "A" or "B", "reason": string}, the reason \
in one or two sentences.
"""


@dataclass(frozen=True)
class Pick:
    """One question put to the discriminator and its answer."""

    call_id: str
    real_label: Label
    """The label the real result was shown under."""
    picked: Label
    """The label the model said was real."""
    reason: str

    @property
    def correct(self) -> bool:
        return self.picked == self.real_label


class Discriminator:
    """Asks a model which of two results a real tool produced (``seed``: the label order)."""

    def __init__(self, endpoint: SimulatorEndpoint, seed: int = 0) -> None:
        self.endpoint = endpoint
        self.seed = seed
        self._random = random.Random(seed)
        self.picks: list[Pick] = []
        """Every question asked so far, in order, with the label order drawn for it."""

    async def pick_real(
        self, conversation: Sequence[Message], call: ToolCall, real: str, simulated: str
    ) -> bool:
        """Whether the model picked ``real`` as the result of a real tool."""
        real_label: Label = "A" if self._random.random() < 0.5 else "B"
        first, second = (real, simulated) if real_label == "A" else (simulated, real)
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question(conversation, call, first, second)},
        ]
        reply = await self.endpoint.complete_json(messages, DISCRIMINATOR_SCHEMA, "which_is_real")
        pick = Pick(call.id, real_label, reply["real"], reply["reason"])
        self.picks.append(pick)
        return pick.correct

    async def close(self) -> None:
        """Close the endpoint's connections. Safe to call more than once."""
        await self.endpoint.close()


def question(conversation: Sequence[Message], call: ToolCall, first: str, second: str) -> str:
    """The user message: the end of the conversation, the call, results A and B."""
    parts = ["## The end of the conversation before the call"]
    for message in conversation[-RECENT_MESSAGES:]:
        parts.append(f"[{message.role}] " + cut_text(_message_text(message), MESSAGE_CHARS))
    arguments = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)
    parts += [
        "## The call",
        f"Tool `{call.name}` with arguments {cut_text(arguments, MESSAGE_CHARS)}",
        "## Result A",
        cut_text(first, RESULT_CHARS),
        "## Result B",
        cut_text(second, RESULT_CHARS),
        "Which result did the real tool produce, A or B?",
    ]
    return "\n\n".join(parts)


def _message_text(message: Message) -> str:
    calls = [f"{call.name}({json.dumps(call.arguments)})" for call in message.tool_calls]
    return "\n".join([message.content, *calls]).strip() or "(empty)"
