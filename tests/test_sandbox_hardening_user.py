"""Who sandboxes run as, a read-only root and a disk limit, on a real engine.

Environments built for a run get an unprivileged user ``understudy`` that owns the working
directory (``--sandbox-root`` keeps root); snapshots and prefix images keep the user; a
read-only root leaves the working directory, /tmp and the home writable; a disk limit is
applied where the storage driver can, and is a clear error naming the driver where it cannot.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import SandboxError
from understudy.jsonl import write_models
from understudy.replay.demo import BASH, make_repo
from understudy.replay.rundir import RunDir
from understudy.sandbox import labels
from understudy.sandbox.backends import run_backend
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envspec import BuiltEnv
from understudy.sandbox.hardening import disk_limit_refusal
from understudy.sandbox.local import LocalSandbox
from understudy.trajectory import EnvSpec, Message, RepoSpec, Session, SourceInfo, ToolCall

pytestmark = pytest.mark.docker

WORKDIR = "/testbed"
# Setup runs as root: what it makes in the working directory must become the user's too.
SETUP = ["echo built > setup.txt", "mkdir -p build && touch build/made.o"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repos", "calc")


async def build(repo: Path, base_image: str, run_id: str, **options: bool) -> BuiltEnv:
    spec = EnvSpec(repo=RepoSpec(path=str(repo)), workdir=WORKDIR, setup=SETUP)
    builder = run_backend("docker").builder(base_image, run_id, **options)
    return await builder.build(spec)


@pytest.fixture
async def user_env(repo: Path, base_image: str, run_id: str) -> BuiltEnv:
    return await build(repo, base_image, run_id)


@pytest.fixture
async def started(run_id: str) -> AsyncIterator[list[DockerSandbox]]:
    """Sandboxes the test starts; closed afterwards."""
    sandboxes: list[DockerSandbox] = []
    yield sandboxes
    for sandbox in sandboxes:
        await sandbox.close()


async def start(
    started: list[DockerSandbox], image: str, run_id: str, **options: Any
) -> DockerSandbox:
    config = SandboxConfig(image=image, workdir=WORKDIR, run_id=run_id, **options)
    sandbox = await DockerSandbox.start(config)
    started.append(sandbox)
    return sandbox


async def run_ok(sandbox: DockerSandbox, command: str, persistent: bool = False) -> str:
    result = await sandbox.exec(command, timeout=60, persistent=persistent)
    assert result.exit_code == 0, result.output
    return result.output


# -- the sandbox user --------------------------------------------------------------------------


async def test_environments_run_as_an_unprivileged_user_that_owns_the_workdir(
    user_env: BuiltEnv, started: list[DockerSandbox], repo: Path, base_image: str, run_id: str
) -> None:
    assert user_env.user == "understudy" and user_env.image.endswith("-user")
    sandbox = await start(started, user_env.image, run_id)
    assert sandbox.user == "understudy"
    recorded = docker_client().api.inspect_container(sandbox.id)["Config"]["Labels"]
    assert recorded[labels.USER].startswith("understudy:")
    for persistent in (True, False):
        assert await run_ok(sandbox, "id -un; echo $HOME", persistent) == (
            "understudy\n/home/understudy\n"
        )
    # The repository and what setup made as root are the user's; git sees no dubious owner.
    done = await run_ok(
        sandbox, "echo more >> setup.txt && touch build/made.o new.txt && git status --short"
    )
    assert "?? new.txt" in done
    denied = await sandbox.exec("touch /etc/owned")
    assert denied.exit_code != 0 and "Permission denied" in denied.output
    # Files the tools write, and the directories made for them, are the user's as well.
    await sandbox.write_file("pkg/sub/mod.py", b"x = 1\n")
    owners = await run_ok(sandbox, "stat -c %U pkg pkg/sub pkg/sub/mod.py && touch pkg/sub/b.py")
    assert owners == "understudy\n" * 3
    again = await build(repo, base_image, run_id)
    assert (again.image, again.cached) == (user_env.image, True)


async def test_snapshots_keep_the_user_and_its_shell_state(
    user_env: BuiltEnv, started: list[DockerSandbox], run_id: str
) -> None:
    """What the prefix cache does: commit a sandbox of the env, start samples from it."""
    first = await start(started, user_env.image, run_id)
    await run_ok(first, "export KEPT=yes && echo prefix > made-by-prefix", persistent=True)
    image = await first.snapshot()
    try:
        second = await start(started, image, run_id)
        assert second.user == "understudy"
        shown = await run_ok(second, "echo $KEPT; id -un; stat -c %U made-by-prefix", True)
        assert shown == "yes\nunderstudy\nunderstudy\n"
        await run_ok(second, "echo sample >> made-by-prefix")
    finally:
        for sandbox in started:
            await sandbox.close()
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client().images.remove(image, force=True)


async def test_sandbox_root_keeps_root_and_its_files(
    repo: Path, started: list[DockerSandbox], base_image: str, run_id: str
) -> None:
    env = await build(repo, base_image, run_id, sandbox_root=True)
    assert env.user == "root" and not env.image.endswith("-user")
    sandbox = await start(started, env.image, run_id)
    assert sandbox.user == "root"
    done = await run_ok(sandbox, "id -un; stat -c %U calc.py; touch new.txt && git status -s")
    assert done.startswith("root\nroot\n") and "?? new.txt" in done


async def test_a_system_directory_as_workdir_stays_root(
    repo: Path, base_image: str, run_id: str
) -> None:
    spec = EnvSpec(repo=RepoSpec(path=str(repo)), workdir="/tmp")
    env = await run_backend("docker").builder(base_image, run_id).build(spec)
    assert env.user == "root" and not env.image.endswith("-user")


# -- read-only root ----------------------------------------------------------------------------


async def test_a_read_only_root_leaves_the_workdir_tmp_and_home_writable(
    user_env: BuiltEnv, started: list[DockerSandbox], run_id: str
) -> None:
    sandbox = await start(started, user_env.image, run_id, read_only_root=True)
    for path in ("/usr/local/bin/tool", "/etc/owned"):
        denied = await sandbox.exec(f"touch {path}")
        assert "Read-only file system" in denied.output, path
    await run_ok(sandbox, "echo hi > new.txt && rm calc.py && mkdir -p d && echo x > d/f")
    # A directory whose entries came and went is not a change; an empty one made is.
    await run_ok(sandbox, "mkdir -p kept/empty && touch .git/t && rm .git/t")
    # /tmp can hold what build tools run; the home holds caches and configs.
    script = "printf '#!/bin/sh\\necho ran\\n' > /tmp/s && chmod +x /tmp/s && /tmp/s"
    assert await run_ok(sandbox, f"{script}; touch ~/.cache-marker && echo home") == "ran\nhome\n"
    await sandbox.write_file("written.txt", b"by a tool\n")
    with pytest.raises(SandboxError):
        await sandbox.write_file("/etc/owned", b"no")
    changes = {change.path: change.kind for change in await sandbox.changed_files()}
    assert changes == {
        f"{WORKDIR}/calc.py": "deleted",
        f"{WORKDIR}/d/f": "added",
        f"{WORKDIR}/kept/empty": "added",
        f"{WORKDIR}/new.txt": "added",
        f"{WORKDIR}/written.txt": "added",
    }
    with pytest.raises(SandboxError, match="read-only root"):
        await sandbox.snapshot()
    stopped = await sandbox.exec("setsid sleep 1000 & sleep 60", timeout=1, persistent=True)
    assert stopped.timed_out
    assert "sleep 1000" not in await run_ok(sandbox, "ps -eo args=")


async def test_a_read_only_root_without_the_workdir_in_the_image(
    base_image: str, started: list[DockerSandbox], run_id: str
) -> None:
    sandbox = await start(started, base_image, run_id, read_only_root=True)
    assert await run_ok(sandbox, "touch made && pwd") == f"{WORKDIR}\n"


async def test_the_local_backend_refuses_what_it_cannot_do(run_id: str) -> None:
    for config in (
        SandboxConfig(run_id=run_id, read_only_root=True),
        SandboxConfig(run_id=run_id, disk_limit="1g"),
    ):
        with pytest.raises(SandboxError, match="docker backend"):
            await LocalSandbox.start(config)


# -- disk limit --------------------------------------------------------------------------------


async def test_a_disk_limit_is_applied_or_refused_naming_the_driver(
    base_image: str, started: list[DockerSandbox], run_id: str
) -> None:
    client = docker_client()
    refusal = disk_limit_refusal(client)
    if refusal is None:  # a driver with quotas: the limit is on the container
        sandbox = await start(started, base_image, run_id, disk_limit="1g")
        host = client.api.inspect_container(sandbox.id)["HostConfig"]
        assert host["StorageOpt"] == {"size": "1g"}
        return
    driver = client.info()["Driver"]
    with pytest.raises(SandboxError, match=f"disk to 1g: .*{driver}"):
        await start(started, base_image, run_id, disk_limit="1g")
    assert client.api.containers(all=True, filters={"label": f"{labels.RUN_ID}={run_id}"}) == []


# -- the run command ---------------------------------------------------------------------------


def two_turn_session(repo: Path) -> Session:
    """A session whose first turn wrote a file (the prefix) and whose last turn, played back
    after the cut, says who runs commands and what it may write."""

    def call(call_id: str, command: str) -> list[Message]:
        tool_call = ToolCall(id=call_id, name="bash", arguments={"command": command})
        return [
            Message(role="assistant", content="", tool_calls=[tool_call]),
            Message(role="tool", tool_call_id=call_id, name="bash", content="recorded"),
        ]

    check = "id -un; stat -c %U made-by-prefix; touch mine && echo wrote; touch /etc/x"
    return Session(
        id="who-runs",
        source=SourceInfo(format="native", agent="understudy-demo", model="recorded"),
        env=EnvSpec(repo=RepoSpec(path=str(repo)), workdir="/workspace"),
        tools=[BASH],
        messages=[
            Message(role="user", content="Prepare."),
            *call("c1", "echo prefix > made-by-prefix"),
            Message(role="assistant", content="Prepared."),
            Message(role="user", content="Check."),
            *call("c2", check),
            Message(role="assistant", content="Checked."),
        ],
    )


def test_run_options_choose_the_user_the_root_and_the_disk(
    repo: Path, tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = tmp_path / "sessions.jsonl"
    with sessions.open("w") as handle:
        write_models(handle, [two_turn_session(repo)])

    def invoke(name: str, *options: str) -> tuple[int, str, Path]:
        output = tmp_path / name
        arguments = ["run", str(sessions), "--original", "--tools", "live", "-o", str(output)]
        result = CliRunner().invoke(app, [*arguments, "--run-id", run_id, *options])
        return result.exit_code, result.output, output

    def checked(name: str, *options: str) -> tuple[str, str]:
        code, output, run_dir = invoke(name, *options)
        assert code == 0, output
        [rollout] = RunDir(run_dir).rollouts()
        assert rollout.status == "completed", rollout.error
        return rollout.meta["sandbox_user"], rollout.messages[1].content

    user, seen = checked("default")
    assert user == "understudy"
    assert seen.startswith("understudy\nunderstudy\nwrote\n") and "Permission denied" in seen
    user, seen = checked("root", "--sandbox-root")
    assert user == "root" and seen.startswith("root\nroot\nwrote\n")
    user, seen = checked("read-only", "--read-only-root")
    assert user == "understudy" and "wrote" in seen and "Read-only file system" in seen

    code, output, run_dir = invoke("disk", "--disk-limit", "1g")
    refusal = disk_limit_refusal(docker_client())
    if refusal is not None:
        assert code == 1 and docker_client().info()["Driver"] in output
        assert not (run_dir / "rollouts.jsonl").exists()
    code, output, _ = invoke("bad-size", "--disk-limit", "lots")
    assert code == 1 and "500m or 10g" in output


def test_fidelity_takes_the_sandbox_options(
    repo: Path, tmp_path: Path, base_image: str, run_id: str
) -> None:
    """A session recorded as root replays faithfully with --sandbox-root, and not without."""
    call = ToolCall(id="c1", name="bash", arguments={"command": "id -un"})
    session = Session(
        id="recorded-as-root",
        source=SourceInfo(format="native", agent="understudy-demo", model="recorded"),
        env=EnvSpec(repo=RepoSpec(path=str(repo)), workdir="/workspace"),
        tools=[BASH],
        messages=[
            Message(role="user", content="Who am I?"),
            Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", tool_call_id="c1", name="bash", content="root\n"),
            Message(role="assistant", content="root."),
        ],
    )
    sessions = tmp_path / "sessions.jsonl"
    with sessions.open("w") as handle:
        write_models(handle, [session])

    def fidelity(*options: str) -> float | None:
        arguments = ["fidelity", str(sessions), "--json", "--run-id", run_id, *options]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        [measured] = json.loads(result.stdout)["sessions"]
        value: float | None = measured["fidelity"]
        return value

    assert fidelity("--sandbox-root") == 1.0
    assert fidelity() == 0.0
    assert fidelity("--read-only-root") == 0.0
