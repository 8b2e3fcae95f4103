"""``json.loads`` with :mod:`orjson` doing the work where it gives exactly the same value.

orjson parses several times faster, but differs from :mod:`json` on some input it accepts or
refuses: it refuses ``NaN`` and ``Infinity``, numbers beyond a float and lone surrogates,
turns integers beyond 64 bits into floats, and nests up to 1024 levels where json stops at the
interpreter's recursion limit (1000, less the calls already on the stack). So :func:`loads`
lets orjson parse only text without a run of 19 digits (every integer it could alter has one,
and so does every decimal it could round otherwise) -- but for the fractions of small numbers
as Python writes them (``0.00037814000000000006``, see :func:`_only_small_fractions`) -- and
nested less deeply than :data:`_MAX_OPENINGS` levels (what json reads from a stack up to 200
calls deep), and on anything orjson refuses parses again with :mod:`json` -- which then
accepts what it always accepted, or raises its own error, with its own message and position.
The depth is bounded by the count of opening brackets, or, for larger documents, which have
more, checked with orjson itself (see :func:`_shallow`).

Callers that read bytes hand them over as well (:func:`loads` with ``data``, or
:func:`vouched`), so that the text is not encoded again for orjson -- or, for a JSONL line,
not even decoded when orjson vouches for it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["UNVOUCHED", "exact_within", "loads", "vouched"]

# Digits to "0", opening brackets to "[", all else to ".": 19 digits in a row may be an
# integer orjson cannot keep, and the brackets bound the depth (one pass over the text).
_DIGITS = bytes(48 if 48 <= byte <= 57 else 91 if byte in b"[{" else 46 for byte in range(256))
_LONG_NUMBER = b"0" * 19
_MAX_OPENINGS = 800
_ORJSON_MAX_DEPTH = 1024


UNVOUCHED: Any = object()
"""What :func:`vouched` returns for data it leaves to :mod:`json`."""


def loads(text: str, data: bytes | None = None) -> Any:
    """What ``json.loads(text)`` returns, or raises (JSONDecodeError, RecursionError).

    ``data``, when given, is ``text`` encoded in UTF-8 (the bytes it was decoded from).
    """
    if data is None:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate: orjson would refuse it
            return json.loads(text)
    value = vouched(data)
    return json.loads(text) if value is UNVOUCHED else value


def vouched(data: bytes) -> Any:
    """What ``json.loads(data.decode())`` returns, when orjson can tell it exactly; else
    :data:`UNVOUCHED` (also for data that is not UTF-8, or that json would refuse)."""
    digits = data.translate(_DIGITS)
    if _numbers_exact(data, digits):
        try:
            if len(data) < _MAX_OPENINGS or digits.count(b"[") < _MAX_OPENINGS:
                return orjson.loads(data)
            return _shallow(data, _MAX_OPENINGS - 1)
        except (orjson.JSONDecodeError, _TooDeep):
            pass
    return UNVOUCHED


def exact_within(data: bytes, levels: int) -> bool:
    """Whether the value orjson read from the JSON text ``data`` (one value) is the one json
    would read, nested at most ``levels`` deep: orjson reads every number in it as json does
    (no run of 19 digits, but in the fractions of small numbers: :func:`_only_small_fractions`),
    and it has no more than ``levels`` opening brackets or orjson's own limit says it is that
    shallow (see :func:`_shallow`; a long session has many brackets, however shallow)."""
    digits = data.translate(_DIGITS)
    if not _numbers_exact(data, digits):
        return False
    if digits.count(b"[") <= levels or levels >= _ORJSON_MAX_DEPTH:
        return True
    try:
        _shallow(data, levels)
    except (orjson.JSONDecodeError, _TooDeep):
        return False
    return True


def _numbers_exact(data: bytes, digits: bytes) -> bool:
    """Whether orjson reads every number in ``data`` as json does: no run of 19 digits but in
    the fractions of small numbers. ``digits`` is ``data`` translated by ``_DIGITS``."""
    return _LONG_NUMBER not in digits or _only_small_fractions(data, digits)


def _only_small_fractions(data: bytes, digits: bytes) -> bool:
    """Whether every run of 19 digits or more in ``data`` is the fraction of a number below 1
    with at most 18 significant digits (``0.00037814000000000006``, as Python writes small
    floats): orjson reads those exactly as json does. Longer numbers it may round otherwise
    (or, for integers, turn into floats); a run within a string is taken for a number too.
    ``digits`` is ``data`` translated by ``_DIGITS`` (the runs found at C speed)."""
    end = 0
    while (start := digits.find(_LONG_NUMBER, end)) >= 0:  # the start of a run
        end = digits.find(b".", start)
        if end < 0:
            end = len(digits)
        before = data[max(0, start - 3) : start]  # "0." after anything but a digit
        if not before.endswith(b"0.") or before[:-2].isdigit():
            return False
        if len(data[start:end].lstrip(b"0")) > 18:
            return False
    return True


class _TooDeep(Exception):
    """The text nests too deeply, or is not one value (see :func:`_shallow`)."""


def _shallow(data: bytes, levels: int) -> Any:
    """orjson's value of ``data``, if it nests at most ``levels`` levels deep (fewer than
    orjson's own limit, :data:`_ORJSON_MAX_DEPTH`).

    A large document has more brackets than that, without nesting deeply. Its depth is told by
    orjson's limit: the text is parsed inside as many lists as leave room for ``levels``
    levels, which orjson refuses for a value nested deeper. Each wrapper must hold exactly one
    element (else the text was not one value).
    """
    wrappers = _ORJSON_MAX_DEPTH - levels
    value = orjson.loads(b"[" * wrappers + data + b"]" * wrappers)
    for _ in range(wrappers):
        if len(value) != 1:
            raise _TooDeep
        value = value[0]
    return value
