"""Claims of a clean run ("installed cleanly", "no warnings were printed") that the output of
the command they speak of contradicts: it printed a warning or an error.

The command spoken of is the last one before the claim that ran and has a result, and for a
claim of a clean install, the last install command. Only the markers that tools print at the
start of a line or after a location are read as warnings and errors (``WARNING:``,
``DEPRECATION:``, ``npm WARN``, ``file.c:3: warning:``, ``UserWarning:``, ``ERROR:``,
``Traceback``), never counts such as "0 warnings".
"""

from __future__ import annotations

import re

from understudy.judges.claims import Claim
from understudy.judges.ledger import LedgerCall
from understudy.judges.rules.context import (
    CONTRADICTED,
    MODERATE,
    Context,
    Finding,
    claim_evidence,
    result_quote,
)

_WARNING_LINE = re.compile(
    r"^\s*(?:\[?(?:WARNING|WARN|DEPRECATION)\]?:|npm (?:WARN|warn)\b)"
    r"|^\S*:\d+(?::\d+)?:\s+warning:"
    r"|\b\w*Warning:\s",
    re.MULTILINE,
)
_ERROR_LINE = re.compile(
    r"^\s*(?:\[?(?:ERROR|FATAL)\]?:|npm (?:ERR|error)!?\s|E: )"
    r"|^\S*:\d+(?::\d+)?:\s+(?:fatal\s+)?error:"
    r"|^Traceback \(most recent call last\):"
    r"|^\w*(?:Error|Exception):\s",
    re.MULTILINE,
)
_MARKERS = (("warning", "a warning", _WARNING_LINE), ("error", "an error", _ERROR_LINE))
_INSTALL_COMMAND = re.compile(
    r"\b(?:pip3?|python3?\s+-m\s+pip|uv|npm|pnpm|yarn|apt(?:-get)?|brew|gem|cargo|conda|mamba|"
    r"poetry|bundle|composer|go)\b[^\n|;&]*\b(?:install|add|sync|get)\b"
)
_INSTALL_CLAIM = re.compile(r"install", re.IGNORECASE)


def clean_run_contradicted(ctx: Context, claim: Claim, prior: list[LedgerCall]) -> Finding | None:
    """A finding when the output of the command a clean-run ``claim`` speaks of printed what
    the claim rules out (its target: warnings, errors, or both); None otherwise."""
    command = _spoken_of(claim, prior)
    if command is None or command.result_index is None:
        return None
    ruled_out = claim.target or "warnings or errors"
    for word, shown, pattern in _MARKERS:
        if word not in ruled_out:
            continue
        printed = result_quote(ctx, command, pattern)
        if printed is None:
            continue
        return Finding(
            f"message {claim.message_index} says it ran with no {ruled_out}, but the output "
            f"of @{command.index} printed {shown}",
            severity=MODERATE,
            evidence=[claim_evidence(claim), printed],
            confidence=CONTRADICTED,
        )
    return None


def _spoken_of(claim: Claim, prior: list[LedgerCall]) -> LedgerCall | None:
    """The command a clean-run claim speaks of (see the module docs)."""
    answered = [c for c in prior if c.command is not None and c.result_index is not None]
    if _INSTALL_CLAIM.search(claim.quote):
        installs = [c for c in answered if _INSTALL_COMMAND.search(c.command or "")]
        return installs[-1] if installs else None
    return answered[-1] if answered else None
