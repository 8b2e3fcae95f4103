"""`understudy sandbox gc`: what a SIGKILLed process left behind is removed; live ones are kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.sandbox import labels
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.gc import collect_garbage, remove_images, remove_run_images

pytestmark = pytest.mark.docker

HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from understudy.sandbox.config import SandboxConfig
    from understudy.sandbox.docker import DockerSandbox

    async def main():
        for _ in range(2):
            config = SandboxConfig(image=sys.argv[1], run_id=sys.argv[2])
            sandbox = await DockerSandbox.start(config)
            print(sandbox.id, flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
    """
)


SNAPSHOTTER = textwrap.dedent(
    """
    import asyncio, sys
    from understudy.sandbox.config import SandboxConfig
    from understudy.sandbox.docker import DockerSandbox

    async def main():
        config = SandboxConfig(image=sys.argv[1], run_id=sys.argv[2])
        async with await DockerSandbox.start(config) as sandbox:
            await sandbox.write_file("/state.txt", b"x")
            for _ in range(int(sys.argv[3])):
                print(await sandbox.snapshot(), flush=True)
        print("closed", flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
    """
)


CHAIN = textwrap.dedent(
    """
    import asyncio, sys
    from understudy.sandbox.config import SandboxConfig
    from understudy.sandbox.docker import DockerSandbox

    async def main():
        image = sys.argv[1]
        for _ in range(2):  # a snapshot, then one of a sandbox started from it
            config = SandboxConfig(image=image, run_id=sys.argv[2])
            async with await DockerSandbox.start(config) as sandbox:
                await sandbox.write_file("/state.txt", image.encode())
                image = await sandbox.snapshot()
            print(image, flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
    """
)


def chain_of_a_killed_process(image: str, run_id: str) -> tuple[str, str]:
    """A snapshot and a snapshot built on it, taken by a process killed since."""
    process = subprocess.Popen(
        [sys.executable, "-c", CHAIN, image, run_id], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    parent, child = process.stdout.readline().strip(), process.stdout.readline().strip()
    sigkill(process)
    return parent, child


def snapshots_of_a_process(
    image: str, run_id: str, count: int = 1
) -> tuple[subprocess.Popen[str], list[str]]:
    """A process that took ``count`` snapshots and closed its sandbox, still running (so that
    it owns them); its caller ends it."""
    process = subprocess.Popen(
        [sys.executable, "-c", SNAPSHOTTER, image, run_id, str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    snapshots = [process.stdout.readline().strip() for _ in range(count)]
    assert process.stdout.readline().strip() == "closed"
    return process, snapshots


def sigkill(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait(timeout=30)


def image_ids() -> set[str]:
    # The low-level listing: the high-level one inspects every image, and fails when another
    # test session on the engine removes one of its own meanwhile.
    return {str(entry["Id"]) for entry in docker_client().api.images(all=True)}


def start_and_sigkill_holder(image: str, run_id: str) -> list[str]:
    """A process that starts two sandboxes, then dies by SIGKILL; returns their ids."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, image, run_id], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    ids = [holder.stdout.readline().strip() for _ in range(2)]
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    return ids


def existing(container_ids: list[str]) -> list[str]:
    # Low-level too: other runs' containers come and go while this one lists them.
    found = {entry["Id"] for entry in docker_client().api.containers(all=True)}
    return [cid for cid in container_ids if cid in found]


async def test_gc_removes_orphans_of_a_killed_process_and_keeps_live_ones(
    base_image: str, run_id: str
) -> None:
    orphans = start_and_sigkill_holder(base_image, run_id)
    assert len(existing(orphans)) == 2  # SIGKILL gives no chance to clean up
    async with await DockerSandbox.start(SandboxConfig(image=base_image, run_id=run_id)) as live:
        # Only this test's run: other test sessions on the engine have orphans of their own.
        report = collect_garbage(run_id_prefix=run_id)
        assert existing(orphans) == []
        assert existing([live.id]) == [live.id]
        assert len([n for n in report.removed_containers if run_id in n]) == 2
        assert any(live.id[:10] in name for name in report.kept_containers)


def test_gc_cli_dry_run_then_real(base_image: str, run_id: str) -> None:
    orphans = start_and_sigkill_holder(base_image, run_id)
    runner = CliRunner()
    dry = runner.invoke(app, ["sandbox", "gc", "--dry-run", "--run-id", run_id])
    assert dry.exit_code == 0, dry.output
    assert "would remove" in dry.output
    assert existing(orphans) == orphans
    real = runner.invoke(app, ["sandbox", "gc", "--run-id", run_id])
    assert real.exit_code == 0, real.output
    assert existing(orphans) == []


def test_gc_cli_with_a_run_id_prefix_removes_only_that_runs_containers(
    base_image: str, run_id: str
) -> None:
    mine = start_and_sigkill_holder(base_image, f"{run_id}-mine")
    theirs = start_and_sigkill_holder(base_image, f"{run_id}-theirs")
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["sandbox", "gc", "--run-id", f"{run_id}-mine"])
        assert result.exit_code == 0, result.output
        assert "removed 2 container(s)" in result.output
        assert existing(mine) == []
        assert existing(theirs) == theirs
    finally:
        collect_garbage(run_id_prefix=f"{run_id}-theirs")
    assert existing(theirs) == []


async def test_gc_images_prunes_unused_snapshots_but_not_the_base(
    base_image: str, run_id: str
) -> None:
    client = docker_client()
    owner, (unused, in_use) = snapshots_of_a_process(base_image, run_id, count=2)
    sigkill(owner)
    async with await DockerSandbox.start(SandboxConfig(image=in_use, run_id=run_id)):
        # Only this test's run: other runs on the engine keep their images.
        report = collect_garbage(images=True, run_id_prefix=run_id)
        remaining = image_ids()
        assert unused not in remaining
        assert in_use in remaining
        assert client.images.get(base_image)
        assert report.removed_images
    collect_garbage(images=True, run_id_prefix=run_id)
    assert in_use not in image_ids()


def test_gc_images_keeps_the_images_of_a_live_process_and_not_of_a_killed_one(
    base_image: str, run_id: str
) -> None:
    """No container uses either image: what tells them apart is whether their owner lives
    (a live run's env image sits unused between two of its rollouts)."""
    live, [kept] = snapshots_of_a_process(base_image, f"{run_id}-live")
    try:
        killed, [orphan] = snapshots_of_a_process(base_image, f"{run_id}-killed")
        sigkill(killed)
        report = collect_garbage(images=True, run_id_prefix=run_id)
        remaining = image_ids()
        assert kept in remaining
        assert orphan not in remaining
        assert len(report.removed_images) == 1
        assert len(report.kept_images) == 1
    finally:
        sigkill(live)
    collect_garbage(images=True, run_id_prefix=run_id)  # its owner is gone now
    assert kept not in image_ids()


async def test_gc_images_keeps_images_of_other_hosts_unless_all_hosts(
    base_image: str, run_id: str
) -> None:
    elsewhere = {labels.OWNER: "some-other-host:1:1"}
    async with await DockerSandbox.start(SandboxConfig(image=base_image, run_id=run_id)) as sb:
        image = await sb.snapshot(extra_labels=elsewhere)
    assert docker_client().images.get(image).labels[labels.OWNER] == elsewhere[labels.OWNER]
    collect_garbage(images=True, run_id_prefix=run_id)
    assert image in image_ids()  # its owner's liveness cannot be checked from here
    report = collect_garbage(images=True, all_hosts=True, run_id_prefix=run_id)
    assert image not in image_ids()
    assert len(report.removed_images) == 1


async def test_gc_with_a_run_id_prefix_leaves_other_runs_alone(
    base_image: str, run_id: str
) -> None:
    orphans: dict[str, list[str]] = {}
    snapshots: dict[str, str] = {}
    for run in ("mine", "theirs"):
        orphans[run] = start_and_sigkill_holder(base_image, f"{run_id}-{run}")
        owner, [snapshots[run]] = snapshots_of_a_process(base_image, f"{run_id}-{run}")
        sigkill(owner)

    report = collect_garbage(images=True, run_id_prefix=f"{run_id}-mine")
    assert len(report.removed_containers) == 2
    assert len(report.removed_images) == 1
    assert existing(orphans["mine"]) == []
    assert existing(orphans["theirs"]) == orphans["theirs"]
    remaining = image_ids()
    assert snapshots["mine"] not in remaining
    assert snapshots["theirs"] in remaining

    collect_garbage(images=True, run_id_prefix=f"{run_id}-theirs")
    assert existing(orphans["theirs"]) == []
    assert snapshots["theirs"] not in image_ids()


def test_images_are_removed_in_passes_whatever_their_order(base_image: str, run_id: str) -> None:
    # The parent first: the engine refuses it while its child is there, and a second pass
    # removes it (an env image and its -user variant can share their second of creation).
    parent, child = chain_of_a_killed_process(base_image, run_id)
    assert remove_images([parent, child]) == []
    assert not {parent, child} & image_ids()


def test_gc_images_removes_a_chain_of_snapshots_in_one_call(base_image: str, run_id: str) -> None:
    parent, child = chain_of_a_killed_process(base_image, run_id)
    report = collect_garbage(images=True, run_id_prefix=run_id)
    assert not {parent, child} & image_ids()
    assert len(report.removed_images) == 2
    assert report.kept_images == []


async def test_a_process_removes_its_own_runs_images_but_those_in_use(
    base_image: str, run_id: str
) -> None:
    async with await DockerSandbox.start(SandboxConfig(image=base_image, run_id=run_id)) as sb:
        first = await sb.snapshot()
        second = await sb.snapshot()
    async with await DockerSandbox.start(SandboxConfig(image=first, run_id=run_id)):
        # Both are this live process's: gc would keep them; this removes the one not in use.
        assert remove_run_images(run_id) == [second]
        assert first in image_ids()
    assert remove_run_images(run_id) == [first]
    assert first not in image_ids()


def test_owner_of_this_process_is_alive_and_a_dead_pid_is_not() -> None:
    assert labels.owner_alive(labels.owner_token()) is True
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert labels.owner_alive(labels.owner_token(int(finished.stdout))) is False
    assert labels.owner_alive("some-other-host:1:1") is None
