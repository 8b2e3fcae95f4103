"""The command line from logs to rates: import, validate, export, judge, report, demo."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.jsonl import read_models
from understudy.trajectory import Judgment, Session

SAMPLES = Path(__file__).parent / "data" / "trajectories"
REAL_AGENT_FORMATS = (
    "swe-agent",
    "mini-swe-agent",
    "openhands",
    "claude-code",
    "codex",
    "inspect",
)


def invoke(*arguments: str | Path) -> str:
    result = CliRunner().invoke(app, [str(argument) for argument in arguments])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every sample log of every real agent, imported through the CLI."""
    out = tmp_path_factory.mktemp("import") / "sessions.jsonl"
    invoke("import", "auto", *(SAMPLES / fmt for fmt in REAL_AGENT_FORMATS), "-o", out)
    return out


def test_import_walks_every_sample_and_reports_per_file(imported: Path) -> None:
    sessions = list(read_models(imported, Session))
    formats = {session.source.format for session in sessions}
    assert formats == set(REAL_AGENT_FORMATS)
    logs = [p for fmt in REAL_AGENT_FORMATS for p in (SAMPLES / fmt).iterdir() if p.is_file()]
    assert len(sessions) >= len(logs)
    assert len({session.id for session in sessions}) == len(sessions)
    assert invoke("validate", imported).strip().endswith(f"{len(sessions)} valid")


def test_import_of_a_wrong_explicit_format_names_the_right_one(tmp_path: Path) -> None:
    sample = next((SAMPLES / "codex").iterdir())
    result = CliRunner().invoke(
        app, ["import", "swe-agent", str(sample), "-o", str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code == 1
    assert "codex" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_export_to_atif_reimports_to_the_same_sessions(imported: Path, tmp_path: Path) -> None:
    atif = tmp_path / "atif.jsonl"
    invoke("export", imported, "--format", "atif", "-o", atif)
    again = tmp_path / "again.jsonl"
    invoke("import", "atif", atif, "-o", again, "--no-redact")
    before = {s.id: s for s in read_models(imported, Session)}
    after = {s.id: s for s in read_models(again, Session)}
    assert before.keys() == after.keys()
    for session_id, session in before.items():
        assert after[session_id].messages == session.messages
        assert after[session_id].env == session.env


def test_rule_judges_run_over_every_sample_log(imported: Path, tmp_path: Path) -> None:
    out = tmp_path / "judgments.jsonl"
    invoke("judge", imported, "--rules-only", "-o", out)
    judgments = list(read_models(out, Judgment))
    sessions = list(read_models(imported, Session))
    assert {j.target_id for j in judgments} == {s.id for s in sessions}
    assert all("judge_error" not in j.meta for j in judgments)
    # Resumable: judging again writes nothing twice.
    invoke("judge", imported, "--rules-only", "-o", out)
    assert len(list(read_models(out, Judgment))) == len(judgments)


def test_unknown_category_lists_the_valid_ones(imported: Path) -> None:
    result = CliRunner().invoke(app, ["judge", str(imported), "--categories", "no_such"])
    assert result.exit_code == 1
    assert "lying_about_tools" in result.output


@pytest.mark.docker
def test_demo_runs_judges_and_reports(
    tmp_path: Path, base_image: str, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No key of any provider is needed: the demo's candidate is served on 127.0.0.1.
    for name in list(os.environ):
        if name.endswith("_API_KEY") or name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
            monkeypatch.delenv(name)
    run_dir = tmp_path / "demo"
    output = invoke("demo", "-o", run_dir, "--run-id", run_id)
    assert "lying_about_tools" in output
    assert "totals" in output and "mean turns" in output  # the run's totals table
    assert "run directory:" in output
    assert "".join(str(run_dir).split()) in "".join(output.split())  # however rich wraps it
    for name in ("run.json", "rollouts.jsonl", "sessions.jsonl", "judgments.jsonl", "events.jsonl"):
        assert (run_dir / name).is_file(), name
    # The demo ends by writing the viewer's page and saying where it is.
    page = run_dir / "report.html"
    assert "report:" in output and "".join(str(page).split()) in "".join(output.split())
    assert "demo-slug@2#0" in page.read_text() and "(3 rollouts;" in invoke("view", run_dir)
    invoke("judge", run_dir, "--baseline")
    report = json.loads(invoke("report", run_dir, "--baseline", "original", "--json"))
    rows = {row["category"]: row for row in report["rows"]}
    # The scripted candidate misreports twice (tests "pass" after a failing run; tests it never
    # ran); the sessions' own turns make no claim at all.
    assert rows["lying_about_tools"]["k"] == 2
    assert rows["misrepresenting_work_completion"]["k"] == 1
    assert rows["lying_about_tools"]["baseline"]["k"] == 0
    assert (run_dir / "summary.json").is_file()


def test_help_paragraphs_flow_as_sentences_not_as_docstring_lines() -> None:
    from understudy.cli import reflowed

    assert reflowed("Short.\n\nOne sentence\nover two lines.\n\n- a list\n- kept") == (
        "Short.\n\nOne sentence over two lines.\n\n- a list\n- kept"
    )
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "built from the session's environment; finished rollouts are appended" in result.output
    nested = CliRunner().invoke(app, ["pairs", "build", "--help"], env={"COLUMNS": "300"})
    assert "its canonical tool and arguments (when an adapter translates it)" in nested.output
