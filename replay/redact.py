"""De-identification of imported sessions: secrets and personal data become placeholders.

:func:`redact_session` rewrites every string of a session -- message content, reasoning, tool
call arguments (recursively), tool specs, meta, env, task, source path, ids -- replacing each
secret or personal value with a placeholder such as ``<EMAIL_1>`` or ``<API_KEY_2>``. Within one
session the same value always gets the same placeholder, so a tool call and its replayed
recording still match after redaction. Only values are rewritten; dictionary keys are kept.
The returned counter holds the number of replacements per kind, never the values.

Kinds and rules (applied in this order; a value replaced by one rule is not seen by the next):

``private_key``
    PEM blocks ``-----BEGIN ... PRIVATE KEY----- ... -----END ... PRIVATE KEY-----`` (a block
    cut off before its END line is redacted to the end of its base64 body).
``jwt``
    JSON Web Tokens: three base64url segments, the first two starting with ``eyJ``.
``api_key``
    Provider-prefixed keys: OpenAI ``sk-``/``sk-proj-`` (with a digit in the body), Anthropic
    ``sk-ant-``, GitHub ``ghp_ gho_ ghu_ ghs_ ghr_ github_pat_``, Slack ``xox[abposr]-`` and
    ``xapp-``, AWS access key ids ``AKIA...``/``ASIA...`` (and ``aws_secret_access_key = ...``
    values), Google ``AIza...``, Stripe ``sk_live_``/``rk_live_`` (and ``_test_``), Hugging
    Face ``hf_``, GitLab ``glpat-``, npm ``npm_``.
``token``
    The credential after ``Bearer``, ``Authorization: token|Basic``.
``secret``
    The value assigned to a key whose name ends in a secret word (``password``, ``passwd``,
    ``passphrase``, ``secret``, ``token``, ``api_key``/``apikey``/``api-key``, ``secret_key``,
    ``access_key``, ``private_key``; any case, any prefix such as ``client_secret`` or
    ``GITHUB_TOKEN``): a quoted value (``"password": "hunter2hunter2"``,
    ``token='abc12345'``), or an unquoted one when the name is upper case, environment style
    (``GITHUB_TOKEN=...``, ``DB_PASSWORD: ...``). The value must have 8+ characters including
    a digit, must not start with ``$`` (a variable reference) and must not be followed by
    ``(`` or ``[`` (code: ``API_KEY = os.environ[...]``, ``token = get_token()``).
``email``
    ``local@domain.tld``; kept: ``git@`` (SSH remotes), ``noreply@``/``no-reply@``, the
    reserved ``example.com/.org/.net`` domains, and "domains" ending in a file extension
    (``icon@2x.png``).
``user``
    The user-name segment of home directories: ``/home/NAME``, ``/Users/NAME``,
    ``C:\\Users\\NAME`` (also with doubled backslashes or forward slashes). Generic account
    names (``user``, ``ubuntu``, ``runner``, ``root``, ``app``, ``node``, ``vscode``, ``jovyan``,
    ``Shared``, ``Public``, ``Default``, ...) are kept.
``ip``
    IPv4 dotted quads and IPv6 addresses (validated with :mod:`ipaddress`). Loopback,
    unspecified (``0.0.0.0``, ``::``) and broadcast addresses are kept.

Trade-offs (documented, tested):

* A 4-part version such as ``1.2.3.4`` is textually an IPv4 address. It is kept when a version
  marker is right before it (``v1.2.3.4``, ``pkg-1.2.3.4``, ``pkg_1.2.3.4``, ``pkg@1.2.3.4``)
  or close before it (``version 1.2.3.4``, ``ver: ...``, ``rev ...``, ``==``, ``>=``, ``<=``,
  ``~=``, ``!=``, ``^``, ``~``), when it sits inside a longer dotted run (``1.2.3.4.5``, OIDs),
  or when an octet has a leading zero or exceeds 255. Any other dotted quad -- ``Python
  3.11.7.1`` included -- is redacted as an address, erring on the side of privacy.
* Git SHAs, UUIDs and other hex or base64 strings are never redacted on their own: only
  prefixed keys, JWT shapes and values assigned to secret-named keys are. A secret without a
  known prefix and outside such an assignment (a bare 40-character AWS secret key, say) is a
  known false negative.
* A user name is only recognised inside a home-directory path; the same name appearing bare
  (``ls -l`` owners, git author names) is not replaced.
* Unquoted lower-case assignments (``password: hunter22`` in YAML) and secret values
  without a digit are not redacted, to keep ordinary code readable.
* Email addresses whose top-level domain is also a common file extension (``.py``, ``.md``,
  ``.rs``, ``.sh``) are kept -- ``icon@2x.png`` is far more common in code than a Paraguayan
  address.
* AWS access key ids are matched by their ``AKIA``/``ASIA`` prefixes only; other IAM unique
  ids (``AIDA...``, ``AROA...``) are identifiers, not credentials, and are kept.
* A Windows path is recognised with one backslash, two (JSON-escaped text) or a slash; a
  drive letter is required (``C:\\Users\\x``), so a bare ``\\Users\\x`` is kept.
* Private and link-local IP addresses (``10.x``, ``192.168.x``, ``172.17.0.2``) are redacted
  like public ones: they still describe someone's network.

Placeholders never match a rule, so redaction is idempotent; numbering continues after any
placeholder already present in the session, so a partly redacted session stays consistent.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from understudy.trajectory import Session

__all__ = ["KINDS", "Redactor", "redact_session", "redact_text"]

KINDS = ("private_key", "jwt", "api_key", "token", "secret", "email", "user", "ip")
"""Kinds of redacted values, as the counter names them."""

_PLACEHOLDER_NAMES = {kind: kind.upper() for kind in KINDS}
_KIND_OF_NAME = {name: kind for kind, name in _PLACEHOLDER_NAMES.items()}
_PLACEHOLDER = re.compile(r"<(" + "|".join(_PLACEHOLDER_NAMES.values()) + r")_(\d+)>")

Span = tuple[int, int, str]
"""A replacement: text[start:end] becomes the string."""

# Rules run one after another over a string, each only when one of its trigger substrings
# occurs in it (plain ``in`` tests are far cheaper than a regex scan), and each regex starts
# with a literal where possible so the scan skips quickly; boundary checks that would defeat
# that (look-behinds) are made in the handlers instead.

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_END = r"(?![A-Za-z0-9_\-])"

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]{0,20000}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"|[ \t]*(?:(?:\r?\n|\\r\\n|\\n)[ \t]*[A-Za-z0-9+/=:,\-]+)*+)"
)
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}" + _END)
_API_KEY_RES = [
    (("sk-",), r"sk-(?:ant-[A-Za-z0-9_\-]{20,}|(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,})"),
    (("gh", "_pat_"), r"g(?:h[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{22,})"),
    (("xox", "xapp-"), r"x(?:ox[abposr]|app)-[A-Za-z0-9\-]{10,}"),
    (("AKIA", "ASIA"), r"A[KS]IA[0-9A-Z]{16}"),
    (("AIza",), r"AIza[0-9A-Za-z_\-]{35}"),
    (("_live_", "_test_"), r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    (("hf_",), r"hf_[A-Za-z0-9]{30,}"),
    (("glpat-",), r"glpat-[A-Za-z0-9_\-]{20,}"),
    (("npm_",), r"npm_[A-Za-z0-9]{36}"),
]
_API_KEY_FULL = re.compile("|".join(f"(?:{pattern})" for _, pattern in _API_KEY_RES))
_AWS_SECRET_RE = re.compile(
    r"(?i:aws_secret_access_key)[\"']?\s*[=:]\s*[\"']?(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
_BEARER_RE = re.compile(
    r"(?i:bearer\s+|authorization:\s*(?:token|basic)\s+)"
    r"(?P<v>(?=[A-Za-z0-9._~+/=\-]*\d)[A-Za-z0-9._~+/=\-]{12,}+)"
)
_SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "secret_key",
    "access_key",
    "private_key",
)
_VALUE = (
    r"(?P<v>(?=[^\s\"'`(){}\[\];,<>|&]*\d)"
    r"[^\s\"'`$(){}\[\];,<>|&][^\s\"'`(){}\[\];,<>|&]{7,}+)"
)
_AFTER_QUOTED_KEY = re.compile(r"[\"']?[ \t]*[:=][ \t]*[\"']" + _VALUE + r"(?=[\"'])")
_AFTER_ENV_KEY = re.compile(r"[ \t]*[:=][ \t]*" + _VALUE + r"(?![(\[])")
_AT_DOMAIN_RE = re.compile(
    r"@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24})(?![A-Za-z0-9\-])"
)
_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]{0,63}(?<![.\-]))(?![A-Za-z0-9_])"
_POSIX_HOME_RE = re.compile(r"/(?:home|Users)/" + _NAME)
_WINDOWS_HOME_RE = re.compile(r":(?:\\\\|\\|/)(?i:users)(?:\\\\|\\|/)" + _NAME)
_IPV4_TAIL_RE = re.compile(r"\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![A-Za-z0-9_]|\.\d)")
_IPV6_RE = re.compile(
    r":(?:[0-9A-Fa-f]{0,4}:){1,6}(?:[0-9A-Fa-f]{1,4}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![A-Za-z0-9_:.])"
)
_HEX = frozenset("0123456789abcdefABCDEF")

_GENERIC_USERS = frozenset(
    {
        "user",
        "users",
        "username",
        "ubuntu",
        "runner",
        "root",
        "app",
        "node",
        "vscode",
        "jovyan",
        "linuxbrew",
        "ec2-user",
        "coder",
        "shared",
        "public",
        "default",
        "guest",
        "admin",
        "circleci",
        "travis",
        "codespace",
        "codespaces",
        "developer",
        "me",
        "you",
        "name",
        "your-name",
        "yourname",
        "your_username",
        "myuser",
        "swe-user",
        "agent",
    }
)
_KEPT_EMAIL_LOCAL = frozenset({"git", "noreply", "no-reply"})
_KEPT_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_FILE_EXTENSIONS = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "bmp",
        "tif",
        "tiff",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "jsx",
        "css",
        "scss",
        "less",
        "json",
        "py",
        "md",
        "txt",
        "html",
        "htm",
        "yml",
        "yaml",
        "toml",
        "lock",
        "xml",
        "csv",
        "map",
        "woff",
        "woff2",
        "ttf",
        "otf",
        "eot",
        "mp4",
        "mp3",
        "wav",
        "pdf",
        "zip",
        "gz",
        "tar",
        "rs",
        "go",
        "rb",
        "java",
        "kt",
        "swift",
        "php",
        "sh",
        "vue",
    ]
)
_VERSION_MARKER = re.compile(
    r"(?i)(?:(?:\bversion|\bver|\brev)\s*[:=]?\s*|(?:==|>=|<=|~=|!=|\^|~)\s*|\bv|[@\-_])\Z"
)


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


class Redactor:
    """Placeholder assignment for one session: the same value always gets the same name."""

    def __init__(self) -> None:
        self._names: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self._next: dict[str, int] = dict.fromkeys(KINDS, 1)
        self.counts: Counter[str] = Counter()
        self.saw_placeholders = False
        """Whether a string already held a placeholder (a session redacted before)."""
        self._log: list[str] = []  # kinds replaced, in order, for the memo below
        self._memo: dict[str, tuple[str, tuple[str, ...]]] = {}

    def reserve(self, text: str) -> None:
        """Note placeholders already in ``text`` so new ones do not reuse their numbers."""
        if "<" not in text:
            return
        for match in _PLACEHOLDER.finditer(text):
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
        if "<" in text and not self.saw_placeholders and _PLACEHOLDER.search(text):
            self.saw_placeholders = True
        if len(text) < 7:
            return text
        memo = len(text) <= _MEMO_MAX_CHARS
        if memo:
            hit = self._memo.get(text)
            if hit is not None:
                if hit[1]:
                    self.counts.update(hit[1])
                return hit[0]
        logged = len(self._log)
        original = text
        # One replacement can expose another (``a@b.comDB_PASSWORD=x`` becomes
        # ``<EMAIL_1>_PASSWORD=x``): repeat until nothing changes, so redaction is idempotent.
        for _ in range(4):
            before = text
            for rule in _RULES:
                if any(map(text.__contains__, rule.triggers)):
                    text = _apply(text, rule.find(self, text))
            if text == before:
                break
        if memo:
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


def _before(text: str, index: int) -> str:
    return text[index - 1] if index > 0 else ""


def _find_private_keys(r: Redactor, text: str) -> Iterator[Span]:
    for m in _PRIVATE_KEY_RE.finditer(text):
        yield m.start(), m.end(), r.placeholder("private_key", m.group(0))


def _find_jwts(r: Redactor, text: str) -> Iterator[Span]:
    for m in _JWT_RE.finditer(text):
        if _before(text, m.start()) not in _WORD_CHARS or m.start() == 0:
            yield m.start(), m.end(), r.placeholder("jwt", m.group(0))


_API_KEY_FINDERS = [(triggers, re.compile(pattern + _END)) for triggers, pattern in _API_KEY_RES]


def _find_api_keys(r: Redactor, text: str) -> Iterator[Span]:
    spans: list[Span] = []
    for triggers, regex in _API_KEY_FINDERS:
        if any(map(text.__contains__, triggers)):
            for m in regex.finditer(text):
                if m.start() == 0 or _before(text, m.start()) not in _KEY_CHARS:
                    spans.append((m.start(), m.end(), r.placeholder("api_key", m.group(0))))
    spans.sort()
    yield from spans


def _find_aws_secrets(r: Redactor, text: str) -> Iterator[Span]:
    for m in _AWS_SECRET_RE.finditer(text):
        yield m.start("v"), m.end("v"), r.placeholder("api_key", m.group("v"))


def _find_bearer(r: Redactor, text: str) -> Iterator[Span]:
    for m in _BEARER_RE.finditer(text):
        if _before(text, m.start()) not in _WORD_CHARS or m.start() == 0:
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


_IP_BEFORE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")


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
_MEMO_MAX_CHARS = 256
"""Strings up to this length are memoised per session (ids, names, paths repeat a lot)."""


def redact_text(text: str) -> tuple[str, Counter[str]]:
    """Redact one string on its own (placeholders numbered from 1, after any already there)."""
    redactor = Redactor()
    redactor.reserve(text)
    return redactor.text(text), redactor.counts


ModelT = TypeVar("ModelT", bound=BaseModel)


def redact_session(session: Session) -> tuple[Session, Counter[str]]:
    """A copy of ``session`` with secrets and personal data replaced, and counts per kind.

    Every string value anywhere in the session is rewritten (dictionary keys are kept); parts
    that need no change are shared with the input, not copied. The input is not modified.
    """
    redactor = Redactor()
    redacted = _transform_model(session, redactor.text)
    if redactor.saw_placeholders and redactor.counts:
        # New values were numbered without knowing the placeholders already there: start
        # again, numbering after them. (Rare: only partly redacted input gets here.)
        redactor = Redactor()
        _walk(session, redactor.reserve)
        redacted = _transform_model(session, redactor.text)
    return redacted, redactor.counts


def _walk(value: Any, visit: Callable[[str], None]) -> None:
    if isinstance(value, str):
        visit(value)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name), visit)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, visit)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, visit)


def _transform_model(model: ModelT, fix: Callable[[str], str]) -> ModelT:
    changed: dict[str, Any] = {}
    for name in type(model).model_fields:
        old = getattr(model, name)
        new = _transform(old, fix)
        if new is not old:
            changed[name] = new
    return model.model_copy(update=changed) if changed else model


def _transform(value: Any, fix: Callable[[str], str]) -> Any:
    """``value`` with ``fix`` applied to every string; the same object when nothing changed."""
    if isinstance(value, str):
        new = fix(value)
        return value if new == value else new
    if isinstance(value, BaseModel):
        return _transform_model(value, fix)
    if isinstance(value, dict):
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            new = _transform(item, fix)
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if isinstance(value, list):
        items: list[Any] | None = None
        for index, item in enumerate(value):
            new = _transform(item, fix)
            if new is not item:
                if items is None:
                    items = list(value)
                items[index] = new
        return value if items is None else items
    if isinstance(value, tuple):
        new_items = [_transform(item, fix) for item in value]
        if all(a is b for a, b in zip(new_items, value, strict=True)):
            return value
        return tuple(new_items)
    return value
