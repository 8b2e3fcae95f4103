"""Endpoint faults end in a CandidateError, never in another exception: HTTP 200 answers that
are not chat completions are retried like a 5xx, and a run that meets them, a dead endpoint or
a hung one keeps going with those rollouts in ``error``.

The real openai client talks to the scripted server (or to a bare socket) on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_candidate import candidate_for
from test_candidate import no_ambient_openai_settings as no_ambient_openai_settings  # autouse
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import CandidateError
from understudy.jsonl import read_models, write_models
from understudy.replay.candidate import CandidateEndpointError, OpenAICandidate
from understudy.replay.rundir import RunDir
from understudy.replay.runner import CandidateFactory, RunSettings, run_to_dir
from understudy.testing import (
    MALFORMED_REPLIES,
    ChatRequest,
    Fault,
    RawReply,
    ScriptedServer,
    ScriptedTurn,
)
from understudy.trajectory import EnvSpec, Message, Rollout, Session, SourceInfo

SHAPES = sorted(MALFORMED_REPLIES)

# What the error says about each shape (never what the body held).
REASONS = {
    "html-page": "the body is not JSON",
    "not-json": "the body is not JSON",
    "truncated-json": "the body is not JSON: Unterminated string",
    "null-message": "choice 0 has no message",
    "no-choices": "the body has no choices",
    "empty-choices": "the body has no choices",
    "error-body": "the body is an error, not a completion: server_error: upstream overloaded",
}


def user(text: str) -> list[Message]:
    return [Message(role="user", content=text)]


def test_every_shape_has_a_reason() -> None:
    assert set(REASONS) == set(MALFORMED_REPLIES)


# -- one candidate call ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_malformed_answer_is_retried_and_the_next_good_one_is_used(shape: str) -> None:
    script = [MALFORMED_REPLIES[shape], ScriptedTurn(content="recovered")]
    with ScriptedServer(script) as server:
        async with candidate_for(server, max_retries=2) as candidate:
            reply = await candidate.complete(user("hi"), [])
        assert [request.retry_count for request in server.requests] == [0, 1]
    assert reply.message.content == "recovered"
    assert reply.attempts == 2


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_malformed_answer_that_persists_is_a_candidate_error(shape: str) -> None:
    secret = "PAYLOAD-7c9e"
    with ScriptedServer(lambda request: MALFORMED_REPLIES[shape]) as server:
        async with candidate_for(server, max_retries=1) as candidate:
            with pytest.raises(CandidateError) as caught:
                await candidate.complete(user(secret), [])
        assert len(server.requests) == 2
    error = caught.value
    assert isinstance(error, CandidateEndpointError)
    assert error.status_code == 200
    assert error.attempts == 2
    assert f"candidate endpoint failed (HTTP 200, 2 attempts): {REASONS[shape]}" in str(error)
    assert secret not in str(error)
    assert "Upstream unavailable" not in str(error)  # nothing of the body but an error message


async def test_malformed_answers_back_off_like_server_errors() -> None:
    """The client's exponential back-off without Retry-After: 0.5 s, then 1 s, less <= 25%."""
    with ScriptedServer(lambda request: MALFORMED_REPLIES["null-message"]) as server:
        async with candidate_for(server, max_retries=2) as candidate:
            started = time.monotonic()
            with pytest.raises(CandidateEndpointError):
                await candidate.complete(user("hi"), [])
            elapsed = time.monotonic() - started
        assert len(server.requests) == 3
    assert 0.375 + 0.75 <= elapsed < 5


async def test_malformed_answers_and_server_errors_share_one_retry_budget() -> None:
    garbage, good = MALFORMED_REPLIES["not-json"], ScriptedTurn(content="ok")
    script = [Fault.server_error(), garbage, good]
    with ScriptedServer(script) as server:
        async with candidate_for(server, max_retries=2) as candidate:
            reply = await candidate.complete(user("hi"), [])
        assert [request.retry_count for request in server.requests] == [0, 1, 2]
    assert (reply.attempts, reply.message.content) == (3, "ok")

    with ScriptedServer([Fault.server_error(), garbage, garbage, good]) as server:
        async with candidate_for(server, max_retries=2) as candidate:
            with pytest.raises(CandidateEndpointError) as caught:
                await candidate.complete(user("hi"), [])
        assert server.remaining == 1  # the good reply was never asked for
    assert (caught.value.status_code, caught.value.attempts) == (200, 3)


async def test_a_bad_status_with_a_body_that_is_not_json_is_still_an_http_error() -> None:
    script = [RawReply(status=502, body="<html>bad gateway</html>", content_type="text/html")]
    with ScriptedServer(script) as server:
        async with candidate_for(server, max_retries=0) as candidate:
            with pytest.raises(CandidateEndpointError) as caught:
                await candidate.complete(user("hi"), [])
    assert caught.value.status_code == 502


async def test_a_hung_endpoint_times_out_within_the_set_bounds() -> None:
    with hung_endpoint() as base_url:
        candidate = OpenAICandidate("m", base_url=base_url, timeout_s=0.3, max_retries=1)
        started = time.monotonic()
        try:
            with pytest.raises(CandidateEndpointError) as caught:
                await candidate.complete(user("hi"), [])
        finally:
            await candidate.close()
    assert time.monotonic() - started < 3
    assert (caught.value.status_code, caught.value.attempts) == (None, 2)
    assert "no answer within 0.3 s" in str(caught.value)


# -- endpoints without a scripted server -------------------------------------------------------


@contextmanager
def hung_endpoint() -> Iterator[str]:
    """A base URL whose port accepts connections (the kernel's backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"


def dead_endpoint() -> str:
    """A base URL whose port nothing listens on (bound, then freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# -- whole runs --------------------------------------------------------------------------------


def text_session(session_id: str, text: str) -> Session:
    """A session without a repository: the candidate only answers ``text``."""
    return Session(
        id=session_id,
        source=SourceInfo(format="native"),
        env=EnvSpec(),
        messages=[Message(role="user", content=text)],
    )


def garbage_for_some(request: ChatRequest) -> ScriptedTurn | RawReply:
    """A good answer to "good"; the malformed answer named by the user message otherwise."""
    text = str(request.messages[-1]["content"])
    if text == "good":
        return ScriptedTurn(content="fine")
    return MALFORMED_REPLIES[text]


@pytest.mark.docker
async def test_a_run_meeting_malformed_answers_keeps_going_with_those_rollouts_in_error(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = [text_session(f"s-{shape}", shape) for shape in SHAPES]
    sessions.insert(len(sessions) // 2, text_session("s-good", "good"))
    with ScriptedServer(garbage_for_some) as server:
        candidate = OpenAICandidate("cand-1", base_url=server.base_url, max_retries=1)
        candidate_for: CandidateFactory = lambda session: candidate  # noqa: E731
        settings = RunSettings(run_id=run_id, sandboxes=4)
        summary = await run_to_dir(sessions, settings, candidate_for, RunDir(tmp_path / "run"))
        await candidate.close()
    written = {r.session_id: r for r in read_models(tmp_path / "run" / "rollouts.jsonl", Rollout)}
    assert set(written) == {session.id for session in sessions}
    good = written.pop("s-good")
    assert (good.status, good.messages[-1].content) == ("completed", "fine")
    outcomes = {
        shape: (written[f"s-{shape}"].status, written[f"s-{shape}"].error_kind) for shape in SHAPES
    }
    assert outcomes == {shape: ("error", "candidate") for shape in SHAPES}
    said = "CandidateEndpointError: candidate endpoint failed (HTTP 200, 2 attempts): "
    errors = {shape: written[f"s-{shape}"].error or "" for shape in SHAPES}
    assert [s for s in SHAPES if not errors[s].startswith(said + REASONS[s])] == [], errors
    assert summary["status"] == {"completed": 1, "error": len(SHAPES)}


def run_command(tmp_path: Path, base_url: str, run_id: str, *options: str) -> list[str]:
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w") as handle:
        write_models(handle, [text_session("a", "hello"), text_session("b", "hello")])
    return [
        "run", str(sessions_file), "--model", "m", "--base-url", base_url,
        "-o", str(tmp_path / "run"), "--run-id", run_id, *options,
    ]  # fmt: skip


def errored_run(tmp_path: Path, base_url: str, run_id: str, *options: str) -> list[Rollout]:
    """Run two sessions through ``understudy run``; both rollouts must end in error."""
    result = CliRunner().invoke(app, run_command(tmp_path, base_url, run_id, *options))
    # Errored rollouts make the run exit non-zero, but nothing else may escape.
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code != 0
    rollouts = list(read_models(tmp_path / "run" / "rollouts.jsonl", Rollout))
    assert [(r.status, r.error_kind) for r in rollouts] == [("error", "candidate")] * 2
    return rollouts


@pytest.mark.docker
def test_a_hung_endpoint_ends_each_rollout_in_error_within_the_request_timeout(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    options = ("--request-timeout", "1", "--max-retries", "1")
    with hung_endpoint() as base_url:
        started = time.monotonic()
        rollouts = errored_run(tmp_path, base_url, run_id, *options)
        elapsed = time.monotonic() - started
    # Two attempts of 1 s and one back-off of at most 0.5 s per rollout, both at once; plus
    # starting the sandboxes.
    assert elapsed < 20
    for rollout in rollouts:
        assert "no answer within 1 s" in (rollout.error or "")
        assert "2 attempts" in (rollout.error or "")
    candidate = json.loads((tmp_path / "run" / "run.json").read_text())["config"]["candidate"]
    assert candidate == {
        "model": "m",
        "base_url": base_url,
        "request_timeout_s": 1.0,
        "max_retries": 1,
    }


@pytest.mark.docker
def test_a_dead_endpoint_ends_each_rollout_in_error(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    base_url = dead_endpoint()
    started = time.monotonic()
    rollouts = errored_run(tmp_path, base_url, run_id, "--max-retries", "1")
    assert time.monotonic() - started < 20
    for rollout in rollouts:
        assert f"cannot reach {base_url}" in (rollout.error or "")


def test_run_help_gives_the_request_timeout_and_retries_with_their_defaults() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    defaults = dict(
        re.findall(r"(--request-timeout|--max-retries) <[^>]*>.*?\[default: (\S+)\]", text)
    )
    assert defaults == {"--request-timeout": "120.0", "--max-retries": "3"}
