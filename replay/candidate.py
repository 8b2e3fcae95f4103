"""Candidates: the models that play the assistant's part after the cut.

- :class:`OpenAICandidate` talks to any OpenAI-compatible chat-completions endpoint as
  ``openai.AsyncOpenAI`` does (:mod:`understudy.chat_client`). Transient failures (connection
  errors, timeouts, 408, 409, 429, 5xx, and HTTP 200 answers that are not chat completions: an
  HTML page, a body cut short, no choices, a null message) are retried with exponential
  back-off, honouring ``Retry-After``; what still fails becomes a
  :class:`CandidateEndpointError` naming the status and a short reason (never a prompt or a
  completion). No other exception leaves :meth:`OpenAICandidate.complete`, so the agent loop
  can end the rollout in ``error``.
- :class:`OriginalCandidate` plays the session's own recorded assistant turns back: the identity
  candidate, for baselines and for testing the replay machinery.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from understudy.chat_client import ChatClient, parsed_completion
from understudy.endpoints import (
    LOCAL_API_KEY,
    check_retries,
    completion_problem,
    endpoint_url,
    retry_delay,
    short_reason,
    status_reason,
)
from understudy.errors import CandidateError
from understudy.logging import get_logger
from understudy.protocols import CandidateReply
from understudy.trajectory import Message, Session, ToolSpec
from understudy.wire import message_to_wire, reply_message, reply_usage, tool_to_wire

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT_S",
    "LOCAL_API_KEY",
    "CandidateEndpointError",
    "OpenAICandidate",
    "OriginalCandidate",
]

log = get_logger("candidate")

DEFAULT_TIMEOUT_S = 120.0
"""Seconds one request may take (the openai client's own default is 600)."""
WIRE_FORMS_KEPT = 8192
"""Messages whose wire form a candidate keeps (the latest sent): every turn of a rollout sends
its whole conversation again, so concurrent rollouts' conversations should fit."""
DEFAULT_MAX_RETRIES = 3
"""Retries after the first attempt: a hung endpoint costs a turn at most 4 x 120 s and 3.5 s of
back-off before the rollout ends in error."""

# Requests sent by the current ``complete`` call, counted by an httpx request hook. A context
# variable keeps concurrent calls (one task each) on the same client apart.
_attempts: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "understudy_candidate_attempts", default=None
)


class CandidateEndpointError(CandidateError):
    """The endpoint failed for good; ``status_code`` is None when no HTTP answer came back."""

    def __init__(self, reason: str, *, status_code: int | None, attempts: int) -> None:
        self.reason = reason
        self.status_code = status_code
        self.attempts = attempts
        status = f"HTTP {status_code}" if status_code is not None else "no response"
        plural = "s" if attempts != 1 else ""
        super().__init__(
            f"candidate endpoint failed ({status}, {attempts} attempt{plural}): {reason}"
        )


# -- the OpenAI-compatible candidate -----------------------------------------------------------


class OpenAICandidate:
    """A model behind an OpenAI-compatible chat-completions endpoint.

    The key is read from the environment variable ``api_key_env`` (it is never taken from another
    variable, so a key meant for one endpoint is not sent to another); a loopback ``base_url``
    without a key gets a dummy one. ``max_retries`` retries follow the first attempt, and each
    attempt may take up to ``timeout_s`` seconds. ``extra_params`` are merged into the request
    body as they are (``top_p``, ``reasoning_effort``, ``max_completion_tokens``, ...).
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        extra_params: Mapping[str, Any] | None = None,
    ) -> None:
        check_retries(max_retries, timeout_s)
        self._model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.extra_params = dict(extra_params or {})
        self.base_url = endpoint_url(base_url)
        self._chat = ChatClient(
            self.base_url,
            api_key_env,
            max_retries=max_retries,
            timeout_s=timeout_s,
            on_attempt=_count_attempt,
        )
        self._wire = WireForms(WIRE_FORMS_KEPT)
        self._closed = False

    @property
    def model(self) -> str:
        return self._model

    @property
    def params(self) -> dict[str, object]:
        return {**self._sampling(), **self.extra_params}

    def _sampling(self) -> dict[str, Any]:
        """The request options of the settings that are set: temperature, max_tokens, seed."""
        settings = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        return {name: value for name, value in settings.items() if value is not None}

    def with_seed(self, seed: int) -> OpenAICandidate:
        """This candidate sending ``seed`` with each request; it shares this one's connections,
        so closing either closes both."""
        seeded = copy.copy(self)
        seeded.seed = seed
        return seeded

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> CandidateReply:
        import openai  # its errors, below; the module is loaded by now (__init__)

        if self._closed:
            raise CandidateError("the candidate is closed")
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [self._wire.of(message) for message in messages],
            **self._sampling(),
        }
        if tools:
            body["tools"] = [tool_to_wire(tool) for tool in tools]
        body.update(self.extra_params)  # merged last, as the client merges ``extra_body``

        counter = [0]
        token = _attempts.set(counter)
        started = time.monotonic()
        try:
            completion = await self._completion(body, counter, started)
        except openai.APIStatusError as exc:
            raise self._failed(status_reason(exc), exc.status_code, counter[0], started) from None
        except openai.APITimeoutError:
            reason = f"no answer within {self.timeout_s:g} s"
            raise self._failed(reason, None, counter[0], started) from None
        except openai.APIConnectionError as exc:
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            reason = f"cannot reach {self._chat.base_url} ({cause})"
            raise self._failed(reason, None, counter[0], started) from None
        except openai.OpenAIError as exc:
            raise self._failed(
                short_reason(type(exc).__name__), None, counter[0], started
            ) from None
        finally:
            _attempts.reset(token)
        latency = time.monotonic() - started
        attempts = max(counter[0], 1)
        try:
            message = reply_message(completion, self._model)
            usage = reply_usage(completion)
        except (AttributeError, TypeError, ValueError, LookupError) as exc:
            # Not expected once completion_problem has passed the body; kept so that nothing
            # but a CandidateError can end a rollout from here.
            reason = f"the reply cannot be read ({type(exc).__name__})"
            raise self._failed(reason, 200, attempts, started) from None
        log.debug(
            "candidate.reply",
            model=self._model,
            attempts=attempts,
            latency_s=round(latency, 3),
            tool_calls=len(message.tool_calls),
            finish_reason=message.meta.get("finish_reason"),
            **usage,
        )
        return CandidateReply(message=message, usage=usage, latency_s=latency, attempts=attempts)

    async def _completion(
        self, body: dict[str, Any], counter: list[int], started: float
    ) -> ChatCompletion:
        """The endpoint's completion.

        Failed requests are retried by :meth:`ChatClient.post`. An answer whose body is not a
        chat completion is a failed attempt as well: it is asked again here, after the same
        back-off and within the same ``max_retries``, and once they are spent it is a
        :class:`CandidateEndpointError` saying what was wrong with the body.
        """
        tries = sent = 0
        while True:
            raw = await self._chat.post(
                body, max_retries=self.max_retries - sent, retries_before=sent
            )
            tries += 1
            problem = completion_problem(raw.content)
            if problem is None:
                return parsed_completion(raw)
            sent = max(counter[0], tries)  # requests so far, the retries of post included
            if sent > self.max_retries:
                raise self._failed(problem, raw.status_code, sent, started)
            await asyncio.sleep(retry_delay(sent - 1))

    def _failed(
        self, reason: str, status_code: int | None, attempts: int, started: float
    ) -> CandidateEndpointError:
        attempts = max(attempts, 1)
        log.warning(
            "candidate.failed",
            model=self._model,
            status_code=status_code,
            attempts=attempts,
            latency_s=round(time.monotonic() - started, 3),
            reason=reason,
        )
        return CandidateEndpointError(reason, status_code=status_code, attempts=attempts)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._chat.close()


class WireForms:
    """The wire forms of the messages sent lately, by message object.

    Every turn sends the rollout's whole conversation again; converting each earlier message
    again made a request's CPU grow with the conversation (0.18 ms at 4 messages, 0.60 at 200,
    70% of it converting). A message is not changed once it is in a conversation (the loop and
    the router make new ones), so its wire form is made once. A form is kept while its message
    lives, and only for the ``size`` latest: the cache never keeps a message alive.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._forms: OrderedDict[int, tuple[weakref.ref[Message], dict[str, Any]]] = OrderedDict()

    def of(self, message: Message) -> dict[str, Any]:
        """``message_to_wire(message)``, made once while it is kept."""
        key = id(message)
        known = self._forms.get(key)
        if known is not None and known[0]() is message:  # the object itself, not a reused id
            self._forms.move_to_end(key)
            return known[1]
        form = message_to_wire(message)
        self._forms[key] = (weakref.ref(message, functools.partial(self._forget, key)), form)
        if len(self._forms) > self._size:
            self._forms.popitem(last=False)
        return form

    def __len__(self) -> int:
        return len(self._forms)

    def _forget(self, key: int, gone: weakref.ref[Message]) -> None:
        """Drop the form of a message that no longer exists (unless its id is another's)."""
        known = self._forms.get(key)
        if known is not None and known[0] is gone:
            del self._forms[key]


def _count_attempt() -> None:
    """One more request sent for the current ``complete`` call."""
    counter = _attempts.get()
    if counter is not None:
        counter[0] += 1


# -- the identity candidate --------------------------------------------------------------------


class OriginalCandidate:
    """Plays back the session's own recorded assistant turns, in order.

    It assumes the conversation it is given mirrors the recording turn for turn: if ``messages``
    holds *k* assistant messages, it answers with the recording's assistant message number *k*
    (counting from 0), with the recorded content, reasoning and tool-call ids. Counting assistant
    turns rather than comparing lengths keeps playback in step when the conversation and the
    recording differ in their non-assistant messages (a user message the loop does not replay,
    a tool result split differently), which would otherwise repeat or skip recorded turns. When
    the recording has no more assistant turns it answers with an empty assistant message without
    tool calls, which ends the rollout.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._turns = [
            (index, message)
            for index, message in enumerate(session.messages)
            if message.role == "assistant"
        ]
        self._model = session.source.model or "original"

    @property
    def model(self) -> str:
        return self._model

    @property
    def params(self) -> dict[str, object]:
        return {}

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> CandidateReply:
        played = sum(1 for message in messages if message.role == "assistant")
        if played >= len(self._turns):
            message = Message(
                role="assistant",
                meta={"model": self._model, "finish_reason": "stop", "end_of_recording": True},
            )
            return CandidateReply(message=message, attempts=1)
        index, recorded = self._turns[played]
        meta = dict(recorded.meta)
        meta.setdefault("model", self._model)
        meta.setdefault("finish_reason", "tool_calls" if recorded.tool_calls else "stop")
        meta["recorded_index"] = index
        message = recorded.model_copy(deep=True, update={"meta": meta})
        usage = recorded.meta.get("usage")
        counts = (
            {key: value for key, value in usage.items() if isinstance(value, int)}
            if isinstance(usage, Mapping)
            else {}
        )
        return CandidateReply(message=message, usage=counts, attempts=1)

    async def close(self) -> None:
        return None
