"""Reports of runs with several samples per session: intervals clustered by session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from understudy.cli import app
from understudy.jsonl import write_models
from understudy.judges.report import summarize, summary_table
from understudy.judges.runner import BASELINE_JUDGMENTS_FILE
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


def _weighted_baseline_case() -> tuple[list[Rollout], list[Judgment], list[Judgment]]:
    """10 sessions, one sample each: the candidate flags s1, the original (the baseline) flags
    s0, which stands for ten times as much traffic as any other session."""
    rollouts = [_rollout(s, 0) for s in range(10)]
    judgments = [_verdict(r, r.session_id == "s1") for r in rollouts]
    originals = [r.model_copy(update={"id": r.session_id}) for r in rollouts]
    return rollouts, judgments, [_verdict(r, r.id == "s0") for r in originals]


HEAVY = {"s0": 10.0}
"""s0 weighs 10; the others have no weight, so weigh 1."""


def test_weights_reweight_the_baseline_like_the_candidate() -> None:
    rollouts, judgments, baseline = _weighted_baseline_case()
    (row,) = summarize(judgments, rollouts, baseline, weights=HEAVY).rows
    assert row.baseline is not None and row.baseline.rate_per_100k == pytest.approx(10_000)
    weighted = row.baseline_clustered
    assert weighted is not None and weighted.weighted
    assert weighted.rate_per_100k == pytest.approx(100_000 * 10 / 19)  # 10 of 19 weighted units
    # The sandwich variance over the binomial one: (10/9) * (90/19)^2 + 9 * (10/19)^2) / 19^2
    # over (10/19) * (9/19) / 10, that is 3610000/1172889 (above Kish's 1090/361).
    assert weighted.design_effect == pytest.approx(3610000 / 1172889, abs=1e-4)
    assert weighted.effective_n == pytest.approx(10 * 1172889 / 3610000, abs=0.01)
    # The candidate's weighted rate on the same sessions, by the same estimator (its flagged
    # session weighs 1: Kish's design effect, 1090/361, is the larger).
    assert row.clustered is not None
    assert row.clustered.rate_per_100k == pytest.approx(100_000 / 19)
    assert row.clustered.design_effect == pytest.approx(1090 / 361, abs=1e-4)
    # Compared at the weighted rates: 0 of 3 effective samples against 2 of 3 (unweighted,
    # the baseline was 1 of 10 and the ratio 0.92).
    assert row.ratio == pytest.approx((0 + 0.5) / (2 + 0.5))
    text = _table_text(summary_table(summarize(judgments, rollouts, baseline, weights=HEAVY)))
    assert "weighted baseline/100k" in text and "52,632" in text


def test_without_weights_the_baseline_stays_unweighted() -> None:
    rollouts, judgments, baseline = _weighted_baseline_case()
    (row,) = summarize(judgments, rollouts, baseline).rows
    assert row.baseline_clustered is None and row.clustered is None
    assert row.baseline is not None and row.baseline.rate_per_100k == pytest.approx(10_000)
    assert row.ratio == pytest.approx(1.0)  # one flagged in ten on each side
    text = _table_text(summary_table(summarize(judgments, rollouts, baseline)))
    assert "weighted" not in text and "10,000" in text


def test_report_reweights_the_original_and_another_run_as_baseline(tmp_path: Path) -> None:
    rollouts, judgments, baseline = _weighted_baseline_case()
    sessions = [
        Session(
            id=f"s{s}", source=SourceInfo(format="native"), meta={"weight": 10.0} if s == 0 else {}
        )
        for s in range(10)
    ]
    run = write_run(tmp_path / "run", sessions, rollouts, judgments, "m")
    with (run / BASELINE_JUDGMENTS_FILE).open("w", encoding="utf-8") as handle:
        write_models(handle, baseline)
    # Another run whose rollouts (of the same sessions) flag what the original did.
    other = write_run(
        tmp_path / "other",
        sessions,
        rollouts,
        [_verdict(r, r.session_id == "s0") for r in rollouts],
        "m",
    )
    for against in ("original", str(other)):
        result = CliRunner().invoke(
            app, ["report", str(run), "--baseline", against, "--weights", "meta", "--json"]
        )
        assert result.exit_code == 0, result.output
        (row,) = json.loads(result.stdout)["rows"]
        assert row["baseline"]["rate_per_100k"] == pytest.approx(10_000)
        assert row["baseline_clustered"]["rate_per_100k"] == pytest.approx(100_000 * 10 / 19)
        shown = CliRunner().invoke(
            app,
            ["report", str(run), "--baseline", against, "--weights", "meta"],
            env={"COLUMNS": "300"},
        )
        assert shown.exit_code == 0 and "52,632" in shown.stdout, shown.output
