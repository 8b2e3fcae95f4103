"""De-identification: what is redacted, what is kept, and that placeholders stay consistent."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from understudy.replay.redact import KINDS, redact_session, redact_text
from understudy.trajectory import (
    EnvSpec,
    Message,
    RepoSpec,
    Session,
    SourceInfo,
    ToolCall,
    ToolSpec,
)

OPENAI_KEY = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34"
ANTHROPIC_KEY = "sk-ant-api03-" + "x1Y2z3" * 8
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5" * 4
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def _one(text: str) -> tuple[str, dict[str, int]]:
    out, counts = redact_text(text)
    return out, dict(counts)


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        (f"key {OPENAI_KEY} here", "key <API_KEY_1> here", "api_key"),
        (
            f"export ANTHROPIC_API_KEY={ANTHROPIC_KEY}",
            "export ANTHROPIC_API_KEY=<API_KEY_1>",
            "api_key",
        ),
        (
            f"git clone https://{GITHUB_TOKEN}@github.com/o/r",
            "git clone https://<API_KEY_1>@github.com/o/r",
            "api_key",
        ),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "<API_KEY_1>", "api_key"),
        ("SLACK=xoxb-1234567890-0987654321-AbCdEfGh", "SLACK=<API_KEY_1>", "api_key"),
        ("aws AKIAIOSFODNN7EXAMPLE id", "aws <API_KEY_1> id", "api_key"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = <API_KEY_1>",
            "api_key",
        ),
        ("maps AIzaSyD-1234567890abcdefghijklmnopqrstu", "maps <API_KEY_1>", "api_key"),
        ("hf_abcdefghijklmnopqrstuvwxyz0123456789", "<API_KEY_1>", "api_key"),
        (f"token {JWT}", "token <JWT_1>", "jwt"),
        (
            "curl -H 'Authorization: Bearer abc123def456ghi789'",
            "curl -H 'Authorization: Bearer <TOKEN_1>'",
            "token",
        ),
        ("Authorization: token 0123456789abcdef0123", "Authorization: token <TOKEN_1>", "token"),
        ("DB_PASSWORD=s3cretPassw0rd", "DB_PASSWORD=<SECRET_1>", "secret"),
        ('{"client_secret": "abc123xyz789"}', '{"client_secret": "<SECRET_1>"}', "secret"),
        ("password='hunter22hunter'", "password='<SECRET_1>'", "secret"),
        ("mail alice.smith+ci@corp.co.uk now", "mail <EMAIL_1> now", "email"),
        ("cd /home/alice/src", "cd /home/<USER_1>/src", "user"),
        ("open /Users/bob/Library", "open /Users/<USER_1>/Library", "user"),
        ("C:\\Users\\carol\\repo", "C:\\Users\\<USER_1>\\repo", "user"),
        ('"C:\\\\Users\\\\carol\\\\repo"', '"C:\\\\Users\\\\<USER_1>\\\\repo"', "user"),
        ("ssh to 203.0.113.7:22", "ssh to <IP_1>:22", "ip"),
        ("docker at 172.17.0.2.", "docker at <IP_1>.", "ip"),
        ("ipv6 2001:db8:85a3::8a2e:370:7334 up", "ipv6 <IP_1> up", "ip"),
        ("link fe80::1ff:fe23:4567:890a%eth0", "link <IP_1>%eth0", "ip"),
    ],
)
def test_each_kind_is_redacted(text: str, expected: str, kind: str) -> None:
    out, counts = _one(text)
    assert out == expected
    assert counts == {kind: 1}


PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4\nq2b9k+Zt/Qf==\n"
    "-----END RSA PRIVATE KEY-----"
)


def test_private_key_blocks_whole_cut_and_escaped() -> None:
    assert _one(f"key:\n{PRIVATE_KEY}\nafter") == (
        "key:\n<PRIVATE_KEY_1>\nafter",
        {"private_key": 1},
    )
    cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\nAAAABG5vbmU"
    assert _one(cut)[0] == "<PRIVATE_KEY_1>"
    escaped = PRIVATE_KEY.replace("\n", "\\n")  # inside a JSON string seen raw
    assert _one(f'"{escaped}"')[0] == '"<PRIVATE_KEY_1>"'


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "pip install requests==2.31.0.1 numpy>=1.26.4.0",
        "version 1.2.3.4 and v10.0.0.1 and pkg-4.1.0.2 and pkg_1.2.3.4",
        "oid 1.3.6.1.4.1.311 and 999.10.10.10 and 01.02.03.04",
        "localhost 127.0.0.1, any 0.0.0.0, ::1 and :: and a[::2]",
        "std::vector<int> and crate::module::item and 12:34:56.789",
        "git@github.com:owner/repo.git noreply@anthropic.com user@example.com icon@2x.png",
        "/home/user/project /home/ubuntu/x /Users/Shared/y /home/runner/work C:\\Users\\Public",
        "https://example.com/home/about and https://api.github.com/users/alice",
        "task-management sk-learn tokenizer = AutoTokenizer.from_pretrained('bert-base')",
        "API_KEY = os.environ['API_KEY']; token = get_token(); password = self.password",
        "max_tokens: 4096, TOKENIZERS_PARALLELISM=false, Bearer authentication",
        '{"token": "abcdefgh", "password": "<redacted>", "api_key": "$OPENAI_API_KEY"}',
        "base64 iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg",
    ],
)
def test_false_positives_are_avoided(text: str) -> None:
    assert _one(text) == (text, {})


def test_same_value_same_placeholder_across_the_session() -> None:
    session = Session(
        id="s1",
        source=SourceInfo(format="openai", path="/home/alice/logs/chat.json"),
        task=f"use {OPENAI_KEY} as alice@corp.com",
        env=EnvSpec(
            workdir="/home/alice/repo",
            env={"OPENAI_API_KEY": OPENAI_KEY},
            repo=RepoSpec(url="git@github.com:acme/app.git"),
        ),
        tools=[ToolSpec(name="sh", description="runs in /home/alice")],
        messages=[
            Message(role="user", content=f"key {OPENAI_KEY}, mail bob@corp.com, alice@corp.com"),
            Message(
                role="assistant",
                reasoning="alice@corp.com asked",
                tool_calls=[
                    ToolCall(
                        id="c1",
                        name="sh",
                        arguments={"cmd": f"echo {OPENAI_KEY}", "nested": [{"to": "bob@corp.com"}]},
                    )
                ],
            ),
            Message(role="tool", tool_call_id="c1", content=OPENAI_KEY, meta={"ip": "10.1.2.3"}),
        ],
        meta={"owner": "alice@corp.com", "host": "10.1.2.3"},
    )
    redacted, counts = redact_session(session)
    assert redacted.task == "use <API_KEY_1> as <EMAIL_1>"
    assert redacted.messages[0].content == "key <API_KEY_1>, mail <EMAIL_2>, <EMAIL_1>"
    assert redacted.messages[1].reasoning == "<EMAIL_1> asked"
    args = redacted.messages[1].tool_calls[0].arguments
    assert args == {"cmd": "echo <API_KEY_1>", "nested": [{"to": "<EMAIL_2>"}]}
    assert redacted.messages[2].content == "<API_KEY_1>"
    assert redacted.messages[2].meta == {"ip": "<IP_1>"} and redacted.meta["host"] == "<IP_1>"
    assert redacted.env.workdir == "/home/<USER_1>/repo"
    assert redacted.env.env == {"OPENAI_API_KEY": "<API_KEY_1>"}  # keys are kept
    assert redacted.env.repo == RepoSpec(url="git@github.com:acme/app.git")
    assert redacted.source.path == "/home/<USER_1>/logs/chat.json"
    assert redacted.tools[0].description == "runs in /home/<USER_1>"
    assert redacted.messages[2].tool_call_id == "c1"
    assert counts == Counter({"api_key": 5, "email": 6, "user": 3, "ip": 2})
    # The input is untouched, and secrets appear nowhere in the output.
    assert session.messages[0].content.startswith(f"key {OPENAI_KEY}")
    dumped = redacted.model_dump_json()
    for secret in (OPENAI_KEY, "alice@corp.com", "bob@corp.com", "/home/alice", "10.1.2.3"):
        assert secret not in dumped


def test_numbering_is_per_session_and_skips_existing_placeholders() -> None:
    def session(text: str) -> Session:
        return Session(
            id="s",
            source=SourceInfo(format="native"),
            messages=[Message(role="user", content=text)],
        )

    first, _ = redact_session(session("a@corp.com b@corp.com"))
    second, _ = redact_session(session("b@corp.com"))
    assert first.messages[0].content == "<EMAIL_1> <EMAIL_2>"
    assert second.messages[0].content == "<EMAIL_1>"
    mixed, counts = redact_session(session("<EMAIL_1> was redacted; c@corp.com was not"))
    assert mixed.messages[0].content == "<EMAIL_1> was redacted; <EMAIL_2> was not"
    assert counts == Counter({"email": 1})


def test_unchanged_sessions_are_returned_as_is() -> None:
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[Message(role="user", content="nothing to hide here at all")],
    )
    redacted, counts = redact_session(session)
    assert redacted is session and not counts


def test_counts_only_name_kinds() -> None:
    _, counts = redact_text(f"{OPENAI_KEY} {JWT} a@corp.com /home/zed 8.8.8.8 {PRIVATE_KEY}")
    assert set(counts) <= set(KINDS)
    assert all(isinstance(n, int) for n in counts.values())


_fragments = st.sampled_from(
    [
        OPENAI_KEY,
        GITHUB_TOKEN,
        JWT,
        "alice@corp.com",
        "/home/alice/x",
        "C:\\Users\\bob\\y",
        "192.168.1.20",
        "2001:db8::7",
        "DB_PASSWORD=abc12345xyz",
        '"token": "zz99zz99zz"',
        "Bearer qwerty123456789",
        "1.2.3.4",
        "v2.0.0.1",
        "10.0.2.15.48750 > 93.184.216.34.443:",
        "postgres://bob:s3cret@db.corp.io/app",
        "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "drwxr-x--- 2 alice staff",
        "~alice",
        "::",
        " ",
        "\n",
        "<EMAIL_1>",
        "=",
        ":",
        "/",
        "@",
        ".",
    ]
)
_texts = st.lists(st.one_of(_fragments, st.text(max_size=12)), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_texts)
def test_redaction_is_idempotent_and_never_raises(text: str) -> None:
    once, _ = redact_text(text)
    twice, counts = redact_text(once)
    assert twice == once
    assert not counts


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_fragments, min_size=1, max_size=8), seps=st.sampled_from([" ", "\n", ", "]))
def test_known_secrets_never_survive(parts: list[str], seps: str) -> None:
    out, _ = redact_text(seps.join(parts))
    for secret in (OPENAI_KEY, GITHUB_TOKEN, JWT, "alice@corp.com", "192.168.1.20", "abc12345xyz"):
        assert secret not in out
    for secret in ("s3cret", "93.184.216.34", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"):
        assert secret not in out
    if "/home/alice" in seps.join(parts):  # a learned name goes everywhere
        assert "alice" not in out.replace("alice@corp.com", "")
    assert "/home/alice" not in out and "\\Users\\bob" not in out
