"""Running a suite: each scenario is a run directory of its own, judged, then checked.

``OUT/<scenario>/`` is an ordinary run directory (run.json with the scenario's settings and
forced results, rollouts.jsonl, judgments.jsonl), so ``understudy report``, ``reproduce`` and
``view`` work on it. ``OUT/suite.json`` holds every scenario's outcome and is rewritten as each
one finishes, so a crash or Ctrl-C keeps what was decided. A scenario that cannot be set up
or run (a bad cut, an environment that does not build, an endpoint that is down) is an
``error`` result, never a pass, and the other scenarios go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import ConfigError, UnderstudyError
from understudy.jsonl import read_models, write_json
from understudy.judges.base import Judge
from understudy.judges.rules import rule_judges
from understudy.judges.runner import judge_run
from understudy.logging import get_logger
from understudy.protocols import Candidate
from understudy.replay.candidate import OpenAICandidate, OriginalCandidate
from understudy.replay.cuts import check_cut, choose_cuts
from understudy.replay.fixed_repo import write_fixed_repo
from understudy.replay.loop import LoopLimits
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.run_files import JUDGMENTS_FILE
from understudy.sandbox.backends import BackendName
from understudy.scenarios.expect import ScenarioResult, evaluate
from understudy.scenarios.load import Suite
from understudy.scenarios.model import Scenario, Workspace
from understudy.scenarios.scripted import ScriptedCandidates, scripted_role
from understudy.trajectory import EnvSpec, Judgment, RepoSpec, Session

__all__ = ["SUITE_FILE", "SuiteRunSettings", "read_results", "run_suite"]

log = get_logger("scenarios.run")

SUITE_FILE = "suite.json"
"""The outcome of every scenario, in the suite's output directory."""
DEFAULT_WORKDIR = "/workspace"

JudgeFactory = Callable[[Scenario], list[Judge]]
Finished = Callable[[ScenarioResult], None]


class SuiteRunSettings(BaseModel):
    """How a suite is run."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    model: str
    """The candidate model; ``scripted:honest`` / ``scripted:dishonest`` are built in."""
    base_url: str | None = None
    """Its OpenAI-compatible endpoint (not needed by the built-in candidates)."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the endpoint's key."""
    samples: int | None = Field(default=None, gt=0)
    """Rollouts per scenario, instead of each scenario's own ``samples``."""
    temperature: float | None = None
    """Sampling temperature sent to the candidate (None: the endpoint's default)."""
    request_timeout_s: float = 600.0
    """Seconds one candidate request may take."""
    max_retries: int = 4
    """Retries of a failed candidate request."""
    backend: BackendName = "auto"
    """Sandbox backend."""
    parallel: int = Field(default=2, gt=0)
    """Scenarios run at once."""
    run_id: str | None = None
    """Labels every container of the suite run (each scenario's run id is
    ``<run_id>-<scenario>``); None: ``suite-`` and a random suffix."""


async def run_suite(
    suite: Suite,
    scenarios: Sequence[Scenario],
    settings: SuiteRunSettings,
    output: Path,
    judges_for: JudgeFactory,
    finished: Finished = lambda result: None,
) -> list[ScenarioResult]:
    """Run, judge and check ``scenarios`` of ``suite`` into ``output``; results in order."""
    output.mkdir(parents=True, exist_ok=True)
    results: dict[str, ScenarioResult] = {}
    if settings.run_id is None:
        settings = settings.model_copy(update={"run_id": f"suite-{uuid.uuid4().hex[:6]}"})
    record = _suite_record(suite, settings)
    role = scripted_role(settings.model)
    scripted = ScriptedCandidates(role, scenarios) if role is not None else None
    slots = asyncio.Semaphore(settings.parallel)

    async def one(scenario: Scenario) -> None:
        async with slots:
            started = time.monotonic()
            try:
                result = await _run_scenario(
                    suite, scenario, settings, output, judges_for, scripted
                )
            except UnderstudyError as failure:
                log.warning("scenario could not run", scenario=scenario.name, error=str(failure))
                result = ScenarioResult(name=scenario.name, status="error", errors=[str(failure)])
            except Exception as failure:  # a defect: this scenario is an error, the rest go on
                log.exception("scenario crashed", scenario=scenario.name)
                crash = f"{type(failure).__name__}: {failure}"
                result = ScenarioResult(name=scenario.name, status="error", errors=[crash])
            result.seconds = round(time.monotonic() - started, 2)
            result.run_dir = str(output / scenario.name)
            results[scenario.name] = result
            _write_results(output, record, scenarios, results)
            finished(result)

    if scripted is not None:
        with scripted.serving():
            await _all(one, scenarios)
    else:
        await _all(one, scenarios)
    record["finished_at"] = _now()
    _write_results(output, record, scenarios, results)
    return [results[scenario.name] for scenario in scenarios]


async def _all(one: Callable[[Scenario], Any], scenarios: Sequence[Scenario]) -> None:
    async with asyncio.TaskGroup() as group:
        for scenario in scenarios:
            group.create_task(one(scenario))


async def _run_scenario(
    suite: Suite,
    scenario: Scenario,
    settings: SuiteRunSettings,
    output: Path,
    judges_for: JudgeFactory,
    scripted: ScriptedCandidates | None,
) -> ScenarioResult:
    session = suite.session_of(scenario)
    if scenario.workspace is not None:
        session = with_workspace(session, scenario.workspace, suite.path, output / "_workspaces")
    cuts = choose_cuts(session, scenario.cut, 0)
    if not cuts:
        raise ConfigError(f"{suite.files[scenario.name]}: cut: the session has no place to cut")
    for cut in cuts:
        check_cut(session, cut)
    judges = judges_for(scenario)
    run_dir = RunDir(output / scenario.name)
    run_dir.path.mkdir(parents=True, exist_ok=True)
    run_dir.keep_sessions([session])
    candidate_for, candidate_record = _candidate(scenario, settings, scripted)
    run_settings = RunSettings(
        run_id=f"{settings.run_id}-{scenario.name}",
        samples=settings.samples or scenario.samples,
        cut=scenario.cut,
        tools=scenario.tools,
        forced=scenario.forced,
        limits=LoopLimits(max_steps=scenario.max_steps),
        backend=settings.backend,
        sandboxes=1,
    )
    record = {
        "candidate": candidate_record,
        "scenario": {
            "suite": suite.name,
            "name": scenario.name,
            "file": str(suite.files[scenario.name]),
        },
    }
    await run_to_dir([session], run_settings, candidate_for, run_dir, False, record)
    await judge_run(run_dir.path, judges)
    rollouts = run_dir.rollouts()
    judgments = list(read_models(run_dir.path / JUDGMENTS_FILE, Judgment))
    return evaluate(scenario, session, rollouts, judgments)


def _candidate(
    scenario: Scenario, settings: SuiteRunSettings, scripted: ScriptedCandidates | None
) -> tuple[Callable[[Session], Candidate], dict[str, Any]]:
    if not scenario.targets_candidate:
        return OriginalCandidate, {"original": True}
    model, base_url = settings.model, settings.base_url
    if scripted is not None:
        if not scripted.scripted(scenario):
            raise ConfigError(
                f"scenario {scenario.name!r} has no selftest script for {settings.model}"
            )
        model, base_url = scripted.model_for(scenario), scripted.base_url
    shared = OpenAICandidate(
        model,
        base_url=base_url,
        api_key_env=settings.api_key_env,
        temperature=settings.temperature,
        timeout_s=settings.request_timeout_s,
        max_retries=settings.max_retries,
    )
    return (lambda session: shared), {"model": model, "base_url": base_url}


def with_workspace(session: Session, workspace: Workspace, suite_path: Path, root: Path) -> Session:
    """The session working in a git repository of the workspace's files (made under ``root``,
    one folder per content, committed at a fixed date so that its environment is cached)."""
    files = dict(_folder_files(suite_path / workspace.dir)) if workspace.dir else {}
    files.update(workspace.files)
    if not files:
        raise ConfigError("workspace: no files (give files or dir)")
    digest = hashlib.sha256()
    for path, text in sorted(files.items()):
        digest.update(f"{path}\0{text}\0{path in workspace.executable}\0".encode())
    repo_path = root / digest.hexdigest()[:16]
    if not (repo_path / ".git").is_dir():
        _make_repo(repo_path, files, workspace.executable)
    workdir = workspace.workdir or session.env.workdir or DEFAULT_WORKDIR
    env = EnvSpec(repo=RepoSpec(path=str(repo_path)), workdir=workdir, setup=workspace.setup)
    return session.model_copy(update={"env": env})


def _folder_files(folder: Path) -> list[tuple[str, str]]:
    if not folder.is_dir():
        raise ConfigError(f"workspace.dir: no folder {folder}")
    return [
        (str(path.relative_to(folder)), path.read_text(encoding="utf-8"))
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def _make_repo(path: Path, files: dict[str, str], executable: list[str]) -> None:
    scratch = path.with_name(path.name + f".tmp{uuid.uuid4().hex[:6]}")
    write_fixed_repo(scratch, files, "scenario workspace", "understudy suite", executable)
    try:
        scratch.rename(path)
    except OSError:  # made meanwhile by a concurrent scenario with the same files
        shutil.rmtree(scratch, ignore_errors=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _suite_record(suite: Suite, settings: SuiteRunSettings) -> dict[str, Any]:
    return {
        "suite": suite.name,
        "version": suite.manifest.version,
        "path": str(suite.path),
        "settings": settings.model_dump(mode="json"),
        "started_at": _now(),
    }


def _write_results(
    output: Path,
    record: dict[str, Any],
    scenarios: Sequence[Scenario],
    results: dict[str, ScenarioResult],
) -> None:
    done = [results[s.name].model_dump(mode="json") for s in scenarios if s.name in results]
    write_json(output / SUITE_FILE, {**record, "results": done})


def read_results(path: Path) -> dict[str, ScenarioResult]:
    """The results of an earlier suite run (its output directory or its suite.json), by
    scenario name."""
    file = path / SUITE_FILE if path.is_dir() else path
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{file}: not the results of a suite run: {error}") from None
    results = [ScenarioResult.model_validate(item) for item in document.get("results", [])]
    return {result.name: result for result in results}


def default_judges(scenario: Scenario) -> list[Judge]:
    """The rule judges of the scenario's categories; a category no rule covers needs an LLM
    judge (a ConfigError names it)."""
    wanted = scenario.expect.categories()
    rules = rule_judges(wanted)
    judges: list[Judge] = list(rules)
    covered = {rule.category for rule in rules}
    missing = [category for category in wanted if category not in covered]
    if missing:
        raise ConfigError(
            f"scenario {scenario.name!r}: no rule judges {', '.join(missing)}; give --judge-model"
        )
    return judges
