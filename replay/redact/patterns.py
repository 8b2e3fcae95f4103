"""The patterns the redaction rules match: regexes, secret words and the values kept.

Pure data for :mod:`understudy.replay.redact.rules` (and the span type its finders yield). Each
regex starts with a literal where possible so the scan skips quickly; boundary checks that would
defeat that (look-behinds) are made in the rule handlers instead.
"""

from __future__ import annotations

import re

Span = tuple[int, int, str]
"""A replacement: text[start:end] becomes the string."""


def _before(text: str, index: int) -> str:
    """The character before ``index``; ``""`` at the start (in no character set)."""
    return text[index - 1] if index > 0 else ""


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
_API_KEY_FINDERS = [(triggers, re.compile(pattern + _END)) for triggers, pattern in _API_KEY_RES]
_AWS_SECRET_TRIGGERS = (
    *("ecret_access_key", "ECRET_ACCESS_KEY", "ecretAccessKey", "ecret access key"),
    *("ecret Access Key", "ECRET ACCESS KEY"),
)
_AWS_SECRET_RE = re.compile(
    r"(?i:secret[_ ]?access[_ ]?key)(?:[ \t]*\[[^\]\n]{0,20}\])?[\"']?\s*[=:]\s*[\"']?"
    r"(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
_AWS_KEY_ID_RE = re.compile(r"A[KS]IA[0-9A-Z]{16}" + _END)
_BASE64_40_RE = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_PAIR_DISTANCE = 256
"""How far from an access key id (in characters) a bare 40-character secret is looked for."""
_URL_PASSWORD_RE = re.compile(
    r"://(?P<user>[^\s/?#@:<>\"'`]{0,64}):(?P<v>[^\s/?#<>\"'`]{1,128})@(?=[A-Za-z0-9\[])"
)
"""A URL's user info (up to the authority's last ``@``, as :mod:`urllib.parse` reads it)."""
_URL_TEMPLATE = re.compile(r"[${]|%[s(]|\*+\Z")
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
_IPV4_TAIL_RE = re.compile(
    r"\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(?P<port>[1-9]\d{2,4}))?(?![A-Za-z0-9_]|\.\d)"
)
_PORTED_BEFORE = re.compile(r"(?<![^\s(])(?P<a>[^\s>]{2,60}?)\.[A-Za-z0-9\-]{1,15}\Z")
_PORTED_AFTER = re.compile(r"(?P<a>[^\s>]{2,60}?)\.[A-Za-z0-9\-]{1,15}:(?!\S)")
"""tcpdump's endpoints, ``ADDRESS.PORT > ADDRESS.PORT:`` (the port may be a service name)."""
_IPV6_RE = re.compile(
    r":(?:[0-9A-Fa-f]{0,4}:){1,6}(?:[0-9A-Fa-f]{1,4}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![A-Za-z0-9_:.])"
)
_HEX = frozenset("0123456789abcdefABCDEF")
_IP_BEFORE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")

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
    r"(?i)(?:(?:\bversion|\bver|\brev)\s*[:=]?\s*|(?:==|>=|<=|~=|!=|\^|~)\s*|\bv|[\-_])\Z"
)
