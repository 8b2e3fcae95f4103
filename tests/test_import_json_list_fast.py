"""The fast reader of JSON lists (orjson on elements cut out of large reads) must deliver exactly
what the careful reader (ijson, bounds checked on each read) does: the same elements, then the
same error -- whatever the layout, and wherever a problem is."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from understudy.errors import LogFormatError
from understudy.replay.importers import common, json_items
from understudy.replay.importers.json_items import MAX_BUFFER
from understudy.replay.importers.stream import MAX_DEPTH, iter_json_array


def _outcome(path: Path) -> tuple[str, str | None]:
    delivered: list[Any] = []
    try:
        for entry in iter_json_array(path):
            delivered.append(entry)
    except LogFormatError as exc:
        return json.dumps(delivered), str(exc)
    return json.dumps(delivered), None


def _careful_outcome(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    # Below this cap the fast reader stands aside; far above any element here, it changes
    # nothing else.
    with monkeypatch.context() as patch:
        patch.setattr(common, "MAX_JSON_BYTES", 4 * MAX_BUFFER - 1)
        return _outcome(path)


def _item(rnd: random.Random, n: int) -> dict[str, Any]:
    text = f'hi {n} [{{,]}}" \\ ' * rnd.randint(1, 5)
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": text},
        {"role": "assistant", "content": "x", "tool_calls": [call]},
    ]
    return {"messages": messages, "n": n, "f": 1.5e-7 * n}


def _dump(items: list[Any], layout: str) -> str:
    if layout == "line":
        return "[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n"
    if layout == "one":
        return json.dumps(items)
    if layout == "crlf":
        return json.dumps(items, indent=1).replace("\n", "\r\n")
    return json.dumps(items, indent=2)


def _variants(layout: str, rnd: random.Random) -> dict[str, str]:
    items = [_item(rnd, n) for n in range(300)]
    base = _dump(items, layout)
    variants = {"ok": base, "bom": "\ufeff" + base, "empty": "[]", "spaces": " [ \n ] \n"}
    variants["scalars"] = _dump([1, "a", None, *items[:3]], layout)
    for k in range(8):
        at = rnd.randrange(len(base))
        variants[f"cut{k}"] = base[:at]
        junk = rnd.choice(["}", "]", ",", "x", "NaN", '"', "\\", "[[[[", "{}", " ,", "1e999"])
        variants[f"junk{k}"] = base[:at] + junk + base[at:]
    odd = ["123456789012345678901234567890", "-9999999999999999999", "NaN", "Infinity"]
    odd += ['"\\ud800"', "1e400", "18446744073709551615"]
    for k, value in enumerate(odd):
        with_odd: list[Any] = list(items)
        with_odd.insert(rnd.randrange(len(with_odd)), {"odd": "ODD"})
        variants[f"odd{k}"] = _dump(with_odd, layout).replace('"ODD"', value)
    for k, value in enumerate(_large_values()):
        # Shallow elements with many brackets, long fractions, long lines; nesting up to the
        # limit and one past it within such an element.
        with_large: list[Any] = list(items)
        with_large.insert(rnd.randrange(len(with_large)), {"large": "LARGE"})
        variants[f"large{k}"] = _dump(with_large, layout).replace('"LARGE"', value)
    for k in range(6):
        # Nesting past the limit, anywhere: the careful reader refuses it as soon as it reads
        # it, before delivering what came earlier in the same read.
        deep: list[Any] = list(items)
        deep.insert(rnd.randrange(len(deep)), "DEEP")
        variants[f"deep{k}"] = _dump(deep, layout).replace('"DEEP"', "[" * 1200 + "]" * 1200)
    return variants


def _large_values() -> list[str]:
    many = json.dumps([{"role": "user", "content": f"m{n}"} for n in range(1500)])
    fractions = json.dumps({"cost": 0.00037814000000000006, "logprob": -0.00014482879487331957})
    # Depth within the array: the array itself is one level of the 1000 allowed.
    nested = [many[:-1] + ", " + "[" * depth + "]" * depth + "]" for depth in (998, 999)]
    return [many, fractions, json.dumps({"content": "y" * 200_000}), *nested, '"' + "1" * 25 + '"']


@pytest.mark.parametrize("layout", ["line", "one", "indent", "crlf"])
def test_fast_and_careful_readers_agree(
    layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(layout)
    for name, text in _variants(layout, rnd).items():
        path = tmp_path / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        assert _outcome(path) == _careful_outcome(path, monkeypatch), name


@pytest.mark.parametrize("layout", ["line", "indent"])
def test_the_fast_reader_takes_elements_nested_up_to_the_limit(layout: str, tmp_path: Path) -> None:
    """An element of thousands of brackets nested as deep as the careful reader allows is the
    fast reader's; one level more is left to the careful reader (which refuses it)."""
    at_limit, past_limit = _large_values()[3:5]
    path = tmp_path / "nested.json"
    for value, allowed in ((at_limit, True), (past_limit, False)):
        # (json would recurse too deeply to read or compare such values)
        path.write_text(_dump([{"messages": []}, "NESTED"], layout).replace('"NESTED"', value))
        with path.open("rb") as handle:
            if allowed:
                first, nested = json_items.fast_elements(handle, MAX_DEPTH)
                assert first == {"messages": []}
                assert nested[:-1] == orjson.loads(value)[:-1]  # the shallow messages
                assert _list_depth(nested[-1]) == 998  # (and with the element's, the array's)
            else:
                with pytest.raises(json_items.Irregular):
                    list(json_items.fast_elements(handle, MAX_DEPTH))


def _list_depth(value: Any) -> int:
    """How deep a list holding a list holding ... an empty list is (no recursion)."""
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


def test_an_element_too_big_for_the_fast_reader_is_read_carefully(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_items, "MAX_BUFFER", 256 * 1024)
    big = {"messages": [{"role": "user", "content": "x" * (1024 * 1024)}]}
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"messages": []}, big, {"messages": []}]))
    assert [index for index, _ in iter_json_array(path)] == [0, 1, 2]


@pytest.mark.parametrize("layout", ["line", "indent"])
def test_long_shallow_elements_take_the_fast_way(layout: str, tmp_path: Path) -> None:
    """Elements of real size -- thousands of brackets, lines longer than one read, fractions
    of twenty digits -- are delivered by the fast reader, not left to the careful one."""
    values = [json.loads(value) for value in _large_values()[:3]]
    path = tmp_path / "large.json"
    path.write_text(_dump(values, layout))
    with path.open("rb") as handle:
        assert list(json_items.fast_elements(handle, MAX_DEPTH)) == values
    path.write_text(_dump([*values, 12345678901234567890123], layout))
    with path.open("rb") as handle, pytest.raises(json_items.Irregular):
        list(json_items.fast_elements(handle, MAX_DEPTH))
