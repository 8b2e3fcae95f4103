"""OutputCollector: what is kept of a command's output, and how the cut is marked."""

from __future__ import annotations

import random

import pytest

from understudy.sandbox.output import TRUNCATION_MARKER, OutputCollector


def collect(chunks: list[bytes], limit: int) -> OutputCollector:
    collector = OutputCollector(limit)
    for chunk in chunks:
        collector.add(chunk)
    return collector


def split_randomly(data: bytes, seed: int, max_chunk: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    chunks, start = [], 0
    while start < len(data):
        size = rng.randint(0, max_chunk)  # empty chunks too
        chunks.append(data[start : start + size])
        start += size
    return chunks


DATA = bytes(ord("a") + i % 26 for i in range(100))  # "abc...zabc..."


def test_short_output_is_kept_whole() -> None:
    collector = collect([b"hello ", b"", b"world\n"], limit=100)
    assert collector.text() == "hello world\n"
    assert collector.total == 12
    assert not collector.truncated


def test_output_of_exactly_the_limit_is_not_truncated() -> None:
    collector = collect([DATA[:40]], limit=40)
    assert not collector.truncated
    assert collector.text() == DATA[:40].decode()


@pytest.mark.parametrize("limit", [10, 11])
def test_one_byte_over_the_limit_cuts_one_byte_from_the_middle(limit: int) -> None:
    collector = collect([DATA[: limit + 1]], limit=limit)
    head, tail = limit // 2, limit - limit // 2  # an odd limit gives the tail the extra byte
    assert collector.truncated
    assert collector.total == limit + 1
    assert collector.text() == (
        DATA[:head].decode()
        + TRUNCATION_MARKER.format(omitted=1, total=limit + 1)
        + DATA[limit + 1 - tail : limit + 1].decode()
    )


def test_long_output_keeps_head_and_tail_with_exact_counts() -> None:
    collector = collect([DATA], limit=20)
    assert collector.total == 100
    assert collector.text() == (
        DATA[:10].decode() + TRUNCATION_MARKER.format(omitted=80, total=100) + DATA[-10:].decode()
    )
    assert "80 bytes of output omitted (100 bytes in all)" in collector.text()


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 19, 20, 21, 57, 100])
@pytest.mark.parametrize("seed", range(5))
def test_chunking_does_not_change_the_result(size: int, seed: int) -> None:
    data = DATA[:size]
    whole = collect([data], limit=20)
    pieces = collect(split_randomly(data, seed), limit=20)
    single_bytes = collect([data[i : i + 1] for i in range(size)], limit=20)
    assert pieces.text() == whole.text() == single_bytes.text()
    assert pieces.total == whole.total == single_bytes.total == size
    assert pieces.truncated == whole.truncated == (size > 20)


def test_a_chunk_straddling_the_head_boundary_is_split_between_head_and_tail() -> None:
    collector = collect([DATA[:8], DATA[8:30], DATA[30:35]], limit=20)
    assert collector.text().startswith(DATA[:10].decode() + "\n[... understudy: 15 bytes")
    assert collector.text().endswith(DATA[25:35].decode())


def test_multibyte_characters_split_across_chunks_decode_whole() -> None:
    encoded = "é漢🎉".encode()
    collector = collect([encoded[i : i + 1] for i in range(len(encoded))], limit=1024)
    assert collector.text() == "é漢🎉"


def test_undecodable_bytes_are_replaced() -> None:
    collector = collect([b"ok \xff\xfe end"], limit=1024)
    assert collector.text() == "ok \ufffd\ufffd end"


def test_tail_memory_stays_bounded_with_many_chunks() -> None:
    collector = OutputCollector(1000)
    for _ in range(10_000):
        collector.add(b"x" * 100)
    assert collector.total == 1_000_000
    # What is held for the tail is the tail limit plus at most one chunk.
    assert sum(map(len, collector._tail)) < 500 + 100
    assert len(collector.text().encode()) == 1000 + len(
        TRUNCATION_MARKER.format(omitted=999_000, total=1_000_000)
    )
