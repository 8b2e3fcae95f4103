"""Prefix snapshots and the sandbox pool on a real engine: built once, found again across runs,
fanned out to isolated samples, pruned by gc; pool sandboxes are warm and never leak."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest
from test_sandbox_docker import containers_of
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import ConfigError, ImageNotFoundError, SandboxClosedError
from understudy.sandbox import labels
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.gc import collect_garbage
from understudy.sandbox.pool import SandboxPool
from understudy.sandbox.snapshots import (
    MAX_STATE_BYTES,
    CachedPrefix,
    PrefixCache,
    PrefixKey,
    PrefixStateError,
)

GIT = "git -c user.name=test -c user.email=test@example.invalid"
PREFIX_COMMANDS = [
    f"git init -q repo && cd repo && printf 'alpha\\n' > a.txt && {GIT} add a.txt"
    f" && {GIT} commit -qm init",
    "sed -i 's/alpha/beta/' repo/a.txt",
    "printf 'prefix\\n' > repo/notes.txt",
]
STATE = {"fidelity": 1.0, "replayed": len(PREFIX_COMMANDS), "mismatches": []}


class PrefixBuilder:
    """Re-executes PREFIX_COMMANDS and counts how often it was asked to."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.calls = 0
        self.state = STATE if state is None else state

    async def __call__(self, sandbox: DockerSandbox) -> dict[str, Any]:
        self.calls += 1
        for command in PREFIX_COMMANDS:
            result = await sandbox.exec(command)
            assert result.exit_code == 0, result.output
        return self.state


class BuildFailed(Exception):
    """What a prefix build raises when a recorded call does not replay."""


async def failing_build(sandbox: DockerSandbox) -> dict[str, Any]:
    await sandbox.exec("touch half-done")
    raise BuildFailed("recorded call 2 did not replay")


async def forbidden_build(sandbox: DockerSandbox) -> dict[str, Any]:
    raise AssertionError("a cache hit must not build")


def prefix_key(run_id: str, cut: int = 3, recipe: str = "calls-v1") -> PrefixKey:
    return PrefixKey(env_hash="e" * 64, session_id=f"session-{run_id}", cut=cut, recipe=recipe)


def image_exists(reference: str) -> bool:
    try:
        docker_client().images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


@pytest.fixture
def config(base_image: str, run_id: str) -> SandboxConfig:
    """Sandboxes from the base image, standing in for an env image."""
    return SandboxConfig(image=base_image, run_id=run_id)


@pytest.fixture
def cache(run_id: str) -> Iterator[PrefixCache]:
    """A prefix cache of this test's run; the prefix images it built are removed afterwards."""
    yield PrefixCache(run_id)
    client = docker_client()
    for image in client.images.list(filters={"label": f"{labels.RUN_ID}={run_id}"}):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(str(image.id), force=True)


# -- keys --------------------------------------------------------------------------------------


def test_the_tag_depends_on_every_field_of_the_key() -> None:
    key = PrefixKey(env_hash="a" * 64, session_id="s1", cut=4, recipe="r1")
    assert key.tag().startswith("understudy/prefix:")
    assert len(key.tag().rpartition(":")[2]) == 16
    assert key.tag() == PrefixKey(env_hash="a" * 64, session_id="s1", cut=4, recipe="r1").tag()
    variants = [
        key.model_copy(update={"env_hash": "b" * 64}),
        key.model_copy(update={"session_id": "s2"}),
        key.model_copy(update={"cut": 5}),
        key.model_copy(update={"recipe": "r2"}),
    ]
    assert len({key.tag(), *(variant.tag() for variant in variants)}) == 5


# -- the cache ---------------------------------------------------------------------------------


@pytest.mark.docker
async def test_a_miss_builds_once_and_a_later_run_finds_the_same_state(
    cache: PrefixCache, config: SandboxConfig, run_id: str
) -> None:
    key = prefix_key(run_id)
    build = PrefixBuilder()
    built = await cache.get_or_build(key, config, build)
    assert (built.cached, built.image, built.state, build.calls) == (False, key.tag(), STATE, 1)
    assert built.build_s > 0
    assert containers_of(run_id) == []  # the build sandbox is gone

    found = await PrefixCache(run_id).get_or_build(key, config, forbidden_build)
    assert (found.cached, found.image_id, found.state, found.build_s) == (
        True,
        built.image_id,
        STATE,
        0.0,
    )
    image_labels = docker_client().images.get(found.image).labels
    assert image_labels[labels.KIND] == "prefix"
    assert image_labels[labels.SESSION] == key.session_id
    assert image_labels[labels.CUT] == "3"
    assert image_labels[labels.ENV_HASH] == key.env_hash
    assert image_labels[labels.RUN_ID] == run_id


@pytest.mark.docker
async def test_sixteen_concurrent_requests_for_one_prefix_build_it_once(
    cache: PrefixCache, config: SandboxConfig, run_id: str
) -> None:
    build = PrefixBuilder()
    key = prefix_key(run_id)
    results = await asyncio.gather(*(cache.get_or_build(key, config, build) for _ in range(16)))
    assert build.calls == 1
    assert len({result.image_id for result in results}) == 1
    assert [result.cached for result in results].count(False) == 1


@pytest.mark.docker
async def test_sixteen_samples_fan_out_from_one_prefix_and_stay_isolated(
    cache: PrefixCache, config: SandboxConfig, run_id: str
) -> None:
    prefix = await cache.get_or_build(prefix_key(run_id), config, PrefixBuilder())
    sample_config = config.model_copy(update={"image": prefix.image})
    samples: list[DockerSandbox] = []
    four_at_once = asyncio.Semaphore(4)

    async def start_sample() -> None:
        async with four_at_once:
            samples.append(await DockerSandbox.start(sample_config))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(16):
                group.create_task(start_sample())
        # Every sample changes the shared file and adds its own: all at once.
        await asyncio.gather(
            *(
                sample.exec(f"echo {number} >> repo/notes.txt && touch repo/sample-{number}")
                for number, sample in enumerate(samples)
            )
        )
        for number, sample in enumerate(samples):
            assert await sample.read_file("repo/a.txt") == b"beta\n"
            assert await sample.read_file("repo/notes.txt") == f"prefix\n{number}\n".encode()
            own = await sample.exec("ls repo | grep sample- ; git -C repo log --format=%s")
            assert own.output == f"sample-{number}\ninit\n"
    finally:
        await asyncio.gather(*(sample.close() for sample in samples))
    assert len(samples) == 16
    assert containers_of(run_id) == []


@pytest.mark.docker
async def test_a_failing_build_propagates_and_commits_nothing(
    cache: PrefixCache, config: SandboxConfig, run_id: str
) -> None:
    key = prefix_key(run_id)
    with pytest.raises(BuildFailed, match="recorded call 2 did not replay"):
        await cache.get_or_build(key, config, failing_build)
    assert not image_exists(key.tag())
    assert containers_of(run_id) == []
    # Nothing half-built is served later: the next request builds.
    rebuilt = await cache.get_or_build(key, config, PrefixBuilder())
    assert not rebuilt.cached


@pytest.mark.docker
@pytest.mark.parametrize(
    ("state", "problem"),
    [({"outputs": "x" * (MAX_STATE_BYTES + 1)}, "bytes of JSON"), ({"at": object()}, "JSON")],
)
async def test_a_state_that_cannot_be_a_label_is_an_error_naming_the_key(
    cache: PrefixCache, config: SandboxConfig, run_id: str, state: dict[str, Any], problem: str
) -> None:
    key = prefix_key(run_id)
    with pytest.raises(PrefixStateError, match=problem) as raised:
        await cache.get_or_build(key, config, PrefixBuilder(state))
    assert f"session {key.session_id!r} at cut 3" in str(raised.value)
    assert not image_exists(key.tag())
    assert containers_of(run_id) == []


# -- gc ----------------------------------------------------------------------------------------


@pytest.mark.docker
async def test_gc_images_prunes_an_unused_prefix_and_keeps_one_in_use(
    cache: PrefixCache, config: SandboxConfig, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Built as if by a run that has ended: gc keeps the images of live owners.
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    ended_owner = labels.owner_token(int(ended.stdout))
    with monkeypatch.context() as patch:
        patch.setattr(labels, "owner_token", lambda pid=None: ended_owner)
        unused = await cache.get_or_build(prefix_key(run_id, cut=1), config, PrefixBuilder())
        in_use = await cache.get_or_build(prefix_key(run_id, cut=2), config, PrefixBuilder())
    sample_config = config.model_copy(update={"image": in_use.image})
    async with await DockerSandbox.start(sample_config):
        dry = CliRunner().invoke(app, ["sandbox", "gc", "--images", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert f"would remove image {unused.image}" in dry.output
        assert image_exists(unused.image_id)

        # Only this test's run: the caches of other runs on the engine stay.
        report = collect_garbage(images=True, run_id_prefix=run_id)
        assert report.removed_images == [unused.image]
        assert report.kept_images == [in_use.image]
        assert not image_exists(unused.image_id)
        assert image_exists(in_use.image_id)
    report = collect_garbage(images=True, run_id_prefix=run_id)
    assert report.removed_images == [in_use.image]
    assert not image_exists(in_use.image_id)
    again = await cache.get_or_build(prefix_key(run_id, cut=2), config, PrefixBuilder())
    assert not again.cached


# -- the pool ----------------------------------------------------------------------------------


@pytest.mark.docker
async def test_the_pool_hands_out_a_prestarted_sandbox_and_replaces_it(
    config: SandboxConfig, run_id: str
) -> None:
    async with SandboxPool(config, size=2) as pool:
        await pool.fill()
        assert pool.ready == 2
        prestarted = set(containers_of(run_id))
        sandbox = await pool.acquire()
        try:
            assert sandbox.id in prestarted
            assert (await sandbox.exec("echo ready")).output == "ready\n"
            await pool.fill()
            assert pool.ready == 2
            assert len(containers_of(run_id)) == 3
        finally:
            await sandbox.close()
    assert containers_of(run_id) == []
    with pytest.raises(SandboxClosedError):
        await pool.acquire()


@pytest.mark.docker
async def test_samples_from_a_pool_of_prefix_sandboxes_see_the_prefix(
    cache: PrefixCache, config: SandboxConfig, run_id: str
) -> None:
    prefix: CachedPrefix = await cache.get_or_build(prefix_key(run_id), config, PrefixBuilder())
    async with SandboxPool(config.model_copy(update={"image": prefix.image}), size=2) as pool:
        for _ in range(4):  # more than the pool holds: it keeps replacing
            async with await pool.acquire() as sample:
                assert await sample.read_file("repo/a.txt") == b"beta\n"
    assert containers_of(run_id) == []


@pytest.mark.docker
async def test_an_empty_pool_starts_on_demand(config: SandboxConfig, run_id: str) -> None:
    async with SandboxPool(config, size=0) as pool:
        assert pool.ready == 0
        async with await pool.acquire() as sandbox:
            assert (await sandbox.exec("true")).exit_code == 0
        assert containers_of(run_id) == []


@pytest.mark.docker
async def test_cancelled_acquire_and_close_during_starts_leave_no_containers(
    config: SandboxConfig, run_id: str
) -> None:
    pool = SandboxPool(config, size=0)
    acquiring = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.05)  # the start is under way
    acquiring.cancel()
    with pytest.raises(asyncio.CancelledError):
        await acquiring
    await pool.close()
    assert containers_of(run_id) == []

    pool = SandboxPool(config, size=3)
    await pool.__aenter__()  # three starts in flight
    closing = asyncio.ensure_future(pool.close())
    await asyncio.sleep(0)
    closing.cancel()  # the clean-up still finishes before the cancellation is raised
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert containers_of(run_id) == []


@pytest.mark.docker
async def test_a_pool_of_a_missing_image_reports_it(config: SandboxConfig, run_id: str) -> None:
    missing = config.model_copy(update={"image": f"understudy/missing:{run_id}"})
    async with SandboxPool(missing, size=2) as pool:
        with pytest.raises(ImageNotFoundError, match="understudy/missing"):
            await pool.fill()
        with pytest.raises(ImageNotFoundError, match="understudy/missing"):
            await pool.acquire()
    assert containers_of(run_id) == []


def test_a_negative_pool_size_is_refused() -> None:
    with pytest.raises(ConfigError, match="pool size"):
        SandboxPool(SandboxConfig(), size=-1)
