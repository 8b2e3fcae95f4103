"""The redaction rules: for each kind, where its values are in a string.

Each rule is a finder yielding the spans to replace, with the placeholder the
:class:`~understudy.replay.redact.placeholders.Redactor` assigns; the Redactor runs them in the
order of :data:`RULES` (the order the kinds are listed in :mod:`understudy.replay.redact`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from understudy.replay.redact.network import find_ipv4, find_ipv6, find_ported_ips
from understudy.replay.redact.patterns import (
    ANY_API_KEY_RE,
    API_KEY_FINDERS,
    API_KEY_PATTERNS,
    AWS_KEY_ID_RE,
    AWS_PAIR_DISTANCE,
    AWS_SECRET_RE,
    AWS_SECRET_TRIGGERS,
    BASE64_40_RE,
    BEARER_RE,
    EMAIL_DOMAIN_RE,
    EMAIL_LOCAL_CHARS,
    ENV_VALUE_AFTER_KEY_RE,
    FILE_EXTENSIONS,
    JWT_RE,
    KEPT_EMAIL_DOMAINS,
    KEPT_EMAIL_LOCAL_PARTS,
    KEY_CHARS,
    PRIVATE_KEY_RE,
    QUOTED_VALUE_AFTER_KEY_RE,
    SECRET_WORDS,
    URL_PASSWORD_RE,
    URL_TEMPLATE_RE,
    WORD_CHARS,
    Span,
    char_before,
    lower_each,
)
from understudy.replay.redact.users import POSIX_TRIGGERS, WINDOWS_TRIGGERS, home_users

if TYPE_CHECKING:
    from understudy.replay.redact.placeholders import Redactor

# Rules run one after another over a string, each only when one of its trigger substrings
# occurs in it (plain ``in`` tests are far cheaper than a regex scan). Boundary checks that
# would slow the regexes down (look-behinds) are made in the finders instead.


@dataclass(frozen=True)
class Rule:
    """One kind's finder, and the substrings a string must hold for it to run."""

    kind: str
    triggers: tuple[str, ...]
    """The rule runs only on strings containing one of these (plain substring tests are far
    cheaper than any regex scan, so most strings are ruled out at C speed). None of its own
    (``()``): the rule runs on strings containing a user name the Redactor learned."""
    find: Callable[[Redactor, str], Iterator[Span]]
    gates: tuple[str, ...] = ()
    """Regexes of which one is certain to match in any string the rule changes (the start of
    its pattern, or a literal its matches hold), searched in the text as written. A rule
    without gates of either kind is gated by its triggers. See
    :mod:`understudy.replay.redact.gate`."""
    lower_gates: tuple[str, ...] = ()
    """Gates searched in the lower-cased text (for rules that ignore case)."""


def _cases(*words: str) -> tuple[str, ...]:
    """Each word as written, capitalized and upper-cased."""
    return tuple(dict.fromkeys(v for w in words for v in (w, w.capitalize(), w.upper())))


def _find_private_keys(r: Redactor, text: str) -> Iterator[Span]:
    for m in PRIVATE_KEY_RE.finditer(text):
        yield m.start(), m.end(), r.placeholder("private_key", m.group(0))


def _find_jwts(r: Redactor, text: str) -> Iterator[Span]:
    for m in JWT_RE.finditer(text):
        if char_before(text, m.start()) not in WORD_CHARS:
            yield m.start(), m.end(), r.placeholder("jwt", m.group(0))


def _find_api_keys(r: Redactor, text: str) -> Iterator[Span]:
    found: list[tuple[int, int]] = []
    for triggers, regex in API_KEY_FINDERS:
        if any(map(text.__contains__, triggers)):
            for m in regex.finditer(text):
                if char_before(text, m.start()) not in KEY_CHARS:
                    found.append(m.span())
    if any(map(text.__contains__, AWS_SECRET_TRIGGERS)):
        found.extend(m.span("v") for m in AWS_SECRET_RE.finditer(text))
    if "AKIA" in text or "ASIA" in text:
        found.extend(_aws_secrets_beside_key_ids(text))
    pos = 0
    for start, end in sorted(set(found)):  # numbered in the order they appear
        if start >= pos:
            yield start, end, r.placeholder("api_key", text[start:end])
            pos = end


def _aws_secrets_beside_key_ids(text: str) -> Iterator[tuple[int, int]]:
    """Bare AWS secret access keys: 40 characters of base64 near an ``AKIA``/``ASIA`` key id.

    A git SHA is 40 characters too, but of one case of hex only: a secret must mix upper and
    lower case letters with a digit, ``/`` or ``+``, and (being random) hold few slashes.
    """
    ids = [
        m.start()
        for m in AWS_KEY_ID_RE.finditer(text)
        if char_before(text, m.start()) not in KEY_CHARS
    ]
    if not ids:
        return
    for m in BASE64_40_RE.finditer(text):
        value = m.group(0)
        if not any(abs(m.start() - at) <= AWS_PAIR_DISTANCE for at in ids):
            continue
        if value.lower() == value or value.upper() == value or value.count("/") > 3:
            continue
        if value.isalpha():
            continue
        yield m.span()


def _find_bearer(r: Redactor, text: str) -> Iterator[Span]:
    for m in BEARER_RE.finditer(text):
        if char_before(text, m.start()) not in WORD_CHARS:
            yield m.start("v"), m.end("v"), r.placeholder("token", m.group("v"))


def _find_secrets(r: Redactor, text: str) -> Iterator[Span]:
    lowered = lower_each(text)
    spans: list[Span] = []
    for word in SECRET_WORDS:
        index = lowered.find(word)
        while index >= 0:
            end = index + len(word)
            spans.extend(_secret_at(r, text, index, end))
            index = lowered.find(word, end)
    spans.sort()
    yield from spans


def _secret_at(r: Redactor, text: str, start: int, end: int) -> Iterator[Span]:
    if end < len(text) and text[end] in WORD_CHARS:
        return  # ``tokens``, ``secret_name``: the word is not the end of the key
    m = QUOTED_VALUE_AFTER_KEY_RE.match(text, end)
    if m is None:
        name_start = start
        while name_start > 0 and text[name_start - 1] in WORD_CHARS:
            name_start -= 1
        name = text[name_start:end]
        if name != name.upper():
            return  # lower-case names are code (``token = compute()``), not settings
        m = ENV_VALUE_AFTER_KEY_RE.match(text, end)
        if m is None:
            return
    value = m.group("v")
    # A known key shape keeps its own kind, so one value gets one placeholder everywhere.
    if JWT_RE.fullmatch(value):
        kind = "jwt"
    elif ANY_API_KEY_RE.fullmatch(value):
        kind = "api_key"
    else:
        kind = "secret"
    yield m.start("v"), m.end("v"), r.placeholder(kind, value)


def _find_url_passwords(r: Redactor, text: str) -> Iterator[Span]:
    for m in URL_PASSWORD_RE.finditer(text):
        if not char_before(text, m.start()).isalnum():
            continue  # ``://`` follows a scheme
        value = m.group("v")
        if URL_TEMPLATE_RE.match(value):
            continue  # ``${DB_PASSWORD}``, ``%s``, ``****``: no password written out
        yield m.start("v"), m.end("v"), r.placeholder("url_password", value)


def _find_emails(r: Redactor, text: str) -> Iterator[Span]:
    for m in EMAIL_DOMAIN_RE.finditer(text):
        at = start = m.start()
        while start > 0 and at - start < 64 and text[start - 1] in EMAIL_LOCAL_CHARS:
            start -= 1
        if start > 0 and text[start - 1] in EMAIL_LOCAL_CHARS:
            continue  # a local part longer than 64 characters: not an address
        while start < at and not text[start].isalnum():
            start += 1
        if start == at:
            continue
        local = text[start:at].lower()
        domain = m.group("domain").lower()
        if local in KEPT_EMAIL_LOCAL_PARTS:
            continue
        if domain in KEPT_EMAIL_DOMAINS or domain.endswith(
            tuple("." + d for d in KEPT_EMAIL_DOMAINS)
        ):
            continue
        if domain.rsplit(".", 1)[-1] in FILE_EXTENSIONS:
            continue
        yield start, m.end(), r.placeholder("email", text[start : m.end()])


def _find_home_users(r: Redactor, text: str) -> Iterator[Span]:
    for start, end, name in sorted(home_users(text)):
        r.learn_user(name)  # before the rule below looks for it in this string
        yield start, end, r.placeholder("user", name.lower())


def _find_known_users(r: Redactor, text: str) -> Iterator[Span]:
    for start, end, name in r.users.find(text):
        yield start, end, r.placeholder("user", name)


_KNOWN_USERS = Rule("user", (), _find_known_users)

RULES: tuple[Rule, ...] = (
    Rule("private_key", ("PRIVATE KEY",), _find_private_keys, gates=("PRIVATE KEY",)),
    Rule("jwt", ("eyJ",), _find_jwts, gates=("eyJ",)),
    Rule(
        "api_key",
        (*(t for ts, _ in API_KEY_PATTERNS for t in ts), *AWS_SECRET_TRIGGERS),
        _find_api_keys,
        # The literal start of each key pattern (the AWS key ids among them), and the
        # triggers of an AWS secret access key, lower-cased.
        gates=(
            *("sk-", "gh[pousr]_", "github_pat_", "xox[abposr]-", "xapp-", "A[KS]IA", "AIza"),
            *("k_(?:live|test)_", "hf_", "glpat-", "npm_"),
        ),
        lower_gates=("ecret_access_key", "ecretaccesskey", "ecret access key"),
    ),
    Rule(
        "token",
        _cases("bearer", "authorization"),
        _find_bearer,
        lower_gates=("bearer", "authorization"),
    ),
    # The start of the pattern, up to the colon before the password.
    Rule("url_password", ("://",), _find_url_passwords, gates=(r"://[^\s/?#@:<>\"'`]{0,64}:",)),
    Rule(
        "secret",
        # Substrings of every secret word in its usual spellings (password, Passphrase,
        # SECRET, token, api_key, apiKey, API-KEY, access_key, ...): a cheap prefilter only.
        (
            *("assw", "ASSW", "assp", "ASSP", "ecret", "ECRET", "oken", "OKEN"),
            *("_key", "_KEY", "-key", "-KEY", "pikey", "piKey", "PIKEY"),
        ),
        _find_secrets,
        # A secret word as the rule finds it (lower-cased), then how both value patterns start.
        lower_gates=tuple(
            word + r"[\"']?[ \t]*[:=]"
            for word in ("pass(?:word|wd|phrase)", "secret", "token", "_key", "api-?key")
        ),
    ),
    Rule("email", ("@",), _find_emails, gates=("@[A-Za-z0-9]",)),
    Rule(
        "user",
        (*POSIX_TRIGGERS, *WINDOWS_TRIGGERS),
        _find_home_users,
        gates=("/home/", "/Users/", r"sers[\\/]", r"SERS[\\/]"),
    ),
    _KNOWN_USERS,
    # tcpdump's arrow and the endpoint after it, a dotted quad's tail, IPv6's colons.
    Rule("ip", (" > ",), find_ported_ips, gates=(r" > [^\s>]{2,60}?\.[A-Za-z0-9\-]{1,15}:(?!\S)",)),
    Rule("ip", (".",), find_ipv4, gates=(r"\.\d{1,3}\.\d{1,3}\.\d",)),
    Rule("ip", (":",), find_ipv6, gates=(":[0-9A-Fa-f]{0,4}:",)),
)
"""Every rule, in the order the Redactor runs them."""

SHORT_TEXT_RULES = (_KNOWN_USERS,)
"""The rules that can match a string of fewer than 7 characters (``alice``)."""
