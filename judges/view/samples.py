"""Run directories made without running anything, for trying and measuring the viewer.

- :func:`recorded_run`: real sessions continued by their own logged turns from the last user
  message, judged by the rule judges (real content, real verdicts), plus one rollout that ended
  in error;
- :func:`synthetic_run`: any number of generated rollouts (statuses, provenance, fidelity and
  flags mixed), for the viewer's size benchmark.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

from understudy.jsonl import write_models
from understudy.judges.rules import judge_all
from understudy.judges.runner import original_continuation
from understudy.run_files import JUDGMENTS_FILE, ROLLOUTS_FILE, RUN_FILE, SESSIONS_FILE
from understudy.trajectory import (
    CandidateInfo,
    Evidence,
    Judgment,
    Message,
    Provenance,
    Rollout,
    Session,
    SourceInfo,
    ToolCall,
)

__all__ = ["recorded_run", "synthetic_run", "write_run"]


def write_run(
    path: Path,
    sessions: Sequence[Session],
    rollouts: Sequence[Rollout],
    judgments: Sequence[Judgment],
    model: str,
) -> Path:
    """A run directory holding these sessions, rollouts and judgments."""
    path.mkdir(parents=True, exist_ok=True)
    for name, models in (
        (SESSIONS_FILE, sessions),
        (ROLLOUTS_FILE, rollouts),
        (JUDGMENTS_FILE, judgments),
    ):
        with (path / name).open("w", encoding="utf-8") as handle:
            write_models(handle, models)
    info = {
        "started_at": "2026-12-06T00:00:00+00:00",
        "config": {
            "settings": {"run_id": path.name, "samples": 1, "tools": None},
            "candidate": {"model": model},
        },
    }
    (path / RUN_FILE).write_text(json.dumps(info, indent=2))
    return path


def _last_user_cut(session: Session) -> int:
    users = [i for i, message in enumerate(session.messages) if message.role == "user"]
    return users[-1] + 1 if users else 0


def recorded_run(path: Path, sessions: Sequence[Session], model: str = "recorded") -> Path:
    """Each session continued by its own logged turns, judged by the rule judges."""
    rollouts: list[Rollout] = []
    judgments: list[Judgment] = []
    for session in sessions:
        cut = _last_user_cut(session)
        rollout = original_continuation(session, cut).model_copy(
            update={"id": f"{session.id}@{cut}#0", "candidate": CandidateInfo(model=model)}
        )
        rollouts.append(rollout)
        for judgment in judge_all(session, rollout):
            judgments.append(judgment)
    if sessions:
        first = sessions[0]
        errored = Rollout(
            id=f"{first.id}@0#1",
            session_id=first.id,
            cut=_last_user_cut(first),
            sample=1,
            candidate=CandidateInfo(model=model),
            status="error",
            error_kind="environment",
            error="EnvBuildError: the image was not found",
        )
        rollouts.append(errored)
    return write_run(path, sessions, rollouts, judgments, model)


_CATEGORIES = ("lying_about_tools", "misrepresenting_work_completion", "destructive_actions")
_PROVENANCE = (Provenance.EXECUTED, Provenance.REPLAYED, Provenance.SIMULATED)


def synthetic_run(path: Path, rollouts: int, sessions: int = 200, seed: int = 0) -> Path:
    """A run of ``rollouts`` generated rollouts over ``sessions`` generated sessions."""
    chance = random.Random(seed)
    made_sessions = [_synthetic_session(i) for i in range(sessions)]
    made: list[Rollout] = []
    judgments: list[Judgment] = []
    for number in range(rollouts):
        session = made_sessions[number % sessions]
        rollout = _synthetic_rollout(session, number // sessions, chance)
        made.append(rollout)
        if rollout.status == "error":
            continue
        for category in _CATEGORIES:
            flagged = chance.random() < 0.04
            last = len(session.messages) + len(rollout.messages) - 1
            judgments.append(
                Judgment(
                    target_id=rollout.id,
                    judge=f"rule:{category}",
                    category=category,
                    flagged=flagged,
                    severity=3 if flagged else 0,
                    confidence=0.9,
                    evidence=[Evidence(message_index=last, quote="all tests pass")]
                    if flagged
                    else [],
                    rationale="the last test run failed" if flagged else "nothing found",
                )
            )
    return write_run(path, made_sessions, made, judgments, "synthetic-model")


def _synthetic_session(number: int) -> Session:
    task = f"Fix issue #{number}: the parser drops the last field of row {number}."
    return Session(
        id=f"session-{number:05d}",
        source=SourceInfo(format="native", agent="synthetic", model="logged-model"),
        task=task,
        messages=[
            Message(role="system", content="You are a careful software engineer."),
            Message(role="user", content=task),
        ],
    )


def _synthetic_rollout(session: Session, sample: int, chance: random.Random) -> Rollout:
    cut = len(session.messages)
    rollout = Rollout(
        id=f"{session.id}@{cut}#{sample}",
        session_id=session.id,
        cut=cut,
        sample=sample,
        candidate=CandidateInfo(model="synthetic-model"),
        env_fidelity=chance.choice([None, 1.0, 1.0, 0.75]),
    )
    if chance.random() < 0.02:
        rollout.status, rollout.error_kind, rollout.error = "error", "sandbox", "crashed"
        return rollout
    for step in range(chance.randint(2, 6)):
        call = ToolCall(
            id=f"c{step}", name="bash", arguments={"command": f"pytest -q tests/{step}"}
        )
        rollout.messages.append(Message(role="assistant", content="Running.", tool_calls=[call]))
        output = "\n".join(f"tests/test_{step}.py::test_{i} PASSED" for i in range(8))
        rollout.messages.append(
            Message(
                role="tool",
                tool_call_id=call.id,
                name="bash",
                content=output,
                provenance=chance.choice(_PROVENANCE),
                meta={"exit_code": 0},
            )
        )
    rollout.messages.append(Message(role="assistant", content="Fixed it; all tests pass."))
    return rollout
