"""The per-session :class:`Redactor`: placeholder numbering and running the rules on a string.

The rules themselves are in :mod:`understudy.replay.redact.rules`; what a session is redacted
for, and what is kept, is described in :mod:`understudy.replay.redact`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from understudy.replay.redact.gate import note_unchanged, rules_for, was_unchanged
from understudy.replay.redact.patterns import Span
from understudy.replay.redact.rules import RULES, SHORT_TEXT_RULES
from understudy.replay.redact.users import KnownUsers

KINDS = ("private_key", "jwt", "api_key", "token", "url_password", "secret", "email", "user", "ip")
"""Kinds of redacted values, as the counter names them."""

_PLACEHOLDER_NAMES = {kind: kind.upper() for kind in KINDS}
_KIND_OF_NAME = {name: kind for kind, name in _PLACEHOLDER_NAMES.items()}
PLACEHOLDER = re.compile(r"<(" + "|".join(_PLACEHOLDER_NAMES.values()) + r")_(\d+)>")
"""A placeholder of a redacted value (``<USER_1>``): group 1 is its name, group 2 its number.
The one definition of the pattern; :mod:`understudy.tools.shell_placeholders` uses it too."""


def has_placeholder(text: str) -> bool:
    """Whether ``text`` holds a placeholder of a redacted value (``<EMAIL_1>``)."""
    return "<" in text and PLACEHOLDER.search(text) is not None


def unnumbered(text: str) -> str:
    """``text`` with each placeholder's number dropped (``<EMAIL_1>`` -> ``<EMAIL>``): what two
    texts redacted apart can be compared by, since each numbers its values on its own."""
    return PLACEHOLDER.sub(lambda match: f"<{match.group(1)}>", text)


_NONE: frozenset[int] = frozenset()
"""The rules the gates name for a string they found nothing in."""

# Every string redacted is memoised for the session: ids, names and paths repeat a lot, and so
# do long outputs and prompts. (A name learned after a string was memoised makes the session
# stale: it is redacted again, knowing every name from the start.)


class Redactor:
    """Placeholder assignment for one session: the same value always gets the same name."""

    def __init__(
        self,
        users: KnownUsers | None = None,
        candidates: dict[str, frozenset[int]] | None = None,
    ) -> None:
        self.candidates = candidates
        """When known, the only strings any rule but the learned user names can change, each
        with the indexes of the rules that may (:func:`~understudy.replay.redact.gate
        .may_change`); None: any string, any rule."""
        self._names: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self._next: dict[str, int] = dict.fromkeys(KINDS, 1)
        self.counts: Counter[str] = Counter()
        self.saw_placeholders = False
        """Whether a string already held a placeholder (a session redacted before)."""
        self._log: list[str] = []  # kinds replaced, in order, for the memo below
        self._memo: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.users = users or KnownUsers()
        """User names replaced wherever they occur, learned from home directories."""
        self.stale = False
        """Whether a user name was learned after a string holding it had been redacted: the
        session must be redacted again, starting with the names learned (:attr:`users`)."""
        self._seen: list[str] = []  # strings redacted so far, to tell whether that happened

    def learn_user(self, name: str) -> None:
        """Note the user name of a home directory (replaced everywhere when distinctive)."""
        spellings = self.users.add(name)
        if spellings and not self.stale:
            self.stale = any(any(map(seen.__contains__, spellings)) for seen in self._seen)

    def _has_user(self, text: str) -> bool:
        """Whether ``text`` holds a spelling of a user name learned so far."""
        return bool(self.users.regex) and any(map(text.__contains__, self.users.triggers))

    def needs(self, strings: list[str]) -> bool:
        """Whether :meth:`text` may change any of ``strings`` (else :meth:`skip` them)."""
        if self.candidates is None or not self.candidates.keys().isdisjoint(strings):
            return True
        triggers = self.users.triggers
        if not triggers:
            return False
        joined = "\n".join(strings)  # one search per name (no name holds a newline)
        return any(map(joined.__contains__, triggers))

    def skip(self, strings: list[str]) -> None:
        """Note strings :meth:`needs` rules out, as :meth:`text` would note them."""
        if not self.saw_placeholders and has_placeholder("\n".join(strings)):
            self.saw_placeholders = True
        self._seen.extend(strings)

    def reserve(self, text: str) -> None:
        """Note placeholders already in ``text`` so new ones do not reuse their numbers."""
        if "<" not in text:
            return
        for match in PLACEHOLDER.finditer(text):
            kind = _KIND_OF_NAME[match.group(1)]
            self._next[kind] = max(self._next[kind], int(match.group(2)) + 1)

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder for ``value`` of ``kind`` (assigned on first sight), counted."""
        known = self._names[kind]
        name = known.get(value)
        if name is None:
            name = f"<{_PLACEHOLDER_NAMES[kind]}_{self._next[kind]}>"
            self._next[kind] += 1
            known[value] = name
        self.counts[kind] += 1
        self._log.append(kind)
        return name

    def text(self, text: str) -> str:
        """``text`` with every secret and personal value replaced."""
        if "<" in text and not self.saw_placeholders and PLACEHOLDER.search(text):
            self.saw_placeholders = True
        gated = None if self.candidates is None else self.candidates.get(text)
        # No rule would find anything in a string no gate hit (or found clean before), unless
        # it holds a user name learned since.
        clean = gated is None or was_unchanged(text)
        if self.candidates is not None and clean and not self._has_user(text):
            self._seen.append(text)
            return text
        rules = RULES
        if len(text) < 7:  # too short for any rule but a learned user name
            if self.users.regex is None:
                self._seen.append(text)
                return text
            rules = SHORT_TEXT_RULES
        hit = self._memo.get(text)
        if hit is not None:
            if hit[1]:
                self.counts.update(hit[1])
            return hit[0]
        logged = len(self._log)
        original = text
        unaware = gated is not None and not self.users.regex  # of any user name, so far
        if self.candidates is not None and clean:
            gated = _NONE  # only a learned user name is there to find
        # One replacement can expose another (``a@b.comDB_PASSWORD=x`` becomes
        # ``<EMAIL_1>_PASSWORD=x``): repeat until nothing changes, so redaction is idempotent.
        if rules is not RULES:
            gated = None
        gated_text = text  # the text ``gated`` names the rules of
        for _ in range(4):
            before = text
            for index, rule in enumerate(rules):
                # The gates tell which rules can apply, and a rule they name holds one of its
                # triggers (see gate.may_change). A text a rule changed is gated anew, in this
                # round or the next: a replacement may have made (or spoiled) a rule's match.
                if gated is not None and rule.triggers:
                    if text is not gated_text:
                        gated, gated_text = rules_for(text), text
                    if index in gated:
                        text = _apply(text, rule.find(self, text))
                    continue
                if any(map(text.__contains__, rule.triggers or self.users.triggers)):
                    text = _apply(text, rule.find(self, text))
            if text == before:
                break
        self._seen.append(original)  # after: the names it taught were looked for in it
        if unaware and text is original and len(self._log) == logged and not self.users.regex:
            note_unchanged(original)  # nothing found, and no user name was involved
        self._memo[original] = (text, tuple(self._log[logged:]))
        del self._log[logged:]
        return text


def _apply(text: str, spans: Iterator[Span]) -> str:
    """``text`` with non-overlapping spans (in ascending order) replaced."""
    parts: list[str] = []
    pos = 0
    for start, end, replacement in spans:
        if start < pos:
            continue
        parts.append(text[pos:start])
        parts.append(replacement)
        pos = end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)
