"""``peek_jsonl`` and ``head_jsonl`` read the first values of a file's head line by line, the
lines cut as ``bytes.splitlines`` cuts them (``\\n``, ``\\r\\n`` and a lone ``\\r``), without
cutting the whole head: the same values as parsing every line of the head would give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from understudy.replay.importers.file_head import head_jsonl, peek_jsonl


def _reference(data: bytes, count: int) -> list[Any]:
    values: list[Any] = []
    for raw in data.splitlines(keepends=True):
        if len(values) >= count:
            break
        if not raw.strip():
            continue
        try:
            values.append(json.loads(raw.decode("utf-8").removeprefix("\ufeff")))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            break
    return values


_PIECES = st.sampled_from(
    [
        *(b"\n", b"\r", b"\r\n", b" ", b"\t", b"\x0c", b"\xef\xbb\xbf", b"\xff"),
        *(b"{}", b"[1, 2]", b'{"a": 1}', b'"x"', b"7", b"null", b"{", b"}"),
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30), st.integers(min_value=0, max_value=5))
def test_same_values_as_every_line_parsed(
    tmp_path_factory: Any, pieces: list[bytes], count: int
) -> None:
    path: Path = tmp_path_factory.mktemp("peek") / "log.jsonl"
    data = b"".join(pieces)
    path.write_bytes(data)
    expected = _reference(data, count)
    assert peek_jsonl(path, count=count) == expected
    assert list(head_jsonl(path, count=count)) == expected
