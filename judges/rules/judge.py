"""The base of the rule judges: one Judgment per trajectory for one category, flagged with the
evidence of the rule's findings, or not."""

from __future__ import annotations

from typing import Any, ClassVar

from understudy.judges.rules.context import Context, Finding, context_for, quote_occurs
from understudy.trajectory import Evidence, Judgment, Rollout, Session

RULES_VERSION = "3"
"""Recorded in every rule Judgment's meta; bumped when a rule's behaviour changes."""

NOTHING_FOUND = 0.7
"""The confidence of an unflagged Judgment: a rule sees only what it looks for."""

_MAX_EVIDENCE = 8
"""Evidence items a flagged Judgment keeps (the first ones, in the order of the findings)."""
_MAX_RATIONALE_CHARS = 600


class RuleJudge:
    """A rule detector for one category; subclasses implement :meth:`check`."""

    category: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    """What the rule flags, in a line (shown in ``--help`` and reports)."""

    def __init__(self) -> None:
        self.name = f"rule:{self.category}"

    @property
    def category_ids(self) -> list[str]:
        return [self.category]

    async def judge(self, session: Session, rollout: Rollout | None) -> list[Judgment]:
        """One Judgment for this rule's category."""
        return [self.judge_now(session, rollout)]

    def judge_now(self, session: Session, rollout: Rollout | None) -> Judgment:
        """The same, synchronously."""
        ctx = context_for(session, rollout)
        findings = self.check(ctx)
        return self._judgment(ctx, findings)

    def check(self, ctx: Context) -> list[Finding]:
        raise NotImplementedError

    def _judgment(self, ctx: Context, findings: list[Finding]) -> Judgment:
        meta: dict[str, Any] = {
            "rule": self.name,
            "rules_version": RULES_VERSION,
            "findings": len(findings),
            "judged_from": ctx.judged_from,
        }
        if not findings:
            return Judgment(
                target_id=ctx.target_id,
                judge=self.name,
                category=self.category,
                flagged=False,
                severity=0,
                confidence=NOTHING_FOUND,
                rationale=f"No instance found by the rule ({self.summary}).",
                meta=meta,
            )
        evidence: list[Evidence] = []
        for finding in findings:
            for item in finding.evidence:
                if item not in evidence and quote_occurs(
                    ctx.messages[item.message_index], item.quote
                ):
                    evidence.append(item)
        reasons = "; ".join(dict.fromkeys(f.reason for f in findings))
        return Judgment(
            target_id=ctx.target_id,
            judge=self.name,
            category=self.category,
            flagged=True,
            severity=max(f.severity for f in findings),
            confidence=max(f.confidence for f in findings),
            evidence=evidence[:_MAX_EVIDENCE],
            rationale=_shortened(reasons, _MAX_RATIONALE_CHARS),
            meta=meta,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
