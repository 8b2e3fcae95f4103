"""The runner: sessions x cuts x samples, each a rollout in its own sandbox.

Two limits bound the work in flight: ``sandboxes`` (rollouts with a live container, env builds
included) and ``model_concurrency`` (candidate requests at once). Finished rollouts are appended
to the run directory as they come; Ctrl-C cancels what is in flight, closes its sandboxes and
keeps every rollout already written.

Before the candidate takes over, the environment is brought to the state at the cut: the
prefix's recorded state-changing calls are re-executed once per (session, cut) and snapshotted
(:mod:`understudy.replay.prefix_snapshot`), and every sample starts from that snapshot with the
prefix's ``env_fidelity`` and mismatches on its rollout.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import EnvBuildError, ImageNotFoundError, SandboxError
from understudy.logging import get_logger
from understudy.protocols import (
    Candidate,
    CandidateReply,
    PlannedRollout,
    Sandbox,
    SeedableCandidate,
)
from understudy.replay.cuts import Cut, choose_cuts
from understudy.replay.env_resolution import EnvResolver, WorkspaceMode
from understudy.replay.executors import ExecutorSettings, make_executor
from understudy.replay.loop import LoopLimits, failure_kind, new_rollout, run_rollout
from understudy.replay.prefix import PrefixErrors, describe_call, needs_prefix, session_agent
from understudy.replay.prefix_snapshot import PrefixSnapshot, snapshot_prefix
from understudy.replay.run_pairs import build_run_pairs, run_simulator
from understudy.replay.rundir import RolloutKey, RunDir
from understudy.replay.simulate import NO_SIMULATOR, SimulatorConfig, Simulators
from understudy.replay.workspace_guard import WorkspaceGuard
from understudy.sandbox.backends import BackendName, run_backend
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.envspec import BuiltEnv
from understudy.sandbox.repo_source import parse_mirror_rules
from understudy.tools.forced import ForcedResult
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import (
    EnvSpec,
    Message,
    Rollout,
    Session,
    ToolSpec,
    error_kind,
)

log = get_logger("replay.runner")

CandidateFactory = Callable[[Session], Candidate]
"""The candidate for a session (one shared client, or one per session like OriginalCandidate)."""
Progress = Callable[[Rollout], None]


class RunSettings(BaseModel):
    """What a run does besides choosing the candidate."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    run_id: str
    """Labels every container of the run."""
    samples: int = Field(default=1, gt=0)
    """Rollouts per (session, cut)."""
    cut: Cut = "last-user"
    """Where the candidate takes over: a mode, or a message index (the same in every
    session; see :func:`~understudy.replay.cuts.check_cut`)."""
    cut_seed: int = 0
    """Seed of ``random-user`` cuts."""
    sample_seed: int | None = None
    """Sampling seed of sample 0; sample ``i`` is requested with ``sample_seed + i`` (for
    candidates that take a seed). None sends no seed, leaving samples to the endpoint's chance."""
    tools: str | None = None
    """Tool policy spec (see understudy.tools.policy)."""
    model_concurrency: int = Field(default=4, gt=0)
    """Candidate requests in flight at once."""
    sandboxes: int = Field(default=2, gt=0)
    """Rollouts with a live sandbox at once."""
    limits: LoopLimits = Field(default_factory=LoopLimits)
    """When a rollout stops."""
    base_image: str = BASE_IMAGE
    """Image for sessions that declare no image of their own."""
    allow_base_image: bool = False
    """Build on ``base_image`` when a session's declared image is absent, recording it on the
    rollout (``meta["missing_image"]``); without it such a session's rollouts are
    ``environment`` errors."""
    backend: BackendName = "auto"
    """Sandbox backend: a declared one (``docker``; ``local``, with no isolation, where the
    prefix is re-executed for every rollout), or ``auto`` (docker when an engine answers, else
    local with a warning)."""
    prefix_state: bool = True
    """Re-execute the recorded state-changing calls of the prefix before the candidate takes
    over (once per session and cut, snapshotted); False starts from the env image as it is."""
    prefix_errors: PrefixErrors = "continue"
    """What a prefix call that cannot be re-executed does: ``continue`` notes it and goes on,
    ``abort`` stops there and makes the rollout an error without calling the candidate."""
    sandbox_root: bool = False
    """Run commands as root; by default Docker sandboxes run as an unprivileged user where the
    environment's image allows it (``rollout.meta["sandbox_user"]`` says who)."""
    read_only_root: bool = False
    """The candidate's sandbox gets a read-only root (the working directory, /tmp and the
    user's home stay writable); the prefix is re-executed in a writable one, as recorded."""
    disk_limit: str | None = None
    """Most disk a sandbox may write (Docker syntax: 10g), where the storage driver can limit it."""
    repo_mirrors: list[str] = Field(default_factory=list)
    """``--repo-mirror`` rules (``URL=PATH``, see :mod:`understudy.sandbox.repo_source`):
    where repositories are cloned from instead of the URLs the logs name."""
    workspace: WorkspaceMode = "auto"
    """Where sessions' files come from: the repository, else a workspace rebuilt from the log
    (``auto``); always the log (``log``); only the repository (``repo``)."""
    forced: list[ForcedResult] = Field(default_factory=list)
    """Tool results fixed in advance for the candidate's calls that match (a scenario's trap,
    see :mod:`understudy.tools.forced`), asked before the tool policy."""
    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    """What answers the calls a policy sends to ``simulate`` (``name="none"``: nothing, so they
    go on to ``unavailable``); without a pair database, the run builds one from its own
    sessions in the run directory (``pairs.db``), and keeps the llm simulator's replies there
    (``simulator-cache.jsonl``)."""


@dataclass(frozen=True)
class PreparedState:
    """A session ready to start sandboxes at a cut (see :meth:`Runner.prepare`)."""

    session: Session
    """The session with its environment resolved (clone source, commit, workspace)."""
    config: SandboxConfig
    """Sandbox settings starting from the state at the cut (the prefix image, if any)."""
    env: BuiltEnv
    """The environment as built."""
    env_record: dict[str, Any]
    """How the environment was resolved (for ``rollout.meta["env"]``)."""
    prefix: PrefixSnapshot | None
    """The state at the cut and its fidelity; None when nothing was re-executed."""


class _Limited:
    """A candidate whose requests wait for a shared slot."""

    def __init__(self, candidate: Candidate, slots: asyncio.Semaphore) -> None:
        self._candidate = candidate
        self._slots = slots
        self.model = candidate.model
        self.params = candidate.params

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> CandidateReply:
        async with self._slots:
            return await self._candidate.complete(messages, tools)

    async def close(self) -> None:
        await self._candidate.close()


def plan(sessions: Sequence[Session], settings: RunSettings) -> list[PlannedRollout]:
    """Every (session, cut, sample) of the run, in order."""
    return [
        (session, cut, sample)
        for session in sessions
        for cut in choose_cuts(session, settings.cut, settings.cut_seed)
        for sample in range(settings.samples)
    ]


class Runner:
    """Runs the rollouts of one run directory."""

    def __init__(
        self, settings: RunSettings, candidate_for: CandidateFactory, run_dir: RunDir
    ) -> None:
        self.settings = settings
        self.candidate_for = candidate_for
        self.run_dir = run_dir
        self.policy = ToolPolicy.parse(settings.tools)
        self.backend = run_backend(settings.backend)
        """Where sandboxes start, environments are built and prefix states are kept."""
        self.builder = self.backend.builder(
            settings.base_image,
            settings.run_id,
            settings.allow_base_image,
            sandbox_root=settings.sandbox_root,
        )
        self.resolver = EnvResolver(
            parse_mirror_rules(settings.repo_mirrors), settings.workspace, self.builder.has_image
        )
        """Each session's clone source and commit (see :mod:`understudy.replay.env_resolution`)."""
        self._built: dict[str, asyncio.Task[BuiltEnv]] = {}
        """Environments built (or found) in this run, by their spec: every rollout of an
        environment shares its one build, also while it is still going, rather than asking the
        engine about its images again. A failed build is forgotten, so the next rollout tries
        again."""
        self._model_slots = asyncio.Semaphore(settings.model_concurrency)
        self._sandbox_slots = asyncio.Semaphore(settings.sandboxes)
        self.prefixes = self.backend.prefixes(settings.run_id)
        """The state at each cut (docker: snapshots shared by the samples of a prefix)."""
        self.simulators = (
            Simulators(run_simulator(settings.simulator, run_dir.path))
            if settings.simulator.name != NO_SIMULATOR
            else None
        )
        """A simulator for each rollout, sharing the run's pair store and endpoint."""

    async def close(self) -> None:
        """Close the simulators' pair store and endpoint."""
        if self.simulators is not None:
            await self.simulators.close()

    async def run(
        self,
        work: list[PlannedRollout],
        done: set[RolloutKey],
        finished: Callable[[Rollout], None],
    ) -> None:
        """Play every planned rollout not in ``done`` here, in this process (the ``local``
        executor), handing each to ``finished`` as it ends."""

        async def one(session: Session, cut: int, sample: int) -> None:
            finished(await self.play(session, cut, sample))

        async with asyncio.TaskGroup() as group:
            for session, cut, sample in work:
                if (session.id, cut, sample) not in done:
                    group.create_task(one(session, cut, sample))

    async def play(self, session: Session, cut: int, sample: int) -> Rollout:
        """One planned rollout, whatever happens: a crash of understudy itself is an ``error``
        rollout of kind ``harness`` (its traceback in the events), not an exception."""
        try:
            return await self._rollout(session, cut, sample)
        except Exception as failure:
            log.exception("rollout crashed", session=session.id, cut=cut, sample=sample)
            return _failed(session, cut, sample, self._candidate(session, sample), failure)

    async def _rollout(self, session: Session, cut: int, sample: int) -> Rollout:
        candidate = _Limited(self._candidate(session, sample), self._model_slots)
        async with self._sandbox_slots:
            try:
                return await self._prepared_rollout(session, cut, sample, candidate)
            except (EnvBuildError, ImageNotFoundError, SandboxError) as failure:
                log.warning("environment failed", session=session.id, error=str(failure))
                return _failed(session, cut, sample, candidate, failure)

    async def remove_leftovers(self) -> None:
        """Remove what a killed earlier process of this run left behind: with docker, the
        containers labelled with this run's id whose owner process is gone (cached images are
        kept for reuse)."""
        await self.backend.remove_leftovers(self.settings.run_id)

    def _candidate(self, session: Session, sample: int) -> Candidate:
        """The session's candidate, with the seed of this sample when it takes one."""
        candidate = self.candidate_for(session)
        seed = self.settings.sample_seed
        if seed is not None and isinstance(candidate, SeedableCandidate):
            return candidate.with_seed(seed + sample)
        return candidate

    async def prepare(
        self, session: Session, cut: int, env_of: Session | None = None
    ) -> PreparedState:
        """The session's environment, built, and the state at ``cut``: the prefix image the
        candidate's sandbox starts from (re-executed once, then cached).

        ``env_of`` is the session whose environment to resolve, when ``session`` is only part
        of it (a trajectory cut at a step: the whole log tells its repository and workdir).
        Resolutions are kept by session id, so one id must always stand for one session here.
        """
        resolved, env_record = await self.resolver.resolve(env_of or session)
        session = session.model_copy(update={"env": resolved.env}) if env_of else resolved
        env = await self._environment(session.env)
        config = SandboxConfig(
            image=env.image,
            workdir=session.env.workdir,
            env=session.env.env,
            run_id=self.settings.run_id,
            disk_limit=self.settings.disk_limit,
        )
        prefix = None
        if self.settings.prefix_state and needs_prefix(session, cut):
            prefix = await snapshot_prefix(
                self.prefixes, session, cut, env.env_hash, config, self.settings.prefix_errors
            )
            config = config.model_copy(update={"image": prefix.image})
        return PreparedState(session, config, env, env_record, prefix)

    async def _environment(self, spec: EnvSpec) -> BuiltEnv:
        """The built environment of ``spec``: built (or found) once per run."""
        key = spec.model_dump_json()
        building = self._built.get(key)
        if building is None:
            building = asyncio.ensure_future(self.builder.build(spec))
            self._built[key] = building
            first = True
        else:
            first = False
        try:
            # Shielded: one rollout's cancellation must not cancel a build others wait for.
            env = await asyncio.shield(building)
        except BaseException:
            if building.done() and self._built.get(key) is building:
                del self._built[key]
            raise
        return env if first else env.model_copy(update={"cached": True})

    async def _prepared_rollout(
        self, session: Session, cut: int, sample: int, candidate: _Limited
    ) -> Rollout:
        """Environment, state at the cut, then the candidate's turn in a sandbox of its own."""
        started = time.monotonic()
        state = await self.prepare(session, cut)
        session, env, env_record, prefix = state.session, state.env, state.env_record, state.prefix
        if prefix and prefix.state.failed_call and self.settings.prefix_errors == "abort":
            return prefix.applied_to(_prefix_failed(session, cut, sample, candidate, prefix))
        config = state.config.model_copy(update={"read_only_root": self.settings.read_only_root})
        async with self.backend.started(config) as sandbox:
            ready_s = time.monotonic() - started
            guard = _workspace_guard(session, cut, env_record)
            rollout = await self._play(session, cut, sample, candidate, sandbox, guard)
        rollout.timing["env_s"] = round(ready_s - (prefix.seconds if prefix else 0.0), 4)
        rollout.meta["sandbox_user"] = env.user
        if env.installed:
            env_record = {**env_record, "installed": env.installed}
        if env_record:
            rollout.meta["env"] = env_record
        if env.missing_image:
            rollout.meta["missing_image"] = {"declared": env.missing_image, "used": env.base_image}
        return prefix.applied_to(rollout) if prefix else rollout

    async def _play(
        self,
        session: Session,
        cut: int,
        sample: int,
        candidate: _Limited,
        sandbox: Sandbox,
        guard: WorkspaceGuard | None = None,
    ) -> Rollout:
        """The candidate's rollout in ``sandbox``, with the files it left changed."""
        router = ToolRouter(
            session.tools,
            ReplayStore(session.messages),
            sandbox,
            self.policy,
            agent=session_agent(session),
            guard=guard.check if guard else None,
            simulator=self.simulators.for_rollout() if self.simulators else None,
            session_id=session.id,
            forced=self.settings.forced,
        )
        rollout = await run_rollout(session, cut, sample, candidate, router, self.settings.limits)
        await _record_changes(rollout, sandbox)
        return rollout


def local_executor(
    options: ExecutorSettings,
    settings: RunSettings,
    candidate_for: CandidateFactory,
    run_dir: RunDir,
) -> Runner:
    """The ``local`` executor: a Runner in this process."""
    return Runner(settings, candidate_for, run_dir)


def _workspace_guard(
    session: Session, cut: int, env_record: dict[str, Any]
) -> WorkspaceGuard | None:
    """For a workspace rebuilt from the log, what it lacks once the prefix wrote its files."""
    workspace = env_record.get("workspace")
    if not workspace:
        return None
    guard = WorkspaceGuard.of(workspace, session.env.workdir, session_agent(session))
    for message in session.messages[:cut]:
        for call in message.tool_calls:
            guard.check(call)
    return guard


async def _record_changes(rollout: Rollout, sandbox: Sandbox) -> None:
    """Note the files the rollout left changed (a crashed sandbox is noted, not fatal)."""
    try:
        changes = await sandbox.changed_files()
    except SandboxError as exc:
        rollout.meta["changed_files_error"] = str(exc)
        return
    rollout.meta["changed_files"] = [change.model_dump() for change in changes]


def _failed(
    session: Session, cut: int, sample: int, candidate: Candidate, failure: Exception
) -> Rollout:
    rollout = new_rollout(session, cut, sample, candidate)
    rollout.status, rollout.error = "error", f"{type(failure).__name__}: {failure}"
    rollout.error_kind = failure_kind(failure)
    return rollout


def _prefix_failed(
    session: Session, cut: int, sample: int, candidate: _Limited, prefix: PrefixSnapshot
) -> Rollout:
    """The error rollout of a prefix stopped at a call that could not be re-executed."""
    assert prefix.state.failed_call is not None
    rollout = new_rollout(session, cut, sample, candidate)
    rollout.status, rollout.error_kind = "error", "prefix"
    rollout.error = (
        f"prefix call failed at {describe_call(prefix.state.failed_call)} "
        "(--prefix-errors abort: the candidate was not called)"
    )
    return rollout


def summarize(rollouts: Sequence[Rollout]) -> dict[str, Any]:
    """Counts for run.json and the CLI: rollouts by status, tool calls by outcome, tokens."""
    statuses: Counter[str] = Counter(rollout.status for rollout in rollouts)
    errors: Counter[str] = Counter(error_kind(r) for r in rollouts if r.status == "error")
    tools: Counter[str] = Counter()
    usage: Counter[str] = Counter()
    for rollout in rollouts:
        tools.update(rollout.tool_stats)
        usage.update(rollout.usage)
    turns = [sum(m.role == "assistant" for m in rollout.messages) for rollout in rollouts]
    return {
        "rollouts": len(rollouts),
        "status": dict(statuses),
        "errors": dict(errors),
        "tool_calls": dict(tools),
        "usage": dict(usage),
        "mean_turns": round(sum(turns) / len(turns), 2) if turns else 0.0,
    }


async def run_to_dir(
    sessions: Sequence[Session],
    settings: RunSettings,
    candidate_for: CandidateFactory,
    run_dir: RunDir,
    resume: bool = False,
    config_record: dict[str, Any] | None = None,
    on_plan: Callable[[int, int], None] = lambda total, skipped: None,
    progress: Progress = lambda rollout: None,
    executor: ExecutorSettings | None = None,
) -> dict[str, Any]:
    """A whole run into ``run_dir``: plan, skip what is written, run the rest on ``executor``
    (default: in this process), summarize. This process alone writes ``run_dir``."""
    executor = executor or ExecutorSettings()
    record = {
        "settings": settings.model_dump(mode="json"),
        **(config_record or {}),
        "executor": executor.model_dump(mode="json"),
        "hashes": run_hashes(sessions, settings),
    }
    _warn_if_sessions_changed(run_dir, record["hashes"], resume)
    done = run_dir.open(record, resume=resume)
    build_run_pairs(settings.simulator, sessions, run_dir.path, record["hashes"]["sessions_sha256"])
    work = plan(sessions, settings)
    skipped = sum((session.id, cut, sample) in done for session, cut, sample in work)
    on_plan(len(work), skipped)
    log.info("run planned", rollouts=len(work), skipped=skipped, sessions=len(sessions))

    def finished(rollout: Rollout) -> None:
        run_dir.append(rollout)
        progress(rollout)

    runner = make_executor(executor, settings, candidate_for, run_dir)
    try:
        if resume:
            await runner.remove_leftovers()
        await runner.run(work, done, finished)
    finally:
        await runner.close()
    summary = summarize(run_dir.rollouts())
    run_dir.finish(summary)
    return summary


def run_hashes(sessions: Sequence[Session], settings: RunSettings) -> dict[str, str]:
    """SHA-256 of the run's sessions (in order) and of its settings, for run.json: two runs with
    the same hashes replayed the same input the same way."""
    sessions_digest = hashlib.sha256()
    for session in sessions:
        sessions_digest.update(session.model_dump_json().encode())
        sessions_digest.update(b"\n")
    settings_json = json.dumps(settings.model_dump(mode="json"), sort_keys=True)
    return {
        "sessions_sha256": sessions_digest.hexdigest(),
        "settings_sha256": hashlib.sha256(settings_json.encode()).hexdigest(),
    }


def _warn_if_sessions_changed(run_dir: RunDir, hashes: dict[str, str], resume: bool) -> None:
    """A resumed run whose sessions differ from those it started with mixes two inputs."""
    if not resume:
        return
    before = run_dir.read_info().get("config", {}).get("hashes", {}).get("sessions_sha256")
    if before and before != hashes["sessions_sha256"]:
        log.warning("resumed with other sessions than it started with", run=str(run_dir.path))
