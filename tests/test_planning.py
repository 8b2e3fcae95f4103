"""Planning (sessions a measurement needs) and judges against human labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.judges.agreement import Agreement, Label, agreement
from understudy.judges.planning import (
    detectable_ratio,
    effective_samples,
    power,
    sessions_to_detect,
    sessions_to_estimate,
)
from understudy.judges.view.samples import synthetic_run
from understudy.trajectory import Judgment


def test_sessions_to_detect_a_doubling_match_the_textbook_formula() -> None:
    # 1% against 2%, alpha 0.05 two-sided, power 0.8: about 2,316 per group (Fleiss).
    assert sessions_to_detect(0.01, 2.0, per_session=1.0) == pytest.approx(2316, abs=5)
    # Samples that are worth more cut the sessions needed, but never below half (the baseline
    # still has one sample per session).
    four = sessions_to_detect(0.01, 2.0, per_session=effective_samples(4, 0.5))
    assert 2316 / 2 < four < 2316


def test_estimating_within_a_tighter_error_takes_more_sessions() -> None:
    loose, tight = sessions_to_estimate(0.01, 2.0, 1.0), sessions_to_estimate(0.01, 1.2, 1.0)
    assert loose < tight
    assert sessions_to_estimate(0.01, 1.5, 2.0) == pytest.approx(
        loose * 0 + sessions_to_estimate(0.01, 1.5, 1.0) / 2, rel=0.02
    )
    assert effective_samples(1, 0.9) == 1.0 and effective_samples(4, 0.0) == 4.0
    assert effective_samples(4, 1.0) == 1.0


def test_the_detectable_ratio_has_the_power_asked_for() -> None:
    ratio = detectable_ratio(0.05, 400, 400)
    assert ratio is not None and 1 < ratio < 3
    assert power(0.05, ratio, 400, 400) == pytest.approx(0.8, abs=0.01)
    tiny = detectable_ratio(0.05, 3, 3)  # a tiny run detects only the grossest differences
    assert tiny is None or tiny > 10
    assert detectable_ratio(0.5, 2, 2) is None  # nothing up to a rate of 100% is detectable
    with pytest.raises(ValueError):
        sessions_to_detect(0.6, 2.0, 1.0)  # 120% is no rate


def test_plan_prints_both_answers() -> None:
    result = CliRunner().invoke(
        app, ["plan", "--rate", "0.01", "--ratio", "2", "--samples-per-session", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "estimate 1,000/100k within 1.5x" in result.stdout
    assert "1,939" in result.stdout and "1.6 independent" in result.stdout
    bad = CliRunner().invoke(app, ["plan", "--rate", "2"])
    assert bad.exit_code == 1 and "rate" in bad.output


def _judgment(target: str, flagged: bool, judge: str = "rule:lying_about_tools") -> Judgment:
    return Judgment(
        target_id=target,
        judge=judge,
        category="lying_about_tools",
        flagged=flagged,
        severity=3 if flagged else 0,
        confidence=0.9,
        rationale="r",
    )


def test_agreement_counts_precision_recall_and_kappa() -> None:
    labels, judgments = [], []
    # 20 TP, 5 FP, 10 FN, 65 TN: po 0.85, pe 0.6, kappa 0.625.
    for i, (human, said) in enumerate(
        [(True, True)] * 20 + [(False, True)] * 5 + [(True, False)] * 10 + [(False, False)] * 65
    ):
        labels.append(Label(target_id=f"t{i}", category="lying_about_tools", flagged=human))
        judgments.append(_judgment(f"t{i}", said))
    labels.append(Label(target_id="nobody-judged", category="lying_about_tools", flagged=True))
    judgments.append(_judgment("t0", False, judge="llm:m"))
    rows = {row.judge: row for row in agreement(labels, judgments)}
    rule = rows["rule:lying_about_tools"]
    assert (rule.tp, rule.fp, rule.fn, rule.tn, rule.unjudged) == (20, 5, 10, 65, 1)
    precision, recall, kappa = rule.precision(), rule.recall(), rule.kappa()
    assert precision is not None and precision[0] == pytest.approx(0.8)
    assert recall is not None and recall[0] == pytest.approx(2 / 3)
    assert kappa is not None and kappa[0] == pytest.approx(0.625)
    assert kappa[1] < 0.625 < kappa[2]
    assert rows["llm:m"].n == 1 and rows["any"].tp == 20  # any: flagged when any judge flags
    assert Agreement("j", "c", 0, 0, 0, 0, 0).kappa() is None


def test_judge_eval_reads_labels_and_a_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    verdicts = [_judgment("a", True), _judgment("b", False), _judgment("c", True)]
    (run / "judgments.jsonl").write_text("".join(j.model_dump_json() + "\n" for j in verdicts))
    labels = tmp_path / "labels.jsonl"
    rows = [("a", True), ("b", False), ("c", False)]
    labels.write_text(
        "".join(
            json.dumps({"target_id": t, "category": "lying_about_tools", "flagged": f}) + "\n"
            for t, f in rows
        )
    )
    result = CliRunner().invoke(app, ["judge-eval", str(labels), str(run), "--json"])
    assert result.exit_code == 0, result.output
    figures = {row["judge"]: row for row in json.loads(result.stdout)}
    assert (figures["any"]["tp"], figures["any"]["fp"], figures["any"]["tn"]) == (1, 1, 1)
    labels.write_text('{"target_id": "a", "category": "lying_about_tools"}\n')
    bad = CliRunner().invoke(app, ["judge-eval", str(labels), str(run)])
    assert bad.exit_code == 1 and "labels.jsonl:1: flagged: required" in bad.output


def test_a_forecast_against_itself_is_exact_and_covered(tmp_path: Path) -> None:
    run = synthetic_run(tmp_path / "run", rollouts=600, sessions=150, seed=1)
    result = CliRunner().invoke(
        app, ["backtest", "--forecast", str(run), "--actual", str(run), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["rows"] and all(row["covered"] for row in figures["rows"])
    # Four samples per session: the forecast is the clustered Jeffreys rate, the actual the
    # Jeffreys rate of the same verdicts; they differ only by the effective-count correction.
    assert 1.0 <= figures["median_multiplicative_error"] < 1.1


def test_a_forecast_against_judged_deployment_sessions(tmp_path: Path) -> None:
    forecast = synthetic_run(tmp_path / "run", rollouts=400, sessions=400, seed=2)
    deployed = [
        Judgment(
            target_id=f"deployed-{i}",
            judge="rule:lying_about_tools",
            category="lying_about_tools",
            flagged=i < 40,  # 10%, where the forecast is about 4%
            severity=0,
            confidence=0.9,
            rationale="r",
        )
        for i in range(400)
    ]
    sessions = tmp_path / "deployed.jsonl"
    sessions.write_text("")
    (tmp_path / "deployed.judgments.jsonl").write_text(
        "".join(j.model_dump_json() + "\n" for j in deployed)
    )
    shown = CliRunner().invoke(
        app, ["backtest", "--forecast", str(forecast), "--actual", str(sessions)]
    )
    assert shown.exit_code == 0, shown.output
    assert "40/400" in shown.stdout and "median multiplicative error" in shown.stdout
    result = CliRunner().invoke(
        app, ["backtest", "--forecast", str(forecast), "--actual", str(sessions), "--json"]
    )
    (row,) = json.loads(result.stdout)["rows"]
    assert (row["category"], row["actual_k"], row["actual_n"]) == ("lying_about_tools", 40, 400)
    assert not row["covered"]  # 10% happened; about 4% was forecast
    ratio = (40.5 / 401) / (row["forecast_per_100k"] / 100_000)
    assert row["multiplicative_error"] == pytest.approx(max(ratio, 1 / ratio))
    missing = CliRunner().invoke(
        app, ["backtest", "--forecast", str(forecast), "--actual", str(tmp_path / "x.jsonl")]
    )
    assert missing.exit_code == 1 and "judge it first" in missing.output
