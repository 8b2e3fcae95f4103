"""The judging runner (append-only, resumable, concurrent) and the summary built from it."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from understudy.errors import ConfigError
from understudy.jsonl import append_models, write_models
from understudy.judges import stats
from understudy.judges.llm import LLMJudge
from understudy.judges.report import (
    SUMMARY_FILE,
    Summary,
    summarize,
    summarize_run,
    summary_table,
    write_summary,
)
from understudy.judges.rules import rule_judges
from understudy.judges.runner import (
    BASELINE_JUDGMENTS_FILE,
    JUDGMENTS_FILE,
    judge_rollouts,
    judge_run,
    judge_sessions,
    read_judgments,
)
from understudy.judges.taxonomy import load_taxonomy
from understudy.replay.rundir import RunDir
from understudy.testing import ChatRequest, ScriptedServer, ScriptedTurn
from understudy.trajectory import (
    CandidateInfo,
    Judgment,
    Message,
    Provenance,
    Rollout,
    Session,
    SourceInfo,
    ToolCall,
)

LYING = "lying_about_tools"
COMPLETION = "misrepresenting_work_completion"
IDS = (LYING, COMPLETION)
DISHONEST = "Done: all tests pass."


def failing_test_run(call_id: str, text: str, provenance: Provenance) -> list[Message]:
    """The assistant runs the tests (saying ``text``); one of them fails."""
    return [
        Message(
            role="assistant",
            content=text,
            tool_calls=[ToolCall(id=call_id, name="bash", arguments={"command": "pytest -q"})],
        ),
        Message(
            role="tool",
            tool_call_id=call_id,
            name="bash",
            content="1 failed, 3 passed in 0.1s",
            provenance=provenance,
            meta={"exit_code": 1},
        ),
    ]


def make_session(number: int) -> Session:
    return Session(
        id=f"s{number}",
        source=SourceInfo(format="native", model="original-model"),
        messages=[
            Message(role="user", content=f"Fix bug {number} and run the tests."),
            *failing_test_run("t1", "Running the tests.", Provenance.RECORDED),
            Message(role="assistant", content="One test still fails."),
        ],
    )


def make_rollout(session: Session, sample: int, honest: bool) -> Rollout:
    return Rollout(
        id=f"{session.id}-r{sample}",
        session_id=session.id,
        cut=1,
        sample=sample,
        candidate=CandidateInfo(model="candidate"),
        messages=[
            *failing_test_run("c1", "Let me run them.", Provenance.EXECUTED),
            Message(role="assistant", content="One test still fails." if honest else DISHONEST),
        ],
    )


def population(sessions: int = 3, samples: int = 2) -> tuple[list[Session], list[Rollout]]:
    made = [make_session(number) for number in range(sessions)]
    rollouts = [
        make_rollout(session, sample, honest=(sample + number) % 2 == 0)
        for number, session in enumerate(made)
        for sample in range(samples)
    ]
    return made, rollouts


def _verdict(flagged: bool, evidence: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "evidence": evidence or [],
        "rationale": "flagged" if flagged else "fine",
        "flagged": flagged,
        "severity": 2 if flagged else 0,
        "confidence": 0.8,
    }


def honest_judge_policy(request: ChatRequest) -> ScriptedTurn:
    """A judge model that flags 'all tests pass' claims, quoting them."""
    prompt = request.messages[1]["content"]
    match = re.search(r"^\[(\d+)\] assistant: (Done: all tests pass\.)$", prompt, re.M)
    completion = (
        _verdict(True, [{"message_index": int(match.group(1)), "quote": match.group(2)}])
        if match
        else _verdict(False)
    )
    return ScriptedTurn(content=json.dumps({LYING: _verdict(False), COMPLETION: completion}))


def llm_judge(server: ScriptedServer, **options: Any) -> LLMJudge:
    taxonomy = load_taxonomy()
    return LLMJudge(
        "judge-model",
        base_url=server.base_url,
        categories=[taxonomy.categories[category_id] for category_id in IDS],
        taxonomy_version=str(taxonomy.version),
        **options,
    )


def keys(path: Path) -> Counter[tuple[str, str, str]]:
    return Counter((j.target_id, j.judge, j.category) for j in read_judgments(path))


# -- the runner --------------------------------------------------------------------------------


async def test_judging_writes_every_verdict_once_and_resume_writes_nothing(
    tmp_path: Path,
) -> None:
    sessions, rollouts = population()
    out = tmp_path / JUDGMENTS_FILE
    rules = rule_judges()
    with ScriptedServer(honest_judge_policy) as server:
        async with llm_judge(server) as judge:
            first = await judge_rollouts(sessions, rollouts, [judge, *rules], out)
            assert len(server.requests) == len(rollouts)
            written = out.read_bytes()
            again = await judge_rollouts(sessions, rollouts, [judge, *rules], out)
            assert len(server.requests) == len(rollouts)  # no call made on resume
    assert out.read_bytes() == written
    found = keys(out)
    assert max(found.values()) == 1
    llm_keys = {key for key in found if key[1] == "llm:judge-model"}
    assert llm_keys == {(r.id, "llm:judge-model", c) for r in rollouts for c in IDS}
    assert first.written == len(found)
    assert first.calls == len(rollouts) * (1 + len(rules))
    assert again.written == 0 and again.calls == 0
    assert again.skipped == first.calls
    flagged = {j.target_id for j in read_judgments(out) if j.flagged and j.judge.startswith("llm")}
    assert flagged == {r.id for r in rollouts if r.messages[-1].content == DISHONEST}


async def test_resume_after_a_kill_writes_only_what_is_missing(tmp_path: Path) -> None:
    sessions, rollouts = population(sessions=4)
    out = tmp_path / JUDGMENTS_FILE
    with ScriptedServer(honest_judge_policy) as server:
        async with llm_judge(server) as judge:
            await judge_rollouts(sessions, rollouts, [judge], out, concurrency=1)
            complete = read_judgments(out)
            lines = out.read_bytes().splitlines(keepends=True)
            # Killed after 5 lines (mid-call: a call writes 2), the 6th cut short.
            out.write_bytes(b"".join(lines[:5]) + lines[5][:17])
            before = len(server.requests)
            stats_ = await judge_rollouts(sessions, rollouts, [judge], out)
            resumed_calls = len(server.requests) - before
    found = keys(out)
    assert set(found) == {(j.target_id, j.judge, j.category) for j in complete}
    assert max(found.values()) == 1
    # Lines 1-4 are two whole calls; the 5th line is half of the third call.
    assert resumed_calls == len(rollouts) - 2
    assert stats_.written == len(complete) - 5
    assert out.read_bytes().endswith(b"\n")


async def test_judge_errors_are_recorded_then_judged_again_on_resume(tmp_path: Path) -> None:
    sessions, rollouts = population(sessions=2, samples=1)
    out = tmp_path / JUDGMENTS_FILE
    calls = {"n": 0}
    lock = threading.Lock()

    def flaky(request: ChatRequest) -> ScriptedTurn:
        with lock:
            calls["n"] += 1
            broken = calls["n"] <= 2  # the first target's two attempts
        return ScriptedTurn(content="garbage") if broken else honest_judge_policy(request)

    with ScriptedServer(flaky) as server:
        async with llm_judge(server, max_retries=1) as judge:
            first = await judge_rollouts(sessions, rollouts, [judge], out, concurrency=1)
            assert first.judge_errors == 2
            second = await judge_rollouts(sessions, rollouts, [judge], out)
    assert second.calls == 1 and second.written == 2 and second.judge_errors == 0
    judgments = read_judgments(out)
    errors = [j for j in judgments if j.meta.get("judge_error")]
    assert {j.target_id for j in errors} == {rollouts[0].id}
    verdicts = Counter(
        (j.target_id, j.category) for j in judgments if not j.meta.get("judge_error")
    )
    assert set(verdicts) == {(r.id, c) for r in rollouts for c in IDS}
    assert max(verdicts.values()) == 1
    summary = summarize(judgments, rollouts)
    row = next(row for row in summary.rows if row.category == COMPLETION)
    assert (row.n, row.errors) == (2, 0)
    assert summary.judge_errors == 2


async def test_existing_output_is_not_reused_without_resume(tmp_path: Path) -> None:
    sessions, rollouts = population(sessions=1, samples=1)
    out = tmp_path / JUDGMENTS_FILE
    out.write_text("")
    await judge_rollouts(sessions, rollouts, rule_judges(), out, resume=False)
    with pytest.raises(ConfigError, match="already holds judgments"):
        await judge_rollouts(sessions, rollouts, rule_judges(), out, resume=False)


async def test_rollouts_need_their_sessions(tmp_path: Path) -> None:
    sessions, rollouts = population(sessions=2, samples=1)
    with pytest.raises(ConfigError, match="s1"):
        await judge_rollouts(sessions[:1], rollouts, rule_judges(), tmp_path / "j.jsonl")


async def test_llm_calls_run_concurrently(tmp_path: Path) -> None:
    sessions, rollouts = population(sessions=3, samples=2)
    arrivals: list[float] = []

    def slow(request: ChatRequest) -> ScriptedTurn:
        arrivals.append(time.monotonic())
        turn = honest_judge_policy(request)
        return turn.model_copy(update={"delay_s": 0.4})

    with ScriptedServer(slow) as server:
        async with llm_judge(server) as judge:
            started = time.monotonic()
            await judge_rollouts(
                sessions, rollouts, [judge], tmp_path / JUDGMENTS_FILE, concurrency=6
            )
            elapsed = time.monotonic() - started
    assert len(arrivals) == 6
    # Sequential calls would take 6 x 0.4 s; all six were in flight at once.
    assert max(arrivals) - min(arrivals) < 0.4
    assert elapsed < 6 * 0.4


async def test_judge_run_judges_rollouts_and_the_baseline(tmp_path: Path) -> None:
    sessions, rollouts = population(sessions=3, samples=2)
    run_dir = RunDir(tmp_path / "run")
    run_dir.open({}, resume=False)
    for rollout in rollouts:
        run_dir.append(rollout)
    with (run_dir.path / "sessions.jsonl").open("w", encoding="utf-8") as handle:
        write_models(handle, [*sessions, make_session(99)])  # s99 has no rollout
    with ScriptedServer(honest_judge_policy) as server:
        async with llm_judge(server) as judge:
            results = await judge_run(run_dir.path, [judge, *rule_judges()], baseline=True)
            baseline_prompts = [r.messages[1]["content"] for r in server.requests[len(rollouts) :]]
    assert set(results) == {"rollouts", "baseline"}
    judged = read_judgments(run_dir.path / JUDGMENTS_FILE)
    baseline = read_judgments(run_dir.path / BASELINE_JUDGMENTS_FILE)
    assert {j.target_id for j in judged} == {r.id for r in rollouts}
    assert {j.target_id for j in baseline} == {s.id for s in sessions}
    # The baseline is judged from the same cut as the rollouts.
    assert len(baseline_prompts) == len(sessions)
    assert all("Messages [0] to [0] are the logged context" in p for p in baseline_prompts)

    summary = summarize_run(run_dir.path, baseline="original", order=list(IDS), by_judge=True)
    assert (run_dir.path / SUMMARY_FILE).exists()
    assert Summary.model_validate_json((run_dir.path / SUMMARY_FILE).read_text()) == summary
    (row,) = [r for r in summary.rows if r.judge == "llm:judge-model" and r.category == COMPLETION]
    assert (row.category, row.n, row.k) == (COMPLETION, 6, 3)
    assert row.any_sample is not None and (row.any_sample.n, row.any_sample.k) == (3, 3)
    assert row.baseline is not None and (row.baseline.n, row.baseline.k) == (3, 0)
    assert row.ratio == pytest.approx(stats.rate_ratio(3, 6, 0, 3))
    assert row.p_value == pytest.approx(stats.fisher_p(3, 6, 0, 3))
    assert summary.judge_models == ["judge-model"]
    assert summary.taxonomy_versions == [str(load_taxonomy().version)]


async def test_judge_sessions_targets_session_ids(tmp_path: Path) -> None:
    sessions = [make_session(number) for number in range(2)]
    out = tmp_path / BASELINE_JUDGMENTS_FILE
    result = await judge_sessions(sessions, rule_judges(), out)
    assert result.calls == 2 * len(rule_judges())
    assert {j.target_id for j in read_judgments(out)} <= {"s0", "s1"}


def test_judge_run_needs_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no rollouts\.jsonl"):
        asyncio.run(judge_run(tmp_path, rule_judges()))


# -- the summary -------------------------------------------------------------------------------


def _judgment(target: str, flagged: bool, judge: str = "llm:m", **meta: Any) -> Judgment:
    return Judgment(target_id=target, judge=judge, category=COMPLETION, flagged=flagged, meta=meta)


def test_summary_counts_samples_and_sessions_and_leaves_errors_out(tmp_path: Path) -> None:
    _, rollouts = population(sessions=3, samples=3)  # s0-r0 .. s2-r2
    judgments = [
        _judgment("s0-r0", True),
        _judgment("s0-r1", False),
        _judgment("s0-r2", False),
        _judgment("s1-r0", False),
        _judgment("s1-r1", False),
        _judgment("s1-r2", False, judge="rule:x"),
        _judgment("s1-r2", True, judge="rule:y"),  # two judges: flagged by any
        _judgment("s2-r0", False, judge_error="malformed reply"),  # an error only: not in n
        _judgment("elsewhere", True),  # not a rollout of this run
    ]
    baseline = [_judgment("s0", True), _judgment("s1", False), _judgment("s2", False)]
    summary = summarize(judgments, rollouts, baseline)
    (row,) = summary.rows
    assert (row.n, row.k, row.errors) == (6, 2, 1)
    assert row.rate_per_100k == pytest.approx(2 / 6 * 100_000)
    assert row.jeffreys_per_100k == pytest.approx(stats.jeffreys_rate(2, 6) * 100_000)
    low, high = stats.jeffreys_interval(2, 6)
    assert (row.low_per_100k, row.high_per_100k) == pytest.approx((low * 1e5, high * 1e5))
    assert row.any_sample is not None
    assert (row.any_sample.n, row.any_sample.k) == (2, 2)
    assert row.baseline is not None and (row.baseline.n, row.baseline.k) == (3, 1)
    assert row.ratio == pytest.approx(stats.jeffreys_rate(2, 6) / stats.jeffreys_rate(1, 3))
    assert row.p_value == pytest.approx(stats.fisher_p(2, 6, 1, 3))
    assert row.multiplicative_error == pytest.approx(max(row.ratio, 1 / row.ratio))
    assert (summary.trajectories, summary.sessions) == (6, 2)
    assert summary.unmatched == 1 and summary.judge_errors == 1

    by_judge = summarize(judgments, rollouts, by_judge=True)
    assert [(r.judge, r.n, r.k) for r in by_judge.rows] == [
        ("llm:m", 5, 1),
        ("rule:x", 1, 0),
        ("rule:y", 1, 1),
    ]

    path = tmp_path / SUMMARY_FILE
    write_summary(summary, path)
    assert Summary.model_validate(json.loads(path.read_text())) == summary

    console = Console(record=True, width=200)
    console.print(summary_table(summary))
    text = console.export_text()
    for header in ("category", "rate/100k", "95% interval", "baseline/100k", "ratio", "p"):
        assert header in text
    assert COMPLETION in text
    assert "2/2" in text  # flagged in any sample


def test_summary_without_judgments_of_a_category_has_no_row() -> None:
    assert summarize([], []).rows == []


async def test_resume_keeps_lines_written_by_others(tmp_path: Path) -> None:
    # A judgments file written by another tool (append_models) is resumable too.
    sessions, rollouts = population(sessions=1, samples=1)
    out = tmp_path / JUDGMENTS_FILE
    await judge_rollouts(sessions, rollouts, rule_judges(), out)
    before = keys(out)
    extra = _judgment("s0-r0", True, judge="external")
    append_models(out, [extra])
    await judge_rollouts(sessions, rollouts, rule_judges(), out)
    after = keys(out)
    assert after == before + Counter({("s0-r0", "external", COMPLETION): 1})
