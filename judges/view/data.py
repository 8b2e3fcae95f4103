"""What the viewer shows, read from a run directory: an overview, an index row per rollout, and
the documents a trajectory view opens (a rollout, its session) loaded one at a time.

The overview and the index are small (a few hundred bytes per rollout); the documents hold the
messages. The static report embeds each document gzip-compressed on its own, and the page
decompresses only the one it opens, so a run of 10,000 rollouts opens without holding every
message in memory; ``--serve`` answers the same documents over HTTP instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from understudy.errors import ConfigError
from understudy.jsonl import read_models
from understudy.judges.report import summarize
from understudy.judges.runner import read_judged_categories, read_judgments
from understudy.run_files import (
    BASELINE_JUDGMENTS_FILE,
    JUDGMENTS_FILE,
    ROLLOUTS_FILE,
    RUN_FILE,
    SESSIONS_FILE,
)
from understudy.trajectory import Judgment, Message, Rollout, Session, latest_rollouts

__all__ = ["ViewData", "load_view"]

MAX_TEXT = 20_000
"""Characters of one message's text shown; longer texts are cut with a visible marker."""
LAST_WORDS = 160


@dataclass
class ViewData:
    """Everything the page needs, as JSON-ready documents."""

    overview: dict[str, Any]
    index: list[dict[str, Any]]
    rollouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rollout id -> its document (messages after the cut, judgments, reproduce command)."""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Session id -> its document (task, every logged message)."""


def load_view(run_dir: Path, compare: Path | None = None) -> ViewData:
    """The view of ``run_dir``; with ``compare``, another run's rollouts of the same sessions
    and cuts are added for side-by-side reading (model vs model)."""
    run_dir = Path(run_dir)
    if not (run_dir / ROLLOUTS_FILE).is_file():
        raise ConfigError(f"{run_dir} is not a run directory: it has no {ROLLOUTS_FILE}")
    rollouts = latest_rollouts(read_models(run_dir / ROLLOUTS_FILE, Rollout))
    sessions = _sessions(run_dir)
    judgments = _judgments(run_dir / JUDGMENTS_FILE)
    baseline = _judgments(run_dir / BASELINE_JUDGMENTS_FILE) or None
    by_target: dict[str, list[Judgment]] = {}
    for judgment in judgments:
        by_target.setdefault(judgment.target_id, []).append(judgment)
    view = ViewData(
        overview=_overview(run_dir, rollouts, judgments, baseline, compare),
        index=[_index_row(rollout, by_target.get(rollout.id, [])) for rollout in rollouts],
    )
    for rollout in rollouts:
        view.rollouts[rollout.id] = _rollout_document(
            run_dir, rollout, by_target.get(rollout.id, [])
        )
    for session in sessions.values():
        view.sessions[session.id] = _session_document(session)
    if compare is not None:
        _add_comparison(view, Path(compare))
    return view


def _sessions(run_dir: Path) -> dict[str, Session]:
    path = run_dir / SESSIONS_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no {SESSIONS_FILE}: it was not written by `run`")
    return {session.id: session for session in read_models(path, Session)}


def _judgments(path: Path) -> list[Judgment]:
    return read_judgments(path) if path.is_file() else []


def _overview(
    run_dir: Path,
    rollouts: list[Rollout],
    judgments: list[Judgment],
    baseline: list[Judgment] | None,
    compare: Path | None,
) -> dict[str, Any]:
    info = json.loads((run_dir / RUN_FILE).read_text()) if (run_dir / RUN_FILE).is_file() else {}
    summary = (
        summarize(judgments, rollouts, baseline, categories=read_judged_categories(run_dir))
        if judgments
        else None
    )
    provenance: Counter[str] = Counter()
    for rollout in rollouts:
        provenance.update(_provenance(rollout.messages))
    fidelities = [r.env_fidelity for r in rollouts if r.env_fidelity is not None]
    return {
        "run_dir": str(run_dir),
        "run": {
            "run_id": info.get("config", {}).get("settings", {}).get("run_id") or run_dir.name,
            **{key: info.get(key) for key in ("started_at", "finished_at", "config")},
            "version": info.get("understudy_version"),
        },
        "summary": summary.model_dump(mode="json") if summary else None,
        "judged": bool(judgments),
        "baseline": baseline is not None,
        "statuses": dict(Counter(rollout.status for rollout in rollouts)),
        "errors": dict(Counter(r.error_kind or "harness" for r in rollouts if r.status == "error")),
        "provenance": dict(provenance),
        "fidelity": {
            "measured": len(fidelities),
            "mean": round(sum(fidelities) / len(fidelities), 4) if fidelities else None,
            "perfect": sum(f == 1.0 for f in fidelities),
        },
        "compare": str(compare) if compare is not None else None,
    }


def _provenance(messages: Iterable[Message]) -> Counter[str]:
    return Counter(m.provenance.value for m in messages if m.role == "tool" and m.provenance)


def _index_row(rollout: Rollout, judgments: list[Judgment]) -> dict[str, Any]:
    said = [m.content for m in rollout.messages if m.role == "assistant" and m.content.strip()]
    return {
        "id": rollout.id,
        "session": rollout.session_id,
        "cut": rollout.cut,
        "sample": rollout.sample,
        "status": rollout.status,
        "error_kind": rollout.error_kind,
        "flags": sorted({j.category for j in judgments if j.flagged}),
        "prov": dict(_provenance(rollout.messages)),
        "fidelity": rollout.env_fidelity,
        "turns": sum(m.role == "assistant" for m in rollout.messages),
        "last": " ".join(said[-1].split())[:LAST_WORDS] if said else "",
        "model": rollout.candidate.model,
    }


def message_document(message: Message) -> dict[str, Any]:
    """A message as the page shows it (long texts cut with a marker)."""
    document: dict[str, Any] = {"role": message.role, "content": _cut(message.content)}
    if message.reasoning:
        document["reasoning"] = _cut(message.reasoning)
    if message.tool_calls:
        document["calls"] = [
            {"id": c.id, "name": c.name, "args": c.raw_arguments or c.arguments}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        document["call_id"] = message.tool_call_id
    if message.name:
        document["name"] = message.name
    if message.is_error:
        document["error"] = True
    if message.provenance is not None:
        document["prov"] = message.provenance.value
    meta = {k: message.meta[k] for k in _SHOWN_META if k in message.meta}
    if meta:
        document["meta"] = meta
    return document


_SHOWN_META = ("exit_code", "duration_s", "diagnostics", "simulator", "confidence", "truncated")


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n[... {len(text) - MAX_TEXT:,} more characters not shown ...]"


def _rollout_document(run_dir: Path, rollout: Rollout, judgments: list[Judgment]) -> dict[str, Any]:
    flagged = [j for j in judgments if j.flagged]
    indices = sorted({e.message_index for j in flagged for e in j.evidence})
    # The step reproduce stands at: the first flagged message of the candidate's own.
    said = [
        i
        for i in indices
        if i >= rollout.cut
        and i - rollout.cut < len(rollout.messages)
        and rollout.messages[i - rollout.cut].role == "assistant"
    ]
    step = said[0] if said else indices[0] if indices else rollout.cut
    return {
        "id": rollout.id,
        "session": rollout.session_id,
        "cut": rollout.cut,
        "status": rollout.status,
        "error": rollout.error,
        "model": rollout.candidate.model,
        "messages": [message_document(m) for m in rollout.messages],
        "judgments": [_judgment_document(j) for j in flagged],
        "fidelity": rollout.env_fidelity,
        "changed_files": rollout.meta.get("changed_files", []),
        "reproduce": f"understudy reproduce {run_dir} {rollout.id} --step {step}",
    }


def _judgment_document(judgment: Judgment) -> dict[str, Any]:
    return {
        "category": judgment.category,
        "judge": judgment.judge,
        "severity": judgment.severity,
        "confidence": judgment.confidence,
        "rationale": judgment.rationale,
        "evidence": [{"index": e.message_index, "quote": e.quote} for e in judgment.evidence],
    }


def _session_document(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "task": _cut(session.task or ""),
        "agent": session.source.agent or session.source.format,
        "model": session.source.model,
        "messages": [message_document(m) for m in session.messages],
    }


def _add_comparison(view: ViewData, other: Path) -> None:
    """Each rollout's counterparts in ``other``: the rollouts of the same session and cut."""
    if not (other / ROLLOUTS_FILE).is_file():
        raise ConfigError(f"--compare {other}: not a run directory (no {ROLLOUTS_FILE})")
    theirs = latest_rollouts(read_models(other / ROLLOUTS_FILE, Rollout))
    judged: dict[str, list[Judgment]] = {}
    for judgment in _judgments(other / JUDGMENTS_FILE):
        judged.setdefault(judgment.target_id, []).append(judgment)
    by_key: dict[tuple[str, int], list[str]] = {}
    for rollout in theirs:
        key = f"other:{rollout.id}"
        view.rollouts[key] = _rollout_document(other, rollout, judged.get(rollout.id, []))
        by_key.setdefault((rollout.session_id, rollout.cut), []).append(key)
    for row in view.index:
        row["others"] = by_key.get((row["session"], row["cut"]), [])
