"""``fast_json.loads`` gives what ``json.loads`` gives -- the same value (types included), or
the same error -- on whatever text, orjson's differences (NaN, big integers, lone surrogates,
deep nesting, duplicate keys) included."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from understudy.replay.importers.fast_json import loads


def _outcome(parse: Any, text: str) -> tuple[str, str]:
    try:
        value = parse(text)
    except json.JSONDecodeError as exc:
        return "error", f"{type(exc).__name__} {exc.msg} {exc.pos}"
    except RecursionError:
        return "error", "RecursionError"
    return "value", _typed(value)


def _typed(value: Any, depth: int = 0) -> str:
    """The value with every number's type and exact value spelled out (1 vs 1.0, -0.0)."""
    if depth > 100:  # deeper values are empty lists only, in the tests below
        return _nested_lists(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_typed(v, depth + 1)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_typed(v, depth + 1) for v in value) + "]"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"float:{value.hex()}"
    return f"{type(value).__name__}:{value!r}"


def _nested_lists(value: Any) -> str:
    """How deep a list holding a list holding ... an empty list is (no recursion)."""
    depth = 0
    while isinstance(value, list) and value:
        assert len(value) == 1
        value, depth = value[0], depth + 1
    assert value == []
    return f"nested:{depth}"


def _same(text: str) -> None:
    assert _outcome(loads, text) == _outcome(json.loads, text), text


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2, "b": [1.5, -0.0, -0, 1e400, 1e-400]}',
        "123456789012345678901234567890",
        "-9223372036854775809",
        "18446744073709551616",
        "9007199254740993",
        "[NaN, Infinity, -Infinity]",
        '"\\ud800 alone"',
        '"\\ud83d\\ude00"',
        '"tab\there"',
        "[" * 1100 + "]" * 1100,
        "[" * 1020 + "]" * 1020,
        "[" * 799 + "]" * 799,
        "[" * 800 + "]" * 800,
        # More brackets than the count vouches for: depth told by orjson (wrapped in lists).
        "[" + ",".join(["[]"] * 900) + "]",
        "[" + ",".join(["{}"] * 900) + "]  \n",
        ",".join(["[]"] * 900),
        "[]" * 900,
        "[[]]" + ",[]" * 900,
        "[" * 90 + ",".join(["[]"] * 900) + "]" * 90,
        "[" * 90 + ",".join(["[" * 8 + "]" * 8] * 900) + "]" * 90,
        " " * 10 + "[" * 500 + "1" + "]" * 500 + "[[]]" * 200,
        "\ufeff[1]",
        "[1, 2",
        "[1,]",
        "01",
        "",
        "  {}  ",
        '{"x": "\\u0000\u2028é"}',
        "1.7976931348623159e308",
        "4.9e-324",
        "0.1000000000000000055511151231257827",
        # Long runs of digits that are the fractions of small numbers, and ones that are not.
        "[0.00037814000000000006, -0.000045540014980360866, 3.7814000000000006e-4]",
        "0.0000000000000000000012345678901234567",
        "0.00000000000000000000123456789012345678901",
        "0.0000000000000000000001234567890123456789e-300",
        "10.000000000000000000005",
        "-0.10000000000000000000000000000000000000000000000000000001",
        '["0.000000000000000000001", 1234567890123456789]',
        "00.0000000000000000000001",
        "0.0000000000000000000001.5",
    ],
)
def test_known_differences_of_orjson(text: str) -> None:
    _same(text)


_PIECES = st.sampled_from(
    [
        *'{}[],:"',
        *(" ", "\n", "1", "-", "0", ".", "e", "E", "+", "9" * 19, "NaN", "true", "null"),
        *('"a"', '"\\u00e9"', '"\\ud800"', '"\\n"', "\\", "\u00e9", "\x01", "1e400", "2.5"),
    ]
)
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=25))
def test_any_text(pieces: list[str]) -> None:
    _same("".join(pieces))


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_any_value_json_writes(value: Any) -> None:
    _same(json.dumps(value))
