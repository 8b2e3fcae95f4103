"""``understudy serve-scripted`` and what it serves: script files, raw answers, built-in policies.

The command runs as a real process on 127.0.0.1; the real ``openai`` client and ``understudy
run`` talk to it, and it is stopped with SIGINT as Ctrl-C would."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import SchemaError
from understudy.jsonl import read_models, write_models
from understudy.replay.demo import DEMO_MODEL, TASKS, demo_sessions
from understudy.testing import (
    MALFORMED_REPLIES,
    ChatRequest,
    Fault,
    RawReply,
    ScriptedServer,
    ScriptedTurn,
    load_script,
)
from understudy.trajectory import Rollout

SCRIPT = """\
replies:
  - content: Let me look.
    tool_calls:
      - name: bash
        arguments: {command: ls}
  - fault: {status: 429, retry_after: 0.01}
  - raw: truncated-json
  - content: Done.
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(*options: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``understudy serve-scripted`` as a process: its base URL, and the process (which is
    stopped with SIGINT afterwards if the test has not stopped it)."""
    command = [sys.executable, "-m", "understudy", "serve-scripted", "--port", str(free_port())]
    process = subprocess.Popen(
        [*command, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the port is bound
        found = re.search(r"serving at (\S+)", first)
        assert found, first + process.stderr.read() if process.stderr else first
        yield found.group(1), process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C the server; its exit code and what it wrote on stderr."""
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr


def client(base_url: str, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=max_retries, timeout=10)


# -- the command -------------------------------------------------------------------------------


def test_a_script_file_is_served_in_order_until_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    with serving("--script", str(script), "--model", "my-model") as (base_url, process):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base_url)
        with client(base_url, max_retries=2) as api:
            assert [model.id for model in api.models.list()] == ["my-model"]
            first = api.chat.completions.create(model="my-model", messages=[])
            (call,) = first.choices[0].message.tool_calls or []
            assert call.type == "function"
            assert (call.function.name, json.loads(call.function.arguments)) == (
                "bash",
                {"command": "ls"},
            )
            # The 429 is retried; so is the cut-short answer, which the client cannot read.
            with pytest.raises(json.JSONDecodeError):
                api.chat.completions.create(model="my-model", messages=[])
            last = api.chat.completions.create(model="my-model", messages=[])
            assert last.choices[0].message.content == "Done."
            with pytest.raises(openai.InternalServerError, match="script is exhausted"):
                api.chat.completions.create(model="my-model", messages=[])
        code, stderr = stop(process)
    assert code == 0, stderr
    assert "stopped after 5 request(s)" in stderr
    assert "Traceback" not in stderr


@pytest.mark.docker
def test_understudy_run_against_the_served_demo_policy(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w") as handle:
        write_models(handle, demo_sessions(tmp_path / "repos")[:1])  # demo-calc
    with serving("--policy", "demo", "--model", DEMO_MODEL) as (base_url, process):
        with client(base_url) as api:
            probe = api.chat.completions.create(
                model=DEMO_MODEL,
                messages=[{"role": "user", "content": TASKS["calc"]}],
            )
            assert probe.choices[0].message.tool_calls
        command = ["run", str(sessions_file), "--model", DEMO_MODEL, "--base-url", base_url]
        output = tmp_path / "run"
        result = CliRunner().invoke(app, [*command, "-o", str(output), "--run-id", run_id])
        assert result.exit_code == 0, result.output
        code, stderr = stop(process)
    assert code == 0, stderr
    (rollout,) = read_models(output / "rollouts.jsonl", Rollout)
    assert rollout.status == "completed", rollout.error
    assert rollout.tool_stats == {"executed": 3}
    assert rollout.messages[-1].content == "Fixed add(); the tests pass."


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], "give either --script FILE or --policy NAME (demo, echo, finish)"),
        (["--policy", "finish", "--script", "s.yaml"], "give either --script FILE or --policy"),
    ],
)
def test_one_source_of_replies_is_required(options: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, ["serve-scripted", *options], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split())


def test_an_unknown_policy_lists_the_valid_names() -> None:
    result = CliRunner().invoke(app, ["serve-scripted", "--policy", "nope"])
    assert result.exit_code == 1
    assert "unknown policy 'nope'; valid names: demo, echo, finish" in result.output


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["serve-scripted", "--policy", "finish", "--port", str(port)]
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


# -- script files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("replies:\n  - fault: {status: 200}\n", "replies[0].fault.status: Input should be"),
        ("replies:\n  - content: hi\n    tool_calls: [{arguments: {}}]\n",
         "replies[0].tool_calls[0].name: required"),
        ("replies:\n  - content: hi\n    delay: 1\n", "replies[0].delay: Extra inputs"),
        ("replies:\n  - raw: garbage\n", "replies[0].raw: Value error, unknown malformed answer "
         "'garbage'; valid names: empty-choices, error-body"),
        ("replies:\n  - just text\n", "replies[0]: a reply is a mapping"),
        ("replies: []\n", "replies: List should have at least 1 item"),
        ("order: random\nreplies: [{content: hi}]\n", "order: Input should be 'requests'"),
        ("replies: [{content: hi}\n", "line 2, column 1: not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_script_names_the_file_and_the_field(tmp_path: Path, text: str, problem: str) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(text)
    result = CliRunner().invoke(
        app, ["serve-scripted", "--script", str(script)], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 1
    assert f"{script}: {problem}" in " ".join(result.output.split())


def test_a_json_script_and_every_problem_at_once(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    replies = [{"content": "ok"}, {"fault": {"status": 99}}, {"raw": {"status": 200}}]
    script.write_text(json.dumps(replies))
    with pytest.raises(SchemaError) as caught:
        load_script(script)
    assert caught.value.problems == [
        f"{script}: replies[1].fault.status: Input should be greater than or equal to 400",
        f"{script}: replies[2].raw.body: required",
    ]
    script.write_text(json.dumps({"replies": replies[:1]}))
    assert load_script(script) == [ScriptedTurn(content="ok")]


def test_turns_order_plays_the_same_replies_to_every_conversation(tmp_path: Path) -> None:
    script = tmp_path / "turns.yaml"
    script.write_text(
        "order: turns\nreplies:\n"
        '  - {content: Looking., tool_calls: [{name: bash, arguments: \'{"command": "ls"}\'}]}\n'
        "  - {content: Done.}\n"
    )
    policy = load_script(script)
    assert callable(policy)

    def answer(*roles: str) -> object:
        messages = [{"role": role, "content": "x"} for role in roles]
        return policy(ChatRequest(index=0, body={"messages": messages}))

    looking = ScriptedTurn(content="Looking.", tool_calls=[("bash", '{"command": "ls"}')])
    assert answer("system", "user") == looking
    assert answer("user", "assistant", "tool") == ScriptedTurn(content="Done.")
    assert answer("user", "assistant", "tool", "assistant", "user") == looking  # a new user turn
    assert answer("user", *["assistant", "tool"] * 5) == ScriptedTurn(content="Done.")


# -- the server itself -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["html-page", "truncated-json"])
def test_a_raw_answer_is_sent_byte_for_byte(shape: str) -> None:
    raw = MALFORMED_REPLIES[shape]
    with ScriptedServer([raw, RawReply(status=503, body="busy", content_type="text/plain")]) as s:
        for expected in (raw, RawReply(status=503, body="busy", content_type="text/plain")):
            request = urllib.request.Request(
                s.base_url + "/chat/completions", data=b"{}", method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    status, headers, body = response.status, response.headers, response.read()
            except urllib.error.HTTPError as error:
                status, headers, body = error.code, error.headers, error.read()
            assert (status, headers["Content-Type"], body) == (
                expected.status,
                expected.content_type,
                expected.body.encode(),
            )


def test_a_server_that_keeps_no_requests_still_counts_them() -> None:
    with ScriptedServer(lambda r: ScriptedTurn(content="ok"), keep_requests=False) as server:
        with client(server.base_url) as api:
            for _ in range(3):
                api.chat.completions.create(model="m", messages=[])
        assert (server.received, server.requests) == (3, [])


@pytest.mark.parametrize(("policy", "answer"), [("finish", "done"), ("echo", "repeat after me")])
def test_the_small_policies_answer_without_tool_calls(policy: str, answer: str) -> None:
    from understudy.cli_serve import POLICIES

    with ScriptedServer(POLICIES.get(policy)) as server, client(server.base_url) as api:
        reply = api.chat.completions.create(
            model="m",
            messages=[
                {"role": "user", "content": "repeat after me"},
                {"role": "assistant", "content": "ok"},
                {"role": "tool", "tool_call_id": "c", "content": "out"},
            ],
        )
    assert reply.choices[0].message.content == answer
    assert reply.choices[0].message.tool_calls is None


def test_a_policy_may_answer_with_a_fault_or_a_raw_reply() -> None:
    answers = iter([Fault.server_error(), MALFORMED_REPLIES["not-json"]])
    with ScriptedServer(lambda request: next(answers)) as server, client(server.base_url) as api:
        with pytest.raises(openai.InternalServerError):
            api.chat.completions.create(model="m", messages=[])
        with pytest.raises(json.JSONDecodeError):
            api.chat.completions.create(model="m", messages=[])
        assert server.errors == []
