"""The rules for IP addresses: dotted quads, IPv6, and tcpdump's ``ADDRESS.PORT`` endpoints.

Part of :mod:`understudy.replay.redact.rules` (which runs them in order); what is kept is
described in :mod:`understudy.replay.redact`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from understudy.replay.redact.patterns import Span

if TYPE_CHECKING:
    from understudy.replay.redact.placeholders import Redactor


_IPV4_TAIL_RE = re.compile(
    r"\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(?P<port>[1-9]\d{2,4}))?(?![A-Za-z0-9_]|\.\d)"
)
"""``.B.C.D`` of a dotted quad and a port after it (``A`` is read back from the text before)."""
_PORTED_BEFORE = re.compile(r"(?<![^\s(])(?P<a>[^\s>]{2,60}?)\.[A-Za-z0-9\-]{1,15}\Z")
_PORTED_AFTER = re.compile(r"(?P<a>[^\s>]{2,60}?)\.[A-Za-z0-9\-]{1,15}:(?!\S)")
"""tcpdump's endpoints, ``ADDRESS.PORT > ADDRESS.PORT:`` (the port may be a service name)."""
_IPV6_RE = re.compile(
    r":(?:[0-9A-Fa-f]{0,4}:){1,6}(?:[0-9A-Fa-f]{1,4}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![A-Za-z0-9_:.])"
)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_CHARS_JOINED_TO_AN_IP = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_."
)
"""Characters that, just before an address, make it part of a longer token (not an address)."""
_CHARS_JOINED_TO_AN_IP_V6 = _CHARS_JOINED_TO_AN_IP | {":"}
_VERSION_MARKER = re.compile(
    r"(?i)(?:(?:\bversion|\bver|\brev)\s*[:=]?\s*|(?:==|>=|<=|~=|!=|\^|~)\s*|\bv|[\-_])\Z"
)
"""What, just before a dotted quad, makes it a version: ``version``, ``==``, ``v``, ``-``."""


def find_ported_ips(r: Redactor, text: str) -> Iterator[Span]:
    """Both endpoints of tcpdump's ``SRC.PORT > DST.PORT:`` (the ports are kept)."""
    index = text.find(" > ")
    while index >= 0:
        after = _PORTED_AFTER.match(text, index + 3)
        before = after and _PORTED_BEFORE.search(text, max(0, index - 64), index)
        if after and before:
            for m in (before, after):
                if _is_redacted_address(m.group("a")):
                    yield m.start("a"), m.end("a"), r.placeholder("ip", m.group("a"))
        index = text.find(" > ", index + 3)


def _is_redacted_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    broadcast = address == ipaddress.IPv4Address("255.255.255.255")
    return not (address.is_loopback or address.is_unspecified or broadcast)


def find_ipv4(r: Redactor, text: str) -> Iterator[Span]:
    for m in _IPV4_TAIL_RE.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < 3 and text[start - 1].isdigit():
            start -= 1
        if start == m.start() or (start > 0 and text[start - 1] in _CHARS_JOINED_TO_AN_IP):
            continue
        port = m.group("port")
        if port is not None and not 255 < int(port) <= 65535:
            continue  # a fifth number that could be an octet: a version (``1.2.3.4.100``)
        end = m.start("port") - 1 if port else m.end()
        address = text[start:end]
        octets = address.split(".")
        if any(not o.isascii() or int(o) > 255 or (len(o) > 1 and o[0] == "0") for o in octets):
            continue
        if _VERSION_MARKER.search(text[max(0, start - 12) : start]):
            continue
        if address.startswith("127.") or address in ("0.0.0.0", "255.255.255.255"):
            continue
        yield start, end, r.placeholder("ip", address)


def find_ipv6(r: Redactor, text: str) -> Iterator[Span]:
    for m in _IPV6_RE.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < 4 and text[start - 1] in _HEX_DIGITS:
            start -= 1
        if start > 0 and text[start - 1] in _CHARS_JOINED_TO_AN_IP_V6:
            continue
        candidate = text[start : m.end()]
        if candidate.count(":") < 2:
            continue
        # A short ``a::b`` (code, slices) is not taken for an address: it needs three groups
        # or five hex digits (``fe80::1`` qualifies). (Checked first: it is cheap.)
        groups = [part for part in candidate.split(":") if part]
        digits = sum(len(part) for part in groups if "." not in part)
        if len(groups) < 3 and digits < 5:
            continue
        try:
            address = ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified:
            continue
        yield start, m.end(), r.placeholder("ip", candidate)
