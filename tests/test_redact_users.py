"""De-identification of user names: a name learned from a home directory goes everywhere.

``tests/data/redact/claude-code-home-user.jsonl`` is the real Claude Code log
``claude-code/hello-world-script.jsonl`` with a user ``alice`` written in: a shell prompt in
the first message, ``ls -la`` owner columns in a tool result, ``~alice`` and a bare ``alice``
in the last message; the only home-directory path is in the second tool call.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from understudy.replay.importers import ImportReport, import_paths, iter_log_files
from understudy.replay.redact import redact_session, redact_text
from understudy.trajectory import Message, Provenance, Session, SourceInfo, ToolCall

DATA = Path(__file__).parent / "data"
HOME_PATH = re.compile(r"(?:/home/|/Users/|[A-Za-z]:\\\\?Users\\\\?)([A-Za-z0-9][\w.\-]*\w)")


def _session(*contents: str) -> Session:
    return Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[Message(role="user", content=text) for text in contents],
    )


def _contents(session: Session) -> list[str]:
    return [message.content for message in session.messages]


def test_a_learned_name_is_replaced_everywhere_also_before_its_home_path() -> None:
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        task="alice asked for a fix",
        messages=[
            Message(role="user", content="alice@alices-mbp ~ % claude"),
            Message(
                role="assistant",
                tool_calls=[ToolCall(id="c1", name="sh", arguments={"cmd": "ls -la ~alice"})],
            ),
            Message(
                role="tool",
                tool_call_id="c1",
                content="drwxr-xr-x  5 alice  staff  160 Jan 21 .\n-rw-r--r--  1 Alice  staff",
                meta={"owner": "ALICE"},
            ),
            Message(role="assistant", content="cd /Users/alice/src; also /home/alice/x"),
        ],
    )
    redacted, counts = redact_session(session)
    assert redacted.task == "<USER_1> asked for a fix"
    assert _contents(redacted)[0] == "<USER_1>@alices-mbp ~ % claude"
    assert redacted.messages[1].tool_calls[0].arguments == {"cmd": "ls -la ~<USER_1>"}
    assert _contents(redacted)[2] == (
        "drwxr-xr-x  5 <USER_1>  staff  160 Jan 21 .\n-rw-r--r--  1 <USER_1>  staff"
    )
    assert redacted.messages[2].meta == {"owner": "<USER_1>"}
    assert _contents(redacted)[3] == "cd /Users/<USER_1>/src; also /home/<USER_1>/x"
    assert counts == Counter({"user": 8})


@pytest.mark.parametrize("name", ["assistant", "recorded", "tool"])
def test_a_user_named_like_a_role_or_provenance_leaves_those_fields_alone(name: str) -> None:
    """A role and a provenance are the schema's words, not the log's: a user whose name is
    one of them has it replaced in the text (the tool's name, here) but never in those fields,
    which must stay valid for the session to be read back."""
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[
            Message(role="system", content=f"you work in /home/{name}/project"),
            Message(role="assistant", name=name, tool_calls=[ToolCall(id="c1", name=name)]),
            Message(role="tool", tool_call_id="c1", name=name, provenance=Provenance.RECORDED),
        ],
    )
    redacted, counts = redact_session(session)
    assert [m.role for m in redacted.messages] == ["system", "assistant", "tool"]
    assert redacted.messages[2].provenance is Provenance.RECORDED
    assert [m.name for m in redacted.messages[1:]] == ["<USER_1>", "<USER_1>"]
    assert redacted.messages[1].tool_calls[0].name == "<USER_1>"
    assert counts == Counter({"user": 4})
    assert Session.model_validate_json(redacted.model_dump_json()) == redacted


def test_a_second_pass_numbers_after_placeholders_already_there() -> None:
    redacted, counts = redact_session(_session("<USER_1> was here; bob too", "/home/bob/x"))
    assert _contents(redacted) == ["<USER_1> was here; <USER_2> too", "/home/<USER_2>/x"]
    assert counts == Counter({"user": 2})


def test_only_whole_words_are_replaced() -> None:
    text = "malice aliceb alice_x x_alice alice2 /Users/alice alice.smith alice-laptop (alice)"
    out, counts = redact_text(text)
    assert out == (
        "malice aliceb alice_x x_alice alice2 /Users/<USER_1> <USER_1>.smith <USER_1>-laptop"
        " (<USER_1>)"
    )
    assert counts == Counter({"user": 4})


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # Generic account names are kept even in the path (as before).
        (
            ("the user said", "cd /home/user/project", "user@host"),
            ("the user said", "cd /home/user/project", "user@host"),
        ),
        (("runner up", "/home/runner/work"), ("runner up", "/home/runner/work")),
        # Short names and common words: replaced inside home paths only.
        (("pi = 3.14", "/home/pi/x"), ("pi = 3.14", "/home/<USER_1>/x")),
        (("max(a, b)", "/home/max/x"), ("max(a, b)", "/home/<USER_1>/x")),
        (("make dev", "/home/dev/x"), ("make dev", "/home/<USER_1>/x")),
        (("data = load()", "/Users/data/x"), ("data = load()", "/Users/<USER_1>/x")),
        (("git log", "/home/git/repos"), ("git log", "/home/<USER_1>/repos")),
        (("jenkins ci", "/home/jenkins/ws"), ("jenkins ci", "/home/<USER_1>/ws")),
        # A URL path is not a home directory, so nothing is learned from it.
        (("alice wrote", "https://example.com/home/alice"), None),
    ],
)
def test_generic_short_and_common_names_are_not_replaced_as_words(
    texts: tuple[str, ...], expected: tuple[str, ...] | None
) -> None:
    redacted, _ = redact_session(_session(*texts))
    assert tuple(_contents(redacted)) == (expected or texts)


def test_three_letter_initials_are_replaced() -> None:
    redacted, _ = redact_session(_session("bje pushed", "cd /home/bje/astroid"))
    assert _contents(redacted) == ["<USER_1> pushed", "cd /home/<USER_1>/astroid"]


def test_different_users_get_different_placeholders_and_windows_paths_teach_names() -> None:
    redacted, counts = redact_session(
        _session("carol and dave", "C:\\Users\\carol\\repo", "/home/dave", "Carol")
    )
    assert _contents(redacted) == [
        "<USER_1> and <USER_2>",
        "C:\\Users\\<USER_1>\\repo",
        "/home/<USER_2>",
        "<USER_1>",
    ]
    assert counts == Counter({"user": 5})


def test_a_real_claude_code_log_keeps_no_user_name() -> None:
    path = DATA / "redact" / "claude-code-home-user.jsonl"
    reports: dict[Path, ImportReport] = {}
    ((_, session),) = import_paths([path], reports=reports)
    dumped = session.model_dump_json()
    assert "alice" not in dumped.lower().replace("alices-mbp", "")
    assert "<USER_1>@alices-mbp ~ % claude" in dumped
    assert "drwxr-xr-x   4 <USER_1>  staff  128" in dumped
    assert "~<USER_1>/hello/hello.sh" in dumped
    assert reports[path].redactions["user"] >= 10


@pytest.mark.parametrize(
    "path",
    [path for path, _ in iter_log_files([DATA / "trajectories"]) if path.suffix != ".md"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_no_learned_name_survives_in_the_sample_logs(path: Path) -> None:
    raw = [session.model_dump_json() for _, session in import_paths([path], redact=False)]
    names = {m.group(1) for text in raw for m in HOME_PATH.finditer(text)}
    names = {name for name in names if len(name) > 2 and name.lower() not in {"user", "runner"}}
    redacted = "\n".join(session.model_dump_json() for _, session in import_paths([path]))
    for name in names:
        assert not re.search(rf"(?i)(?<![\w]){re.escape(name)}(?![\w])", redacted), name
