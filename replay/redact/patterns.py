"""The patterns of secrets and e-mail addresses: regexes, secret words and the values kept.

Pure data for :mod:`understudy.replay.redact.rules`, with what every rule module shares: the
span type the finders yield and the character sets that bound a word or a key (the address
patterns are in :mod:`understudy.replay.redact.network`). Each regex starts with a literal
where possible so the scan skips quickly; boundary checks that would defeat that (look-behinds)
are made in the finders instead.
"""

from __future__ import annotations

import re

Span = tuple[int, int, str]
"""A replacement: text[start:end] becomes the string."""


def char_before(text: str, index: int) -> str:
    """The character before ``index``; ``""`` at the start (in no character set)."""
    return text[index - 1] if index > 0 else ""


def lower_each(text: str) -> str:
    """``text`` lower-cased one character for one (a few non-ASCII letters lengthen when
    lowered; they are kept as they are), so that positions in it are positions in ``text``."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
"""Characters of an API key: one just before a key shape means it is part of a longer token."""
WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
"""Characters of a word (an identifier): what a whole-word match must not touch."""
_END = r"(?![A-Za-z0-9_\-])"

PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]{0,20000}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"|[ \t]*(?:(?:\r?\n|\\r\\n|\\n)[ \t]*[A-Za-z0-9+/=:,\-]+)*+)"
)
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}" + _END)
API_KEY_PATTERNS = [
    (("sk-",), r"sk-(?:ant-[A-Za-z0-9_\-]{20,}|(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,})"),
    (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"g(?:h[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{22,})",
    ),
    (
        ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xapp-"),
        r"x(?:ox[abposr]|app)-[A-Za-z0-9\-]{10,}",
    ),
    (("AKIA", "ASIA"), r"A[KS]IA[0-9A-Z]{16}"),
    (("AIza",), r"AIza[0-9A-Za-z_\-]{35}"),
    (("sk_live_", "rk_live_", "sk_test_", "rk_test_"), r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    (("hf_",), r"hf_[A-Za-z0-9]{30,}"),
    (("glpat-",), r"glpat-[A-Za-z0-9_\-]{20,}"),
    (("npm_",), r"npm_[A-Za-z0-9]{36}"),
]
"""``(triggers, regex source)`` of each kind of API key: the substrings one contains."""
ANY_API_KEY_RE = re.compile("|".join(f"(?:{pattern})" for _, pattern in API_KEY_PATTERNS))
"""Any kind of API key, to tell whether a whole value is one."""
API_KEY_FINDERS = [(triggers, re.compile(pattern + _END)) for triggers, pattern in API_KEY_PATTERNS]
"""``(triggers, regex)`` finding each kind of API key, which must end there."""
AWS_SECRET_TRIGGERS = (
    *("ecret_access_key", "ECRET_ACCESS_KEY", "ecretAccessKey", "ecret access key"),
    *("ecret Access Key", "ECRET ACCESS KEY"),
)
AWS_SECRET_RE = re.compile(
    r"(?i:secret[_ ]?access[_ ]?key)(?:[ \t]*\[[^\]\n]{0,20}\])?[\"']?\s*[=:]\s*[\"']?"
    r"(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
AWS_KEY_ID_RE = re.compile(r"A[KS]IA[0-9A-Z]{16}" + _END)
BASE64_40_RE = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
AWS_PAIR_DISTANCE = 256
"""How far from an access key id (in characters) a bare 40-character secret is looked for."""
URL_PASSWORD_RE = re.compile(
    r"://(?P<user>[^\s/?#@:<>\"'`]{0,64}):(?P<v>[^\s/?#<>\"'`]{1,128})@(?=[A-Za-z0-9\[])"
)
"""A URL's user info (up to the authority's last ``@``, as :mod:`urllib.parse` reads it)."""
URL_TEMPLATE_RE = re.compile(r"[${]|%[s(]|\*+\Z")
"""A URL password that is a placeholder, not a password: ``${VAR}``, ``%s``, ``****``."""
BEARER_RE = re.compile(
    r"(?i:bearer\s+|authorization:\s*(?:token|basic)\s+)"
    r"(?P<v>(?=[A-Za-z0-9._~+/=\-]*\d)[A-Za-z0-9._~+/=\-]{12,}+)"
)
SECRET_WORDS = (
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
QUOTED_VALUE_AFTER_KEY_RE = re.compile(r"[\"']?[ \t]*[:=][ \t]*[\"']" + _VALUE + r"(?=[\"'])")
"""The value of a secret word used as a quoted key (``"password": "..."``)."""
ENV_VALUE_AFTER_KEY_RE = re.compile(r"[ \t]*[:=][ \t]*" + _VALUE + r"(?![(\[])")
"""The value of a secret word in a setting (``DB_PASSWORD=...``)."""
EMAIL_DOMAIN_RE = re.compile(
    r"@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24})(?![A-Za-z0-9\-])"
)
EMAIL_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
"""Characters of the local part of an e-mail address (before the ``@``)."""

KEPT_EMAIL_LOCAL_PARTS = frozenset({"git", "noreply", "no-reply"})
KEPT_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
"""Domains (and their subdomains) whose addresses are kept: they name no one."""
FILE_EXTENSIONS = frozenset(
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
"""A ``name@domain`` whose domain ends in one of these is a file (``logo@2x.png``)."""
