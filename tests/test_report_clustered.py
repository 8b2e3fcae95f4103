"""Reports of runs with several samples per session: intervals clustered by session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from understudy.cli import app
from understudy.judges.report import summarize, summary_table
from understudy.judges.view.samples import write_run
from understudy.trajectory import CandidateInfo, Judgment, Rollout, Session, SourceInfo


def _rollout(session: int, sample: int) -> Rollout:
    return Rollout(
        id=f"s{session}@2#{sample}",
        session_id=f"s{session}",
        cut=2,
        sample=sample,
        candidate=CandidateInfo(model="m"),
    )


def _verdict(rollout: Rollout, flagged: bool) -> Judgment:
    return Judgment(
        target_id=rollout.id,
        judge="rule:lying_about_tools",
        category="lying_about_tools",
        flagged=flagged,
        severity=3 if flagged else 0,
        confidence=0.9,
        rationale="x",
    )


def _run(samples: int) -> tuple[list[Rollout], list[Judgment]]:
    """40 sessions; the first 8 flagged in every sample (a session-level behaviour)."""
    rollouts = [_rollout(s, i) for s in range(40) for i in range(samples)]
    return rollouts, [_verdict(r, int(r.session_id[1:]) < 8) for r in rollouts]


def _table_text(rows: object) -> str:
    console = Console(width=200, record=True)
    console.print(rows)
    return console.export_text()


def test_several_samples_per_session_get_a_clustered_interval() -> None:
    rollouts, judgments = _run(samples=4)
    (row,) = summarize(judgments, rollouts).rows
    assert (row.k, row.n) == (32, 160)
    assert row.clustered is not None
    # Four copies of each session's verdict are worth one each: about 40 effective samples (39,
    # with the small-sample factor m / (m - 1) of the cluster-robust variance), not 160.
    assert row.clustered.effective_n == pytest.approx(39, abs=0.01)
    assert row.clustered.low_per_100k < row.low_per_100k
    assert row.clustered.high_per_100k > row.high_per_100k
    text = _table_text(summary_table(summarize(judgments, rollouts)))
    assert "95% interval (by session)" in text and "effective n" in text


def test_one_sample_per_session_keeps_the_jeffreys_interval() -> None:
    rollouts, judgments = _run(samples=1)
    (row,) = summarize(judgments, rollouts).rows
    assert row.clustered is None
    assert "(by session)" not in _table_text(summary_table(summarize(judgments, rollouts)))


def test_the_baseline_is_compared_with_the_effective_samples() -> None:
    rollouts, judgments = _run(samples=4)
    baseline = [
        _verdict(_rollout(s, 0).model_copy(update={"id": f"s{s}"}), s < 8) for s in range(40)
    ]
    (row,) = summarize(judgments, rollouts, baseline).rows
    # The same sessions flagged: as many effective samples, the same rate, no difference.
    assert row.ratio is not None and abs(row.ratio - 1) < 0.05
    assert row.p_value is not None and row.p_value > 0.5


def test_weights_reweight_the_rate_to_the_population() -> None:
    """20 sessions of a stratum that misbehaves half the time stand for three times as much
    traffic as the 40 sessions of a stratum that never does."""
    rollouts = [_rollout(s, 0) for s in range(60)]
    judgments = [_verdict(r, int(r.session_id[1:]) < 10) for r in rollouts]
    weights = {f"s{s}": 3.0 for s in range(20)}
    (row,) = summarize(judgments, rollouts, weights=weights).rows
    assert row.rate_per_100k == pytest.approx(100_000 * 10 / 60)  # the sample, as observed
    assert row.clustered is not None and row.clustered.weighted
    assert row.clustered.rate_per_100k == pytest.approx(100_000 * 30 / 100)
    assert row.clustered.effective_n < 60  # uneven weights leave fewer effective samples
    assert row.clustered.low_per_100k < 30_000 < row.clustered.high_per_100k
    text = _table_text(summary_table(summarize(judgments, rollouts, weights=weights)))
    assert "weighted rate/100k" in text and "30,000" in text


def test_report_reads_weights_from_a_file_or_the_sessions(tmp_path: Path) -> None:
    rollouts = [_rollout(s, 0) for s in range(60)]
    judgments = [_verdict(r, int(r.session_id[1:]) < 10) for r in rollouts]
    sessions = [
        Session(
            id=f"s{s}",
            source=SourceInfo(format="native"),
            meta={"weight": 3.0} if s < 20 else {},
        )
        for s in range(60)
    ]
    run = write_run(tmp_path / "run", sessions, rollouts, judgments, "m")
    (tmp_path / "w.csv").write_text("session,weight\n" + "".join(f"s{s},3\n" for s in range(20)))
    for source in (str(tmp_path / "w.csv"), "meta"):
        result = CliRunner().invoke(app, ["report", str(run), "--weights", source, "--json"])
        assert result.exit_code == 0, result.output
        (row,) = json.loads(result.stdout)["rows"]
        assert row["clustered"]["rate_per_100k"] == pytest.approx(30_000)
    (tmp_path / "bad.csv").write_text("session,weight\ns1,-2\n")
    bad = CliRunner().invoke(app, ["report", str(run), "--weights", str(tmp_path / "bad.csv")])
    assert bad.exit_code == 1 and "bad.csv:2: weight: must be a finite number" in bad.output
