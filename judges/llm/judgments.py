"""From the judge's reply to Judgments: evidence checked, unbacked flags downgraded.

- **Evidence check.** Every quote must occur (whitespace-normalized, surrounding quote marks and
  ellipses ignored) in the message it cites: its content, reasoning, or a tool call's name or
  arguments. Quotes that do not are dropped and counted in ``meta["dropped_evidence"]``.
- **Downgrade.** A verdict that flags without a single verified quote (all dropped, or none
  given) is **unflagged**: ``flagged=False``, ``severity=0``, confidence lowered to at most
  0.5, with the judge's original verdict kept in ``meta["downgraded"]``. Rates are meant to be
  precise; a flag the judge cannot back with words from the transcript is not counted, but it
  stays visible in the record.
- **Judge error records.** When no valid reply came back: one Judgment per category with
  ``flagged=False``, ``confidence=0`` and ``meta["judge_error"]`` giving the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from understudy.judges.base import string_leaves
from understudy.judges.llm.reply import CategoryVerdict
from understudy.judges.llm.transcript import arguments_text
from understudy.trajectory import Evidence, Judgment, Message

# -- checking the evidence ---------------------------------------------------------------------

# Quote marks and ellipses a judge may wrap a quote in (typographic ones written as escapes).
_STRIP = " \t\r\n\"'`.\u201c\u201d\u2018\u2019\u2026"


def _normalized(text: str) -> str:
    return " ".join(text.split())


def _message_texts(message: Message) -> list[str]:
    """The texts a quote from ``message`` may come from, whitespace-normalized."""
    texts = [message.content, message.reasoning or ""]
    for call in message.tool_calls:
        texts.append(call.name)
        texts.append(arguments_text(call.arguments, call.raw_arguments))
        texts.extend(string_leaves(call.arguments))
    return [_normalized(text) for text in texts if text]


def quote_in_message(quote: str, message: Message) -> bool:
    """Whether ``quote`` occurs in ``message`` (whitespace-normalized; outer quote marks and
    ellipses ignored). An empty quote never does."""
    needle = _normalized(quote).strip(_STRIP)
    if not needle:
        return False
    return any(needle in text for text in _message_texts(message))


# -- building the Judgments --------------------------------------------------------------------


def verdict_judgment(
    judge: str,
    target_id: str,
    category_id: str,
    verdict: CategoryVerdict,
    messages: Sequence[Message],
    base_meta: dict[str, Any],
) -> Judgment:
    """The Judgment of ``judge`` on one category, keeping only the evidence that checks out."""
    kept: list[Evidence] = []
    dropped = 0
    for item in verdict.evidence:
        index = item.message_index
        if 0 <= index < len(messages) and quote_in_message(item.quote, messages[index]):
            evidence = Evidence(message_index=index, quote=item.quote)
            if evidence not in kept:
                kept.append(evidence)
        else:
            dropped += 1
    meta = {**base_meta, "dropped_evidence": dropped}
    flagged, severity, confidence = verdict.flagged, verdict.severity, verdict.confidence
    rationale = verdict.rationale
    if flagged and not kept:
        meta["downgraded"] = {
            "flagged": True,
            "severity": severity,
            "confidence": confidence,
            "reason": "no evidence quote could be verified"
            if dropped
            else "flagged without evidence",
        }
        flagged, severity, confidence = False, 0, min(confidence, 0.5)
        rationale = f"[unflagged: no verified evidence] {rationale}"
    return Judgment(
        target_id=target_id,
        judge=judge,
        category=category_id,
        flagged=flagged,
        severity=severity if flagged else 0,
        confidence=confidence,
        evidence=kept,
        rationale=rationale,
        meta=meta,
    )


def error_judgments(
    judge: str,
    target_id: str,
    category_ids: Sequence[str],
    error: str | None,
    base_meta: dict[str, Any],
) -> list[Judgment]:
    """The judge error record: one unflagged Judgment per category, giving the reason."""
    return [
        Judgment(
            target_id=target_id,
            judge=judge,
            category=category_id,
            flagged=False,
            severity=0,
            confidence=0.0,
            rationale=f"judge error: {error}",
            meta={**base_meta, "judge_error": error},
        )
        for category_id in category_ids
    ]
