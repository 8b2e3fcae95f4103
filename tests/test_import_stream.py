"""Streaming of JSON documents that hold many sessions, and the cap on documents read whole.

The parts are real: ijson over files in tmp dirs, the importers through ``import_paths``.
Caps are lowered with monkeypatch so that the limits are exercised on small files.
"""

from __future__ import annotations

import json
import math
import shutil
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.errors import LogFormatError
from understudy.replay.importers import (
    ImporterCrashError,
    ImportReport,
    common,
    import_paths,
    stream,
)
from understudy.replay.importers.common import json_line_error, load_json
from understudy.replay.importers.inspect_ai import InspectImporter
from understudy.replay.importers.stream import (
    MAX_DEPTH,
    is_single_line,
    iter_json_array,
    iter_json_members,
)
from understudy.trajectory import Session

DATA = Path(__file__).parent / "data" / "trajectories"


def _conversation(n: int) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": f"task {n}: list the files"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": f"c{n}", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": f"c{n}", "content": "a.txt\nb.txt"},
        {"role": "assistant", "content": f"two files ({n})"},
    ]


def _write(path: Path, value: Any, indent: int | None = 2) -> Path:
    path.write_text(json.dumps(value, indent=indent))
    return path


def _sessions(path: Path, **kwargs: Any) -> list[Session]:
    return [session for _, session in import_paths([path], **kwargs)]


# --------------------------------------------------------------------------- iter_json_array


def test_array_elements_stream_in_order(tmp_path: Path) -> None:
    values: list[Any] = [{"a": 1}, [1, 2.5], "x", None, True, 10**30]
    path = _write(tmp_path / "list.json", values)
    assert list(iter_json_array(path)) == list(enumerate(values))
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(values).encode())
    assert [value for _, value in iter_json_array(bom)] == values


def test_array_accepts_what_json_accepts(tmp_path: Path) -> None:
    # NaN and Infinity are written by Python's json; ijson refuses them, json reads them.
    path = tmp_path / "nan.json"
    path.write_text('[{"x": 1}, {"x": NaN}, {"x": Infinity}, {"x": 3}]')
    values = [value["x"] for _, value in iter_json_array(path)]
    assert values[0] == 1 and math.isnan(values[1]) and values[2] == math.inf and values[3] == 3


def test_truncated_array_delivers_entries_before_the_break(tmp_path: Path) -> None:
    text = json.dumps([_conversation(n) for n in range(3)], indent=1)
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) - 60])
    seen: list[int] = []
    with pytest.raises(LogFormatError, match=r"cut\.json:\d+: truncated") as caught:
        for index, _ in iter_json_array(path):
            seen.append(index)
    assert seen == [0, 1]
    last_line = text[: len(text) - 60].rstrip().count("\n") + 1
    assert f"cut.json:{last_line}: " in str(caught.value)


def test_invalid_array_gets_json_message_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"a": 1},\n  {"b": x}\n]\n')
    seen: list[Any] = []
    with pytest.raises(LogFormatError, match=r"bad\.json:3: invalid JSON: Expecting value"):
        seen.extend(iter_json_array(path))
    assert seen == [(0, {"a": 1})]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x00\x01garbage", "binary"), (b'{"a": [1]}', "expected a JSON list")],
    ids=["empty", "binary", "object"],
)
def test_array_refuses_what_is_not_a_list(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(LogFormatError, match=message):
        list(iter_json_array(path))


def test_nesting_deeper_than_the_limit_is_refused_cheaply(tmp_path: Path) -> None:
    # ijson keeps a path per open level: 100,000 levels would need ~25 GB. Refused at once.
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(LogFormatError, match=f"nested more than {MAX_DEPTH} levels"):
        list(iter_json_array(path))
    ok = tmp_path / "ok.json"
    ok.write_bytes(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert len(list(iter_json_array(ok))) == 1
    # Brackets inside strings are text, not nesting (escaped quotes included).
    text = tmp_path / "text.json"
    text.write_text(json.dumps(["[" * 5000 + '\\"' + "{" * 5000, {"k[": "]" * 10}]))
    assert len(list(iter_json_array(text))) == 2


def test_entry_larger_than_the_cap_is_refused_but_the_file_may_be_larger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "MAX_JSON_BYTES", 200_000)
    small = [_conversation(n) for n in range(2000)]  # ~0.5 MB: many entries, each small
    path = _write(tmp_path / "many.json", small)
    assert path.stat().st_size > 2 * common.MAX_JSON_BYTES
    assert sum(1 for _ in iter_json_array(path)) == 2000
    big = [_conversation(0), [{"role": "user", "content": "x" * 400_000}], _conversation(2)]
    path = _write(tmp_path / "big.json", big)
    seen: list[int] = []
    with pytest.raises(LogFormatError, match=r"big\.json:\d+: \[1\] is larger than the 200,000"):
        for index, _ in iter_json_array(path):
            seen.append(index)
    assert seen == [0]


def test_file_larger_than_the_cap_gets_streaming_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap the document is never read whole: ijson's own findings are reported."""
    monkeypatch.setattr(common, "MAX_JSON_BYTES", 50_000)
    text = json.dumps([_conversation(n) for n in range(400)], indent=1)
    cut = tmp_path / "cut.json"
    cut.write_text(text[:-100])
    with pytest.raises(LogFormatError, match=r"cut\.json:\d+: truncated"):
        list(iter_json_array(cut))
    bad = tmp_path / "bad.json"
    at = text.index('"tool_call_id": "c300"')  # outside any string
    bad.write_text(text[:at] + "}}}" + text[at:])
    seen = 0
    with pytest.raises(LogFormatError, match=r"bad\.json:\d+: invalid JSON in \[\d+\]"):
        for _ in iter_json_array(bad):
            seen += 1
    assert seen <= 300


def _peak_while_streaming(path: Path) -> int:
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_json_array(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count > 0
    return peak


def test_memory_stays_bounded_by_the_entries_not_the_file(tmp_path: Path) -> None:
    """Peak Python memory does not grow with the file (it is a few read buffers' worth of
    entries), where reading the document whole would take several times its size."""
    small = _write(tmp_path / "small.json", [_conversation(n) for n in range(1000)], None)
    large = _write(tmp_path / "large.json", [_conversation(n) for n in range(10_000)], None)
    assert large.stat().st_size > 3_000_000
    small_peak, large_peak = _peak_while_streaming(small), _peak_while_streaming(large)
    assert large_peak < 1.2 * small_peak, (small_peak, large_peak)
    assert large_peak < large.stat().st_size / 2


def test_a_list_on_one_line_imports_without_being_read_whole(tmp_path: Path) -> None:
    """A list written on one line (``json.dump`` without an indent) is imported entry by
    entry: telling its layout does not parse the line, which is the whole file."""
    small = _write(tmp_path / "small.json", [_conversation(n) for n in range(10)], None)
    assert sum(1 for _ in import_paths([small], fmt="openai", redact=False)) == 10  # loads code
    note = {"role": "user", "content": "more " * 500}
    conversations = [[*_conversation(n), note] for n in range(4000)]
    large = _write(tmp_path / "large.json", conversations, None)
    assert large.stat().st_size > 10_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in import_paths([large], fmt="openai", redact=False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 4000
    # A few reads and the ids seen; parsing the line whole took over 20 times the file.
    assert peak < large.stat().st_size / 3, peak


# --------------------------------------------------------------------------- iter_json_members


def test_members_stream_one_array_element_by_element(tmp_path: Path) -> None:
    document = {"version": 2, "eval": {"model": "m"}, "samples": [{"id": 1}, 7, []], "after": [1]}
    path = _write(tmp_path / "log.json", document)
    assert list(iter_json_members(path, "samples")) == [
        ("version", None, 2),
        ("eval", None, {"model": "m"}),
        ("samples", 0, {"id": 1}),
        ("samples", 1, 7),
        ("samples", 2, []),
        ("after", None, [1]),
    ]
    path = _write(tmp_path / "none.json", {"eval": {}, "samples": None})
    assert list(iter_json_members(path, "samples")) == [("eval", None, {}), ("samples", None, None)]
    path = tmp_path / "nan.json"
    path.write_text('{"eval": {"x": NaN}, "samples": [1, 2]}')
    assert [(k, i) for k, i, _ in iter_json_members(path, "samples")] == [
        ("eval", None),
        ("samples", 0),
        ("samples", 1),
    ]
    path.write_text('[{"eval": 1}]')
    with pytest.raises(LogFormatError, match="expected a JSON object"):
        list(iter_json_members(path, "samples"))


def test_is_single_line(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    for text, expected in [
        ("[1, 2]", True),
        ("\n\n  [1, 2]  \n\n", True),
        ("[1,\n 2]", False),
        ('{"a": 1}\n{"a": 2}\n', False),
    ]:
        path.write_text(text)
        assert is_single_line(path) is expected, text
    path.write_bytes(b"[" + b" " * (3 * 1024 * 1024) + b"]\n \n")  # longer than one read
    assert is_single_line(path)
    path.write_bytes(b"\xef\xbb\xbf\n\n[1, 2]\n")  # a BOM, then blank lines
    assert is_single_line(path)
    path.write_bytes(b"\xef\xbb\xbf[1]\n[2]\n")
    assert not is_single_line(path)


# --------------------------------------------------------------------------- the cap on whole reads


def test_single_session_document_over_the_cap_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = DATA / "swe-agent" / "sweagenttestrepo-1c2844.traj"
    path = tmp_path / sample.name
    shutil.copy(sample, path)
    monkeypatch.setattr(common, "MAX_JSON_BYTES", 1000)
    with pytest.raises(LogFormatError) as caught:
        _sessions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "more than the 1,000 bytes" in message
    with pytest.raises(LogFormatError, match="more than the 1,000 bytes"):
        load_json(path)
    monkeypatch.setattr(common, "MAX_JSON_BYTES", 256 * 1024 * 1024)
    assert len(_sessions(path)) == 1


def test_json_line_error_says_at_once(tmp_path: Path) -> None:
    error = json_line_error(tmp_path / "x.jsonl", 3, '{"a": "cut')
    assert "Unterminated string starting at column 7" in str(error)
    assert "at at" not in str(error)


# --------------------------------------------------------------------------- through the importers


@pytest.mark.parametrize("indent", [2, None], ids=["pretty", "one-line"])
def test_openai_list_of_conversations_streams_past_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, indent: int | None
) -> None:
    monkeypatch.setattr(common, "MAX_JSON_BYTES", 20_000)
    path = _write(tmp_path / "chats.json", [_conversation(n) for n in range(1000)], indent)
    assert path.stat().st_size > 10 * common.MAX_JSON_BYTES
    reports: dict[Path, ImportReport] = {}
    sessions = _sessions(path, reports=reports)
    assert [s.id for s in sessions] == [f"chats-{n}" for n in range(1000)]
    assert sessions[7].messages[-1].content == "two files (7)"
    assert reports[path].format == "openai" and reports[path].tool_calls == 1000
    # A list of messages is one conversation: read whole, so the cap applies to it.
    one = _write(tmp_path / "one.json", [m for n in range(200) for m in _conversation(n)], indent)
    with pytest.raises(LogFormatError, match=r"one\.json: .*more than the 20,000 bytes"):
        _sessions(one)


def test_openai_truncated_list_keeps_the_sessions_before_the_break(tmp_path: Path) -> None:
    text = json.dumps([_conversation(n) for n in range(5)], indent=2)
    path = tmp_path / "chats.json"
    path.write_text(text[: int(len(text) * 0.7)])
    seen: list[str] = []
    with pytest.raises(LogFormatError, match=r"chats\.json:\d+: truncated"):
        for _, session in import_paths([path]):
            seen.append(session.id)
    assert seen == ["chats-0", "chats-1", "chats-2"]
    # In a directory walk the break is reported on the file and the walk goes on.
    reports: dict[Path, ImportReport] = {}
    assert [s.id for s in _sessions(tmp_path, reports=reports)] == seen
    assert "truncated" in (reports[path].error or "")


def test_atif_list_of_trajectories_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.loads((DATA / "atif" / "fix-off-by-one.json").read_text())
    docs = [{**doc, "session_id": f"run-{n}"} for n in range(30)]
    path = _write(tmp_path / "runs.json", docs)
    monkeypatch.setattr(common, "MAX_JSON_BYTES", 10_000)
    assert path.stat().st_size > 10 * common.MAX_JSON_BYTES
    sessions = _sessions(path)
    assert [s.id for s in sessions] == [f"run-{n}" for n in range(30)]
    assert all(s.source.format == "atif" and len(s.messages) == 11 for s in sessions)
    bad = _write(tmp_path / "bad.json", [docs[0], {"steps": "nope"}])
    seen: list[str] = []
    with pytest.raises(LogFormatError, match=r"bad\.json: \[1\]\.steps"):
        for _, session in import_paths([bad], fmt="atif"):
            seen.append(session.id)
    assert seen == ["run-0"]


def _inspect_document() -> dict[str, Any]:
    with zipfile.ZipFile(DATA / "inspect" / "log_message_deduplication.eval") as archive:
        members = {name: json.loads(archive.read(name)) for name in archive.namelist()}
    sample = members["samples/0_epoch_1.json"]
    samples = [{**sample, "id": n} for n in range(3)]
    return {**members["header.json"], "samples": samples}


def test_inspect_json_streams_samples_whatever_the_member_order(tmp_path: Path) -> None:
    document = _inspect_document()
    usual = _write(tmp_path / "usual.json", document)
    samples_first = {"samples": document["samples"]} | {
        key: value for key, value in document.items() if key != "samples"
    }
    odd = _write(tmp_path / "odd.json", samples_first)
    first = _sessions(usual)
    # Detection looks at the start of a file, where inspect writes its header: a log written
    # in another order is named explicitly -- then the importer reads it in two passes.
    second = list(InspectImporter().load(odd, ImportReport()))
    assert [s.id.rsplit("_", 3)[1] for s in first] == ["0", "1", "2"]
    assert [s.model_dump(exclude={"source"}) for s in second] == [
        s.model_dump(exclude={"source"}) for s in first
    ]
    assert all(s.source.model == "hardcoded/hardcoded" for s in second)  # the header was used
    empty = _write(tmp_path / "empty.json", {**document, "samples": []})
    reports: dict[Path, ImportReport] = {}
    assert _sessions(empty, reports=reports) == []
    assert [i.message for i in reports[empty].issues] == ["the log holds no samples"]
    text = json.dumps(document, indent=1)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: int(len(text) * 0.8)])
    seen: list[str] = []
    with pytest.raises(LogFormatError, match=r"cut\.json:\d+: truncated"):
        for _, session in import_paths([cut]):
            seen.append(session.id)
    assert len(seen) == 2
    wrong = _write(tmp_path / "wrong.json", {**document, "samples": {"a": 1}})
    with pytest.raises(LogFormatError, match=r"wrong\.json: samples: expected a list"):
        _sessions(wrong, fmt="inspect")


def test_stream_module_reads_the_cap_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "x.json", [{"a": "y" * 200_000}])
    monkeypatch.setattr(common, "MAX_JSON_BYTES", 1000)
    with pytest.raises(LogFormatError, match=r"\[0\] is larger"):
        list(stream.iter_json_array(path))


# --------------------------------------------------------------------------- corruptions


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, list[dict[str, Any]]]]:
    """One document per streamed layout (OpenAI conversations, ATIF trajectories, inspect
    samples), with its sessions as imported intact (ids aside: they follow the file name)."""
    root = tmp_path_factory.mktemp("streamed")
    atif = json.loads((DATA / "atif" / "fix-off-by-one.json").read_text())
    documents = [
        _write(root / "chats.json", [_conversation(n) for n in range(6)]),
        _write(root / "runs.json", [{**atif, "session_id": f"run-{n}"} for n in range(3)]),
        _write(root / "log.json", _inspect_document()),
    ]
    return [(path, [_comparable(s) for s in _sessions(path)]) for path in documents]


def _comparable(session: Session) -> dict[str, Any]:
    return session.model_dump(exclude={"id", "source"})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, 2),
    kind=st.sampled_from(["truncate", "flip", "insert", "delete"]),
    where=st.floats(0, 1),
    data=st.binary(min_size=1, max_size=12),
)
def test_corrupted_streamed_documents_raise_only_log_format_errors(
    streamed: list[tuple[Path, list[dict[str, Any]]]],
    which: int,
    kind: str,
    where: float,
    data: bytes,
) -> None:
    """Whatever the damage, sessions or a LogFormatError naming the file -- never an importer
    crash; a cut keeps exactly the sessions before it, as the intact file has them."""
    source, intact = streamed[which]
    raw = source.read_bytes()
    at = int(where * len(raw))
    damaged = {
        "truncate": raw[:at],
        "flip": raw[:at] + data[:1] + raw[at + 1 :],
        "insert": raw[:at] + data + raw[at:],
        "delete": raw[:at] + raw[at + len(data) :],
    }[kind]
    path = source.with_name(f"damaged-{source.name}")
    path.write_bytes(damaged)
    seen: list[Session] = []
    try:
        for _, session in import_paths([path]):
            seen.append(session)
    except ImporterCrashError as exc:
        pytest.fail(f"importer crashed on a damaged streamed document: {exc}")
    except LogFormatError as exc:
        assert path.name in str(exc)
    if kind == "truncate":
        assert [_comparable(s) for s in seen] == intact[: len(seen)]
