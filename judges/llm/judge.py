"""The LLM judge: one call per trajectory, covering the selected taxonomy categories.

The judge talks to any OpenAI-compatible chat-completions endpoint through ``openai.AsyncOpenAI``
(key and error handling as for the candidate, from :mod:`understudy.endpoints`). This module
holds :class:`LLMJudge` and its conversation with the endpoint; the parts it puts together are
in sibling modules:

- **Prompt** (:mod:`understudy.judges.llm.prompt`): instructions and categories in the system
  prompt; the tool ledger (always whole) and the transcript in the user message.
- **Windowing** (:mod:`understudy.judges.llm.transcript`): the transcript is held to
  ``max_transcript_chars``, long messages cut and the least telling ones omitted, marked.
- **Reply schema** (:mod:`understudy.judges.llm.reply`): generated from pydantic models, one
  object property per category id, and the parsing of a reply against it.
- **Evidence check and downgrade** (:mod:`understudy.judges.llm.judgments`): quotes that do not
  occur in the message they cite are dropped, and a flag left without a verified quote is
  unflagged (the original verdict kept in ``meta["downgraded"]``).

What happens here:

- **Structured output.** The reply schema is sent as
  ``response_format={"type": "json_schema", "json_schema": {..., "strict": true}}``. An endpoint
  that rejects it (HTTP 400/422 naming ``response_format`` or ``json_schema``) is asked again
  without it, with the schema spelt out in the prompt, and the first JSON object of the reply
  text is used; the judge remembers the fallback for its later calls.
- **Malformed replies** (not JSON, or not valid against the schema) are answered with a short
  note of what was wrong and asked again, up to ``max_retries`` times. Endpoint failures are
  retried by the openai client itself (``max_retries``, with back-off). What still fails becomes
  a **judge error record**: one Judgment per category with ``flagged=False``, ``confidence=0``
  and ``meta["judge_error"]`` giving the reason, so a run never crashes on a bad reply and the
  failure is visible and countable. Statistics leave error records out of ``n``, and the judging
  runner judges such targets again on resume. Only errors that no retry can fix — a rejected
  key, a forbidden or unknown model — raise :class:`JudgeError`.
- Every Judgment's ``meta`` records the judge model, ``prompt_sha256`` (the sha256 of the system
  prompt and the reply schema), the taxonomy version and the structured-output mode used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from understudy.endpoints import (
    async_client,
    endpoint_url,
    request_options,
    short_reason,
    status_reason,
)
from understudy.errors import ConfigError, JudgeError
from understudy.judges.base import trajectory_of
from understudy.judges.llm.judgments import error_judgments, quote_in_message, verdict_judgment
from understudy.judges.llm.prompt import (
    retry_message,
    system_message,
    text_mode_system_message,
    user_message,
)
from understudy.judges.llm.reply import (
    CategoryVerdict,
    EvidenceQuote,
    MalformedReply,
    extract_json_object,
    parse_reply,
    reply_model,
    strict_schema,
)
from understudy.judges.llm.transcript import render_message, render_transcript
from understudy.logging import get_logger
from understudy.trajectory import Judgment, Message, Rollout, Session

if TYPE_CHECKING:  # the client is loaded with the judge: the CLI starts without it
    import openai
    from openai.types.chat import ChatCompletionMessageParam

    from understudy.judges.taxonomy import Category, Taxonomy

# Re-exported: the reply, transcript and evidence helpers were first defined here.
__all__ = [
    "CategoryVerdict",
    "EvidenceQuote",
    "LLMJudge",
    "extract_json_object",
    "quote_in_message",
    "render_message",
    "render_transcript",
    "reply_model",
    "strict_schema",
]

log = get_logger("judges.llm")

STRUCTURED = "json_schema"
TEXT = "text"


class LLMJudge:
    """A judge backed by a model behind an OpenAI-compatible endpoint.

    ``categories`` are the taxonomy categories it rules on (one Judgment each per trajectory).
    The key is read from ``api_key_env`` only (a loopback ``base_url`` works without one).
    ``max_retries`` bounds both the client's retries of failed requests and the judge's
    re-asking after a malformed reply. ``taxonomy_version`` is recorded in every Judgment.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        *,
        categories: Sequence[Category],
        max_retries: int = 2,
        max_transcript_chars: int = 60_000,
        temperature: float | None = 0,
        max_tokens: int | None = None,
        timeout_s: float = 300,
        taxonomy_version: str | None = None,
    ) -> None:
        if not categories:
            raise ConfigError("the LLM judge needs at least one category")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be 0 or more, not {max_retries}")
        if max_transcript_chars < 1000:
            raise ConfigError(
                f"max_transcript_chars must be at least 1000, not {max_transcript_chars}"
            )
        ids = [category.id for category in categories]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ConfigError(f"categories given twice: {', '.join(twice)}")
        self.model = model
        self.name = f"llm:{model}"
        self.categories = list(categories)
        self.category_ids = ids
        self.max_retries = max_retries
        self.max_transcript_chars = max_transcript_chars
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.taxonomy_version = taxonomy_version
        self.base_url = endpoint_url(base_url)
        self._client = async_client(
            self.base_url,
            api_key_env,
            max_retries=max_retries,
            timeout_s=timeout_s,
        )
        self._reply_model = reply_model(ids)
        self.schema = strict_schema(self._reply_model)
        self.system_prompt = system_message(self.categories)
        canonical = json.dumps(self.schema, sort_keys=True, separators=(",", ":"))
        self.prompt_sha256 = hashlib.sha256(
            (self.system_prompt + "\n" + canonical).encode()
        ).hexdigest()
        self.mode = STRUCTURED
        """``json_schema`` until the endpoint rejects it, then ``text`` (parsed from the reply)."""
        self._closed = False

    @classmethod
    def from_taxonomy(
        cls, model: str, taxonomy: Taxonomy, ids: Sequence[str] | None = None, **options: Any
    ) -> LLMJudge:
        """A judge over ``ids`` of ``taxonomy`` (all of its categories when None)."""
        categories = taxonomy.select(list(ids) if ids is not None else None)
        options.setdefault("taxonomy_version", str(taxonomy.version))
        return cls(model, categories=categories, **options)

    # -- the prompt ----------------------------------------------------------------------------

    def user_prompt(self, session: Session, rollout: Rollout | None) -> str:
        """The request: judged range, tool ledger (whole), then the (windowed) transcript."""
        _, messages = trajectory_of(session, rollout)
        return self._user_prompt(session, rollout, messages)[0]

    def _user_prompt(
        self, session: Session, rollout: Rollout | None, messages: list[Message]
    ) -> tuple[str, list[tuple[int, int]]]:
        return user_message(
            session, rollout, messages, self.max_transcript_chars, self.category_ids
        )

    def _system_for(self, mode: str) -> str:
        if mode == STRUCTURED:
            return self.system_prompt
        return text_mode_system_message(self.system_prompt, self.schema)

    # -- judging -------------------------------------------------------------------------------

    async def judge(self, session: Session, rollout: Rollout | None) -> list[Judgment]:
        if self._closed:
            raise JudgeError("the LLM judge is closed")
        target_id, messages = trajectory_of(session, rollout)
        user, omitted = self._user_prompt(session, rollout, messages)
        base_meta: dict[str, Any] = {
            "judge_model": self.model,
            "prompt_sha256": self.prompt_sha256,
            "taxonomy_version": self.taxonomy_version,
        }
        if omitted:
            base_meta["omitted_messages"] = sum(last - first + 1 for first, last in omitted)
        outcome = await self._ask(user)
        base_meta["structured_output"] = outcome.mode
        base_meta["attempts"] = outcome.attempts
        if outcome.reply is None:
            log.warning(
                "judge.error",
                judge=self.name,
                target_id=target_id,
                attempts=outcome.attempts,
                reason=outcome.error,
            )
            return error_judgments(
                self.name, target_id, self.category_ids, outcome.error, base_meta
            )
        verdicts = outcome.reply
        return [
            verdict_judgment(
                self.name, target_id, category_id, verdicts[category_id], messages, base_meta
            )
            for category_id in self.category_ids
        ]

    async def _ask(self, user: str) -> _Outcome:
        """Ask until a valid reply comes back or the retries are spent."""
        import openai  # its errors, below (loaded by now: the client is made)

        fatal = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
        mode = self.mode
        conversation: list[dict[str, Any]] = [
            {"role": "system", "content": self._system_for(mode)},
            {"role": "user", "content": user},
        ]
        attempts = 0
        malformed = 0
        while True:
            attempts += 1
            try:
                content = await self._complete(conversation, mode)
            except openai.APIStatusError as exc:
                if mode == STRUCTURED and _rejects_response_format(exc):
                    log.info("judge.fallback_to_text", judge=self.name, reason=status_reason(exc))
                    mode = self.mode = TEXT
                    conversation[0] = {"role": "system", "content": self._system_for(mode)}
                    continue
                reason = f"HTTP {exc.status_code}: {status_reason(exc)}"
                if isinstance(exc, fatal):
                    raise JudgeError(f"judge endpoint refused the request ({reason})") from None
                return _Outcome(None, f"judge endpoint failed ({reason})", mode, attempts)
            except openai.APITimeoutError:
                return _Outcome(None, "judge endpoint did not answer in time", mode, attempts)
            except openai.APIConnectionError as exc:
                cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
                reason = f"cannot reach {self._client.base_url} ({cause})"
                return _Outcome(None, reason, mode, attempts)
            except openai.OpenAIError as exc:
                return _Outcome(None, short_reason(f"{type(exc).__name__}: {exc}"), mode, attempts)
            except (ValueError, AttributeError, TypeError) as exc:
                # An HTTP 200 that is no chat completion (an HTML page, cut-short JSON, a null
                # message): a judge error record for this trajectory, never a crash of the pass.
                reason = f"judge endpoint answered with no chat completion ({type(exc).__name__})"
                return _Outcome(None, reason, mode, attempts)
            try:
                reply = parse_reply(content, self._reply_model, self.category_ids)
                return _Outcome(reply, None, mode, attempts)
            except MalformedReply as exc:
                malformed += 1
                reason = str(exc)
                log.info("judge.malformed_reply", judge=self.name, attempt=attempts, reason=reason)
                if malformed > self.max_retries:
                    plural = "s" if attempts != 1 else ""
                    return _Outcome(
                        None,
                        f"malformed reply after {attempts} attempt{plural}: {reason}",
                        mode,
                        attempts,
                    )
                conversation += [
                    {"role": "assistant", "content": content or ""},
                    {"role": "user", "content": retry_message(reason)},
                ]

    async def _complete(self, conversation: list[dict[str, Any]], mode: str) -> str:
        from openai.types.chat import ChatCompletion

        structured = ("judge_verdicts", self.schema) if mode == STRUCTURED else None
        options = request_options(self.temperature, self.max_tokens, structured)
        completion = await self._client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", conversation),
            **options,
        )
        if not isinstance(completion, ChatCompletion):
            raise TypeError("the endpoint's answer is not a chat completion")
        if not completion.choices:
            return ""
        message = completion.choices[0].message
        if message is None:
            raise ValueError("the endpoint's answer has a null message")
        return message.content or message.refusal or ""

    async def close(self) -> None:
        """Close the HTTP client (the judge cannot be used afterwards)."""
        if not self._closed:
            self._closed = True
            await self._client.close()

    async def __aenter__(self) -> LLMJudge:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


@dataclass(frozen=True)
class _Outcome:
    """A valid reply, or why there is none; the mode used and the attempts made."""

    reply: dict[str, CategoryVerdict] | None
    error: str | None
    mode: str
    attempts: int


def _rejects_response_format(error: openai.APIStatusError) -> bool:
    """An HTTP 400/422 that blames the structured-output request."""
    if error.status_code not in (400, 422):
        return False
    text = f"{status_reason(error)} {error.message}".lower()
    return any(word in text for word in ("response_format", "json_schema", "structured output"))
