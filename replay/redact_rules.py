"""The redaction rules: for each kind, where its values are in a string.

Each rule is a finder yielding the spans to replace, with the placeholder the
:class:`~understudy.replay.redact_placeholders.Redactor` assigns; the Redactor runs them in the
order of :data:`_RULES` (the order the kinds are listed in :mod:`understudy.replay.redact`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from understudy.replay.redact_patterns import (
    _AFTER_ENV_KEY,
    _AFTER_QUOTED_KEY,
    _API_KEY_FINDERS,
    _API_KEY_FULL,
    _API_KEY_RES,
    _AT_DOMAIN_RE,
    _AWS_SECRET_RE,
    _BEARER_RE,
    _FILE_EXTENSIONS,
    _GENERIC_USERS,
    _HEX,
    _IP_BEFORE,
    _IPV4_TAIL_RE,
    _IPV6_RE,
    _JWT_RE,
    _KEPT_EMAIL_DOMAINS,
    _KEPT_EMAIL_LOCAL,
    _KEY_CHARS,
    _LOCAL_CHARS,
    _POSIX_HOME_RE,
    _PRIVATE_KEY_RE,
    _SECRET_WORDS,
    _VERSION_MARKER,
    _WINDOWS_HOME_RE,
    _WORD_CHARS,
)

if TYPE_CHECKING:
    from understudy.replay.redact_placeholders import Redactor

Span = tuple[int, int, str]
"""A replacement: text[start:end] becomes the string."""

# Rules run one after another over a string, each only when one of its trigger substrings
# occurs in it (plain ``in`` tests are far cheaper than a regex scan). Boundary checks that
# would slow the regexes down (look-behinds) are made in the finders instead.


@dataclass(frozen=True)
class _Rule:
    kind: str
    triggers: tuple[str, ...]
    """The rule runs only on strings containing one of these (plain substring tests are far
    cheaper than any regex scan, so most strings are ruled out at C speed)."""
    find: Callable[[Redactor, str], Iterator[Span]]


def _cases(*words: str) -> tuple[str, ...]:
    """Each word as written, capitalized and upper-cased."""
    return tuple(dict.fromkeys(v for w in words for v in (w, w.capitalize(), w.upper())))


def _before(text: str, index: int) -> str:
    """The character before ``index``; ``""`` at the start (in no character set)."""
    return text[index - 1] if index > 0 else ""


def _find_private_keys(r: Redactor, text: str) -> Iterator[Span]:
    for m in _PRIVATE_KEY_RE.finditer(text):
        yield m.start(), m.end(), r.placeholder("private_key", m.group(0))


def _find_jwts(r: Redactor, text: str) -> Iterator[Span]:
    for m in _JWT_RE.finditer(text):
        if _before(text, m.start()) not in _WORD_CHARS:
            yield m.start(), m.end(), r.placeholder("jwt", m.group(0))


def _find_api_keys(r: Redactor, text: str) -> Iterator[Span]:
    spans: list[Span] = []
    for triggers, regex in _API_KEY_FINDERS:
        if any(map(text.__contains__, triggers)):
            for m in regex.finditer(text):
                if _before(text, m.start()) not in _KEY_CHARS:
                    spans.append((m.start(), m.end(), r.placeholder("api_key", m.group(0))))
    spans.sort()
    yield from spans


def _find_aws_secrets(r: Redactor, text: str) -> Iterator[Span]:
    for m in _AWS_SECRET_RE.finditer(text):
        yield m.start("v"), m.end("v"), r.placeholder("api_key", m.group("v"))


def _find_bearer(r: Redactor, text: str) -> Iterator[Span]:
    for m in _BEARER_RE.finditer(text):
        if _before(text, m.start()) not in _WORD_CHARS:
            yield m.start("v"), m.end("v"), r.placeholder("token", m.group("v"))


def _find_secrets(r: Redactor, text: str) -> Iterator[Span]:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few non-ASCII letters change length when lowered
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    spans: list[Span] = []
    for word in _SECRET_WORDS:
        index = lowered.find(word)
        while index >= 0:
            end = index + len(word)
            spans.extend(_secret_at(r, text, index, end))
            index = lowered.find(word, end)
    spans.sort()
    yield from spans


def _secret_at(r: Redactor, text: str, start: int, end: int) -> Iterator[Span]:
    if end < len(text) and text[end] in _WORD_CHARS:
        return  # ``tokens``, ``secret_name``: the word is not the end of the key
    m = _AFTER_QUOTED_KEY.match(text, end)
    if m is None:
        name_start = start
        while name_start > 0 and text[name_start - 1] in _WORD_CHARS:
            name_start -= 1
        name = text[name_start:end]
        if name != name.upper():
            return  # lower-case names are code (``token = compute()``), not settings
        m = _AFTER_ENV_KEY.match(text, end)
        if m is None:
            return
    value = m.group("v")
    # A known key shape keeps its own kind, so one value gets one placeholder everywhere.
    if _JWT_RE.fullmatch(value):
        kind = "jwt"
    elif _API_KEY_FULL.fullmatch(value):
        kind = "api_key"
    else:
        kind = "secret"
    yield m.start("v"), m.end("v"), r.placeholder(kind, value)


def _find_emails(r: Redactor, text: str) -> Iterator[Span]:
    for m in _AT_DOMAIN_RE.finditer(text):
        at = start = m.start()
        while start > 0 and at - start < 64 and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        if start > 0 and text[start - 1] in _LOCAL_CHARS:
            continue  # a local part longer than 64 characters: not an address
        while start < at and not text[start].isalnum():
            start += 1
        if start == at:
            continue
        local = text[start:at].lower()
        domain = m.group("domain").lower()
        if local in _KEPT_EMAIL_LOCAL:
            continue
        if domain in _KEPT_EMAIL_DOMAINS or domain.endswith(
            tuple("." + d for d in _KEPT_EMAIL_DOMAINS)
        ):
            continue
        if domain.rsplit(".", 1)[-1] in _FILE_EXTENSIONS:
            continue
        yield start, m.end(), r.placeholder("email", text[start : m.end()])


def _home_finder(
    regex: re.Pattern[str], windows: bool
) -> Callable[[Redactor, str], Iterator[Span]]:
    def find(r: Redactor, text: str) -> Iterator[Span]:
        for m in regex.finditer(text):
            name = m.group("name")
            if name.lower() in _GENERIC_USERS:
                continue
            start = m.start()
            if windows:  # the match starts at the colon of ``C:``
                drive = text[start - 1] if start > 0 else ""
                if not drive.isascii() or not drive.isalpha():
                    continue
                if start > 1 and text[start - 2] in _WORD_CHARS:
                    continue
            if not windows:
                # ``https://site/home/about`` is a URL path, not a home directory.
                token = re.split(r"[\s\"'<>()\[\]]", text[max(0, start - 300) : start])[-1]
                if "://" in token and not token.lower().startswith("file://"):
                    continue
            yield m.start("name"), m.end("name"), r.placeholder("user", name)

    return find


def _find_ipv4(r: Redactor, text: str) -> Iterator[Span]:
    for m in _IPV4_TAIL_RE.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < 3 and text[start - 1].isdigit():
            start -= 1
        if start == m.start() or (start > 0 and text[start - 1] in _IP_BEFORE):
            continue
        address = text[start : m.end()]
        octets = address.split(".")
        if any(not o.isascii() or int(o) > 255 or (len(o) > 1 and o[0] == "0") for o in octets):
            continue
        if _VERSION_MARKER.search(text[max(0, start - 12) : start]):
            continue
        if address.startswith("127.") or address in ("0.0.0.0", "255.255.255.255"):
            continue
        yield start, m.end(), r.placeholder("ip", address)


def _find_ipv6(r: Redactor, text: str) -> Iterator[Span]:
    for m in _IPV6_RE.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < 4 and text[start - 1] in _HEX:
            start -= 1
        if start > 0 and text[start - 1] in _IP_BEFORE | {":"}:
            continue
        candidate = text[start : m.end()]
        if candidate.count(":") < 2:
            continue
        try:
            address = ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified:
            continue
        # A short ``a::b`` (code, slices) is not taken for an address: it needs three groups
        # or five hex digits (``fe80::1`` qualifies).
        groups = [part for part in candidate.split(":") if part]
        digits = sum(len(part) for part in groups if "." not in part)
        if len(groups) < 3 and digits < 5:
            continue
        yield start, m.end(), r.placeholder("ip", candidate)


_RULES: tuple[_Rule, ...] = (
    _Rule("private_key", ("PRIVATE KEY",), _find_private_keys),
    _Rule("jwt", ("eyJ",), _find_jwts),
    _Rule("api_key", tuple(t for ts, _ in _API_KEY_RES for t in ts), _find_api_keys),
    _Rule("api_key", _cases("_secret_access_key"), _find_aws_secrets),
    _Rule("token", _cases("bearer", "authorization"), _find_bearer),
    _Rule(
        "secret",
        # Substrings of every secret word in its usual spellings (password, Passphrase,
        # SECRET, token, api_key, apiKey, API-KEY, access_key, ...): a cheap prefilter only.
        (
            *("assw", "ASSW", "assp", "ASSP", "ecret", "ECRET", "oken", "OKEN"),
            *("_key", "_KEY", "-key", "-KEY", "pikey", "piKey", "PIKEY"),
        ),
        _find_secrets,
    ),
    _Rule("email", ("@",), _find_emails),
    _Rule("user", ("/home/", "/Users/"), _home_finder(_POSIX_HOME_RE, windows=False)),
    _Rule("user", ("sers\\", "sers/", "SERS\\", "SERS/"), _home_finder(_WINDOWS_HOME_RE, True)),
    _Rule("ip", (".",), _find_ipv4),
    _Rule("ip", (":",), _find_ipv6),
)
