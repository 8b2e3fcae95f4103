"""Shared test set-up: the Docker gate, the base image, run ids, sandboxes and the leak check.

Tests marked ``docker`` need an engine. Without one they are skipped, unless
``UNDERSTUDY_REQUIRE_DOCKER=1`` (CI sets it): then they fail, so that a broken engine can never
pass as "everything skipped".

Every sandbox a test starts carries a run id beginning with this session's ``SESSION_RUN_ID``
(``test-<8 hex>``). At the end of the session, any container still labelled with such a run id
is a leak: it is listed, removed, and the run fails.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import docker.errors
import hypothesis
import pytest

from understudy.protocols import Sandbox
from understudy.sandbox import BACKENDS, labels
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.engine import ENGINE_HELP, docker_client, engine_available
from understudy.sandbox.gc import remove_images as remove_in_passes

# CI must not turn red on a new random example: there, property tests run a fixed set of
# examples (locally they stay random, and find new failures).
hypothesis.settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

# A shell without job control starts its background jobs with SIGINT ignored, and an ignored
# signal is inherited: every run and server the tests start would then ignore the Ctrl-C that
# some tests send them. Python's own handler here is reset to the default in each child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SESSION_RUN_ID = f"test-{uuid.uuid4().hex[:8]}"
"""Prefix of the run id of every sandbox this test session starts (see the leak check)."""
REQUIRE_DOCKER = os.environ.get("UNDERSTUDY_REQUIRE_DOCKER") == "1"
BACKEND_PARAMS = [pytest.param("docker", marks=pytest.mark.docker), "local"]


# -- the Docker gate ---------------------------------------------------------------------------


@functools.cache
def engine_answers() -> bool:
    """Whether a Docker engine answers (asked once per session)."""
    return engine_available()


def docker_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when Docker tests are required."""
    if REQUIRE_DOCKER:
        pytest.fail(f"{reason} (UNDERSTUDY_REQUIRE_DOCKER=1, so this fails)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip Docker tests when no engine answers, unless they are required."""
    docker_items = [item for item in items if item.get_closest_marker("docker")]
    if not docker_items or REQUIRE_DOCKER or engine_answers():
        return
    skip = pytest.mark.skip(reason=ENGINE_HELP)
    for item in docker_items:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def _docker_gate(request: pytest.FixtureRequest) -> None:
    # Only reached without an engine when Docker tests are required (otherwise the collection
    # hook has skipped them): fail them, with the reason.
    if request.node.get_closest_marker("docker") and not engine_answers():
        docker_unavailable(ENGINE_HELP)


# -- Ray ----------------------------------------------------------------------------------------

REQUIRE_RAY = os.environ.get("UNDERSTUDY_REQUIRE_RAY") == "1"
RAY_CPUS = 2
"""CPUs of the tests' local Ray instance (this machine's count)."""


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[None]:
    """A local Ray instance shared by the session's Ray tests (started once: it takes seconds);
    Ray tests skip without Ray installed, or fail when UNDERSTUDY_REQUIRE_RAY=1."""
    try:
        import ray  # noqa: F401
    except ImportError:
        message = "Ray is not installed (pip install -e '.[ray]')"
        if REQUIRE_RAY:
            pytest.fail(f"{message} (UNDERSTUDY_REQUIRE_RAY=1, so this fails)", pytrace=False)
        pytest.skip(message)
    from understudy.replay.executors.ray_cluster import connect, disconnect

    started = connect(None, local_cpus=RAY_CPUS)
    yield
    disconnect(started)


@pytest.fixture(scope="session")
def base_image() -> str:
    """The base image tag; skips (or fails) if there is no engine or no image."""
    if not engine_answers():
        docker_unavailable(ENGINE_HELP)
    try:
        docker_client().images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        docker_unavailable(
            f"the base image {BASE_IMAGE} is not built; run `understudy images build`"
        )
    return BASE_IMAGE


# -- run ids -----------------------------------------------------------------------------------


@pytest.fixture
def built_images() -> Iterator[list[str]]:
    """Tags to remove after the test."""
    tags: list[str] = []
    yield tags
    for tag in tags:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client().images.remove(tag, force=True)


@pytest.fixture(scope="session")
def session_run_id() -> str:
    """The run id prefix of this test session."""
    return SESSION_RUN_ID


@pytest.fixture
def run_id() -> str:
    """A run id for one test, under this session's prefix (so the leak check covers it)."""
    return f"{SESSION_RUN_ID}-{uuid.uuid4().hex[:6]}"


# -- sandboxes ---------------------------------------------------------------------------------


async def start_quietly(backend: str, config: SandboxConfig) -> Sandbox:
    """Start a sandbox; the local backend's no-isolation warning is tested on its own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return await BACKENDS.get(backend).start(config)


class SandboxFactory:
    """Starts sandboxes of one backend; closes them, then removes their snapshots."""

    def __init__(self, backend: str, run_id: str) -> None:
        self.backend = backend
        self.run_id = run_id
        self._started: list[Sandbox] = []
        self._snapshots: list[str] = []

    def config(self, **settings: Any) -> SandboxConfig:
        return SandboxConfig(**{"run_id": self.run_id, **settings})

    async def start(self, **settings: Any) -> Sandbox:
        sandbox = await start_quietly(self.backend, self.config(**settings))
        self._started.append(sandbox)
        return sandbox

    async def snapshot(self, sandbox: Sandbox) -> str:
        snapshot_id = await sandbox.snapshot()
        self._snapshots.append(snapshot_id)
        return snapshot_id

    async def close(self) -> None:
        for sandbox in reversed(self._started):
            await sandbox.close()
        for snapshot_id in self._snapshots:
            if snapshot_id.startswith("local:"):
                snapshot_dir = Path(snapshot_id.removeprefix("local:"))
                shutil.rmtree(snapshot_dir, ignore_errors=True)
                # The persistent shell's state is kept beside the files.
                snapshot_dir.with_name(snapshot_dir.name + ".shell-state").unlink(missing_ok=True)
            else:
                # Only after the containers started from it are gone.
                with contextlib.suppress(docker.errors.ImageNotFound):
                    docker_client().images.remove(snapshot_id, force=True)


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn; the docker one carries the ``docker`` mark."""
    return str(request.param)


@pytest.fixture
async def sandbox_factory(
    backend: str, run_id: str, request: pytest.FixtureRequest
) -> AsyncIterator[SandboxFactory]:
    """Start sandboxes of ``backend`` with this test's run id; all are closed afterwards."""
    if backend == "docker":
        request.getfixturevalue("base_image")
    factory = SandboxFactory(backend, run_id)
    yield factory
    await factory.close()


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    """A started sandbox with the default settings (closed by ``sandbox_factory``)."""
    return await sandbox_factory.start()


# -- the leak check ----------------------------------------------------------------------------


def leftover_containers() -> list[Any]:
    """Containers of this session still present.

    Filtered on the run-id label prefix, not on ``understudy.managed`` alone: other processes
    (a concurrent test run, a real run) may own understudy containers on the same engine.
    """
    managed = docker_client().containers.list(
        all=True, filters={"label": f"{labels.MANAGED}=1"}, ignore_removed=True
    )
    return [
        container
        for container in managed
        if (container.labels or {}).get(labels.RUN_ID, "").startswith(SESSION_RUN_ID)
    ]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Remove the images that earlier test sessions built and could not remove because they
    were killed: a prefix snapshot of a fixed demo repository left behind would be found
    cached by the test that builds it."""
    if engine_available():
        remove_images(
            lambda found: (
                found.get(labels.RUN_ID, "").startswith("test-")
                and labels.owner_alive(found.get(labels.OWNER, "")) is False
            )
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite ends by asserting that no understudy container of this session is left, then
    removes the env images and snapshots it built: those of its runs (they carry its run ids)
    and any other this process built (a command run in it, ``understudy reproduce`` say,
    labels them with its own run id, but with this process as their owner)."""
    if not engine_available():
        return
    report_leaked_containers(session)
    own = labels.owner_token()
    remove_images(
        lambda found: (
            found.get(labels.RUN_ID, "").startswith(SESSION_RUN_ID)
            or found.get(labels.OWNER) == own
        )
    )


def remove_images(chosen: Callable[[dict[str, str]], bool]) -> None:
    """Remove the understudy images whose labels are ``chosen``, newest first (a snapshot of a
    snapshot goes before its parent), in passes (``understudy.sandbox.gc.remove_images``)."""
    # The low-level listing: the high-level one inspects each image in turn, which fails when
    # another test session on the same engine removes one of its own images meanwhile.
    images = docker_client().api.images(filters={"label": labels.MANAGED})
    ours = [image for image in images if chosen(image.get("Labels") or {})]
    ours.sort(key=lambda image: image.get("Created", 0), reverse=True)
    remove_in_passes([str(image["Id"]) for image in ours], force=True)


def report_leaked_containers(session: pytest.Session) -> None:
    left = leftover_containers()
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{c.name} ({c.status}, run id {c.labels.get(labels.RUN_ID)})" for c in left]
    message = "understudy containers left behind by this test session:\n  " + "\n  ".join(lines)
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", "LEAKED CONTAINERS", red=True, bold=True)
        reporter.write_line(message)
    else:
        print(message)
    for container in left:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
