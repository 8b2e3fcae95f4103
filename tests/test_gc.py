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
from understudy.sandbox.gc import collect_garbage

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
    found = docker_client().containers.list(all=True, filters={"label": labels.MANAGED})
    return [cid for cid in container_ids if any(c.id == cid for c in found)]


async def test_gc_removes_orphans_of_a_killed_process_and_keeps_live_ones(
    base_image: str, run_id: str
) -> None:
    orphans = start_and_sigkill_holder(base_image, run_id)
    assert len(existing(orphans)) == 2  # SIGKILL gives no chance to clean up
    async with await DockerSandbox.start(SandboxConfig(image=base_image, run_id=run_id)) as live:
        report = collect_garbage()
        assert existing(orphans) == []
        assert existing([live.id]) == [live.id]
        assert len([n for n in report.removed_containers if run_id in n]) == 2
        assert any(live.id[:10] in name for name in report.kept_containers)


def test_gc_cli_dry_run_then_real(base_image: str, run_id: str) -> None:
    orphans = start_and_sigkill_holder(base_image, run_id)
    runner = CliRunner()
    dry = runner.invoke(app, ["sandbox", "gc", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove" in dry.output
    assert existing(orphans) == orphans
    real = runner.invoke(app, ["sandbox", "gc"])
    assert real.exit_code == 0, real.output
    assert existing(orphans) == []


async def test_gc_images_prunes_unused_snapshots_but_not_the_base(
    base_image: str, run_id: str
) -> None:
    client = docker_client()
    async with await DockerSandbox.start(SandboxConfig(image=base_image, run_id=run_id)) as sb:
        await sb.write_file("/state.txt", b"x")
        unused = await sb.snapshot()
        in_use = await sb.snapshot()
    async with await DockerSandbox.start(SandboxConfig(image=in_use, run_id=run_id)):
        # Only this test's run: other runs on the engine keep their images.
        report = collect_garbage(images=True, run_id_prefix=run_id)
        remaining = {image.id for image in client.images.list()}
        assert unused not in remaining
        assert in_use in remaining
        assert client.images.get(base_image)
        assert report.removed_images
    collect_garbage(images=True, run_id_prefix=run_id)
    assert in_use not in {image.id for image in client.images.list()}


async def test_gc_with_a_run_id_prefix_leaves_other_runs_alone(
    base_image: str, run_id: str
) -> None:
    client = docker_client()
    orphans: dict[str, list[str]] = {}
    snapshots: dict[str, str] = {}
    for run in ("mine", "theirs"):
        orphans[run] = start_and_sigkill_holder(base_image, f"{run_id}-{run}")
        config = SandboxConfig(image=base_image, run_id=f"{run_id}-{run}")
        async with await DockerSandbox.start(config) as sandbox:
            snapshots[run] = await sandbox.snapshot()

    report = collect_garbage(images=True, run_id_prefix=f"{run_id}-mine")
    assert len(report.removed_containers) == 2
    assert len(report.removed_images) == 1
    assert existing(orphans["mine"]) == []
    assert existing(orphans["theirs"]) == orphans["theirs"]
    remaining = {image.id for image in client.images.list()}
    assert snapshots["mine"] not in remaining
    assert snapshots["theirs"] in remaining

    collect_garbage(images=True, run_id_prefix=f"{run_id}-theirs")
    assert existing(orphans["theirs"]) == []
    assert snapshots["theirs"] not in {image.id for image in client.images.list()}


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
