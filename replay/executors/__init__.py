"""Executors: where a run's rollouts are played (see :class:`understudy.protocols.Executor`).

- ``local`` (the default): asyncio in this process, the sandboxes on this machine's backend
  (:class:`understudy.replay.runner.Runner`).
- ``ray``: workers on a Ray cluster, each with a Runner of its own on its node's Docker engine
  (or local backend), building the environments it needs there
  (:mod:`understudy.replay.executors.ray_driver`). Ray is an optional extra:
  ``pip install 'understudy[ray]'``.

Either way the rollouts come back to this process, which alone appends them to the run
directory, so ``--resume`` works whichever executor wrote what is there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from understudy.registry import Registry

if TYPE_CHECKING:
    from understudy.protocols import Executor
    from understudy.replay.rundir import RunDir
    from understudy.replay.runner import CandidateFactory, RunSettings


class ExecutorSettings(BaseModel):
    """Where a run's rollouts are played, and how much of it at once."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str = "local"
    """``local`` (this process), ``ray`` (a Ray cluster), or a dotted path to a factory taking
    (executor settings, run settings, candidate factory, run directory)."""
    address: str | None = None
    """The Ray cluster to join (``auto``, ``ray://HEAD:10001``, ``HEAD:6379``); None starts a
    Ray instance on this machine for the run, unless this process already joined one."""
    workers: int | None = Field(default=None, gt=0)
    """Ray workers to start; None: one per node of the cluster that can run sandboxes. Several
    may share a node. Each plays up to the run's ``sandboxes`` rollouts at once."""
    max_in_flight: int | None = Field(default=None, gt=0)
    """Most rollouts in flight across all workers; None: workers x sandboxes."""
    retries: int = Field(default=2, ge=0)
    """Times a rollout whose worker died is played again (on a restarted or another worker)
    before it is recorded as an ``error`` of kind ``worker``."""
    worker_env: dict[str, str] = Field(default_factory=dict)
    """Environment variables set in every Ray worker (``DOCKER_HOST`` of the nodes' engines,
    say); the candidate's API key is passed on by itself when this process has it."""
    local_cpus: int | None = Field(default=None, gt=0)
    """CPUs of a Ray instance the run starts on this machine (None: Ray counts them)."""


ExecutorFactory = Callable[
    ["ExecutorSettings", "RunSettings", "CandidateFactory", "RunDir"], "Executor"
]

EXECUTORS: Registry[ExecutorFactory] = Registry(
    "executor",
    {
        "local": "understudy.replay.runner:local_executor",
        "ray": "understudy.replay.executors.ray_driver:RayExecutor",
    },
)
"""The executors by short name (their modules are imported only when used)."""


def make_executor(
    options: ExecutorSettings,
    settings: RunSettings,
    candidate_for: CandidateFactory,
    run_dir: RunDir,
) -> Executor:
    """The executor ``options.name`` for a run with ``settings``."""
    return EXECUTORS.get(options.name)(options, settings, candidate_for, run_dir)
