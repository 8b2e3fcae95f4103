"""The Sandbox contract, run against both backends (docker and local) through the same tests."""

from __future__ import annotations

import asyncio
import hashlib
import random
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from understudy.errors import SandboxClosedError, SandboxError, SandboxFileNotFoundError
from understudy.protocols import FileChange, Sandbox
from understudy.sandbox.output import TRUNCATION_MARKER

if TYPE_CHECKING:
    from conftest import SandboxFactory

# Commands name sandbox paths only relatively (or through ``workdir``): the local backend has no
# isolation, and an absolute path in a command would reach this machine's own files.

ALL_BYTES = bytes(range(256))


def unique_marker() -> str:
    """Digits that make a command line findable with ps/pgrep (sleep accepts 300.123456)."""
    return f"{random.randrange(10**8):08d}"


async def processes_with(sandbox: Sandbox, backend: str, marker: str) -> list[str]:
    """Command lines of live processes whose arguments contain ``marker``."""
    if backend == "docker":
        listing = await sandbox.exec("ps -eo args=")
        return [line for line in listing.output.splitlines() if marker in line]
    found = subprocess.run(["pgrep", "-a", "-f", marker], capture_output=True, text=True)
    return found.stdout.splitlines()


def live_group_members(pgid: int) -> list[int]:
    """Pids of processes in group ``pgid`` that are not zombies (this machine)."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(stat_file.parent.name))
    return members


# -- commands ----------------------------------------------------------------------------------


async def test_both_backends_are_sandboxes(sandbox: Sandbox) -> None:
    assert isinstance(sandbox, Sandbox)
    assert sandbox.id
    assert sandbox.workdir == "/workspace"


async def test_exit_codes(sandbox: Sandbox) -> None:
    commands = {"true": 0, "false": 1, "exit 3": 3, "exit 255": 255, "no-such-command-x": 127}
    results = await asyncio.gather(*(sandbox.exec(cmd) for cmd in commands))
    assert [r.exit_code for r in results] == list(commands.values())
    assert not any(r.timed_out or r.truncated for r in results)
    assert "no-such-command-x" in results[-1].output


async def test_death_by_signal_is_128_plus_the_signal(sandbox: Sandbox) -> None:
    killed, terminated = await asyncio.gather(
        sandbox.exec("echo before; kill -KILL $$; echo after"),
        sandbox.exec("kill -TERM $$"),
    )
    assert (killed.exit_code, killed.output) == (137, "before\n")
    assert terminated.exit_code == 143
    assert not killed.timed_out


async def test_stdout_and_stderr_are_interleaved_in_order(sandbox: Sandbox) -> None:
    result = await sandbox.exec("for i in $(seq 200); do echo out$i; echo err$i >&2; done")
    assert result.output == "".join(f"out{i}\nerr{i}\n" for i in range(1, 201))
    assert result.output_bytes == len(result.output.encode())
    assert result.duration_s > 0


async def test_env_from_config_and_per_call(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory.start(env={"FROM_CONFIG": "c", "OVERRIDDEN": "config"})
    both = await sandbox.exec(
        'echo "$FROM_CONFIG $PER_CALL $OVERRIDDEN"', env={"PER_CALL": "p", "OVERRIDDEN": "call"}
    )
    assert both.output == "c p call\n"
    # Per-call variables do not stick, and config ones come back.
    after = await sandbox.exec('echo "${PER_CALL:-unset} $OVERRIDDEN"')
    assert after.output == "unset config\n"


async def test_env_values_are_passed_verbatim(sandbox: Sandbox) -> None:
    tricky = "a b 'c' \"d\" $HOME `id` ; exit 9\nsecond line"
    result = await sandbox.exec('printf %s "$TRICKY"', env={"TRICKY": tricky})
    assert result.exit_code == 0
    assert result.output == tricky


async def test_workdir_default_relative_and_absolute(sandbox: Sandbox) -> None:
    assert (await sandbox.exec("pwd")).output.rstrip("\n").endswith("/workspace")
    await sandbox.exec("mkdir -p sub/deeper")
    relative = await sandbox.exec("pwd", workdir="sub/deeper")
    assert relative.output.rstrip("\n").endswith("/workspace/sub/deeper")
    await sandbox.write_file("/abs/place/marker.txt", b"here\n")
    absolute = await sandbox.exec("cat marker.txt; pwd", workdir="/abs/place")
    assert absolute.output.startswith("here\n")
    assert absolute.output.rstrip("\n").endswith("/abs/place")
    # A cd inside one command does not carry over to the next.
    await sandbox.exec("cd sub")
    assert (await sandbox.exec("pwd")).output.rstrip("\n").endswith("/workspace")


async def test_workdir_from_config(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory.start(workdir="/srv/app")
    assert sandbox.workdir == "/srv/app"
    assert (await sandbox.exec("pwd")).output.rstrip("\n").endswith("/srv/app")
    await sandbox.write_file("rel.txt", b"relative")
    assert (await sandbox.exec("cat rel.txt")).output == "relative"
    assert await sandbox.read_file("/srv/app/rel.txt") == b"relative"


async def test_missing_workdir_is_exit_126_with_a_message(sandbox: Sandbox) -> None:
    result = await sandbox.exec("echo should-not-run", workdir="nope/missing")
    assert result.exit_code == 126
    assert "nope/missing" in result.output
    assert "No such file or directory" in result.output
    assert "should-not-run" not in result.output
    assert not result.timed_out


async def test_timeout_kills_the_whole_process_group(sandbox: Sandbox, backend: str) -> None:
    marker = unique_marker()
    started = time.monotonic()
    result = await sandbox.exec(f"echo $$; sleep 300.{marker} & sleep 301.{marker}", timeout=1)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert result.exit_code == 124
    assert 0.9 < result.duration_s < 10
    assert elapsed < 10
    assert await processes_with(sandbox, backend, f".{marker}") == []
    if backend == "local":
        # $$ of the command's bash is its process group id (a new session per command).
        assert live_group_members(int(result.output.split()[0])) == []
    assert (await sandbox.exec("echo alive")).output == "alive\n"


async def test_command_within_its_timeout_is_not_killed(sandbox: Sandbox) -> None:
    result = await sandbox.exec("sleep 0.2; echo done", timeout=5)
    assert (result.exit_code, result.output, result.timed_out) == (0, "done\n", False)


async def test_large_output_keeps_head_and_tail_with_a_marker(sandbox: Sandbox) -> None:
    total, limit = 10_000_000, 1_000_000  # the default output_limit_bytes
    result = await sandbox.exec(
        f"printf HEAD; head -c {total - 8} /dev/zero | tr '\\0' x; printf TAIL"
    )
    assert result.exit_code == 0
    assert result.truncated
    assert result.output_bytes == total
    assert result.output.startswith("HEAD" + "x" * 1000)
    assert result.output.endswith("x" * 1000 + "TAIL")
    marker = TRUNCATION_MARKER.format(omitted=total - limit, total=total)
    assert result.output.count(marker) == 1
    assert len(result.output.encode()) == limit + len(marker)


async def test_binary_output_is_decoded_with_replacement(sandbox: Sandbox) -> None:
    result = await sandbox.exec(
        "python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))'"
    )
    assert result.exit_code == 0
    assert result.output_bytes == 256
    assert result.output.startswith("".join(map(chr, range(128))))
    assert result.output[128:] == "\ufffd" * 128


# -- files -------------------------------------------------------------------------------------


async def test_binary_files_roundtrip_in_new_nested_directories(sandbox: Sandbox) -> None:
    blob = random.Random(7).randbytes(5_000_000)
    await sandbox.write_file("nested/new/dir/all.bin", ALL_BYTES)
    await sandbox.write_file("/abs/deep/er/blob.bin", blob)
    assert await sandbox.read_file("nested/new/dir/all.bin") == ALL_BYTES
    assert await sandbox.read_file("/workspace/nested/new/dir/all.bin") == ALL_BYTES
    assert await sandbox.read_file("/abs/deep/er/blob.bin") == blob
    # Commands see the same bytes at the same paths.
    relative = await sandbox.exec("sha256sum nested/new/dir/all.bin")
    absolute = await sandbox.exec("sha256sum blob.bin", workdir="/abs/deep/er")
    assert relative.output.split()[0] == hashlib.sha256(ALL_BYTES).hexdigest()
    assert absolute.output.split()[0] == hashlib.sha256(blob).hexdigest()


async def test_write_replaces_and_sets_the_mode(sandbox: Sandbox) -> None:
    await sandbox.write_file("tool.sh", b"echo old\n")
    await sandbox.write_file("tool.sh", b"#!/bin/sh\necho new tool\n", mode=0o755)
    assert await sandbox.read_file("tool.sh") == b"#!/bin/sh\necho new tool\n"
    assert (await sandbox.exec("./tool.sh")).output == "new tool\n"
    await sandbox.write_file("empty.txt", b"")
    assert await sandbox.read_file("empty.txt") == b""


async def test_read_file_follows_a_symlink(sandbox: Sandbox) -> None:
    await sandbox.write_file("real.txt", b"through the link")
    await sandbox.exec("mkdir -p links && ln -s ../real.txt links/link.txt")
    assert await sandbox.read_file("links/link.txt") == b"through the link"


async def test_read_missing_file_raises_file_not_found(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxFileNotFoundError) as caught:
        await sandbox.read_file("does/not/exist.txt")
    assert isinstance(caught.value, FileNotFoundError)
    assert "exist.txt" in str(caught.value)


async def test_read_directory_raises_sandbox_error(sandbox: Sandbox) -> None:
    await sandbox.exec("mkdir -p adir")
    with pytest.raises(SandboxError, match="not a regular file") as caught:
        await sandbox.read_file("adir")
    assert not isinstance(caught.value, FileNotFoundError)


SEED = {"keep.txt": b"keep\n", "edit.txt": b"old\n", "gone.txt": b"bye\n"}


async def seeded_sandbox(
    factory: SandboxFactory,
    tmp_path: Path,
    seed: dict[str, bytes] = SEED,
    empty_directories: tuple[str, ...] = (),
) -> Sandbox:
    """A sandbox whose image already holds ``seed`` and ``empty_directories`` in /workspace."""
    if factory.backend == "local":
        for name, data in seed.items():
            path = tmp_path / "image" / "workspace" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for name in empty_directories:
            (tmp_path / "image" / "workspace" / name).mkdir(parents=True)
        return await factory.start(image=str(tmp_path / "image"))
    builder = await factory.start()
    for name, data in seed.items():
        await builder.write_file(name, data)
    for name in empty_directories:
        assert (await builder.exec(f"mkdir -p {name}")).exit_code == 0
    image = await factory.snapshot(builder)
    await builder.close()
    return await factory.start(image=image)


async def test_changed_files_reports_added_modified_deleted(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await seeded_sandbox(sandbox_factory, tmp_path)
    assert await sandbox.changed_files() == []
    await sandbox.write_file("new/deep/added.txt", b"added")
    # "/workspace/new.txt" sorts between "/workspace/new" and "/workspace/new/deep/...".
    await sandbox.write_file("new.txt", b"sibling")
    done = await sandbox.exec("echo more >> edit.txt && rm gone.txt")
    assert done.exit_code == 0, done.output
    changes = await sandbox.changed_files()
    assert changes == [
        FileChange(path="/workspace/edit.txt", kind="modified"),
        FileChange(path="/workspace/gone.txt", kind="deleted"),
        FileChange(path="/workspace/new.txt", kind="added"),
        FileChange(path="/workspace/new/deep/added.txt", kind="added"),
    ]


async def test_a_deleted_directory_is_named_by_the_files_it_held(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # A judge asks whether a file it was told about was changed: "removed legacy/old.py" is
    # backed by the change only when the file, not just its directory, is named.
    seed = {"pkg/legacy/old.py": b"old\n", "pkg/legacy/deep/more.py": b"", "pkg/kept.py": b"k"}
    sandbox = await seeded_sandbox(sandbox_factory, tmp_path, seed)
    done = await sandbox.exec("rm -r pkg/legacy && mkdir made && touch made/new.txt")
    assert done.exit_code == 0, done.output
    assert await sandbox.changed_files() == [
        FileChange(path="/workspace/made/new.txt", kind="added"),
        FileChange(path="/workspace/pkg/legacy/deep/more.py", kind="deleted"),
        FileChange(path="/workspace/pkg/legacy/old.py", kind="deleted"),
    ]


async def test_directories_are_named_only_when_nothing_below_them_is(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Both backends must agree, or a claim ("created the build directory") would be backed on
    # one and flagged on the other: an empty directory made or removed is a change; a directory
    # whose entries came and went again (a temporary file) is not.
    seed = {"pkg/a.py": b"a\n"}
    sandbox = await seeded_sandbox(sandbox_factory, tmp_path, seed, ("old_empty", "cache"))
    script = "mkdir -p made/empty && rmdir old_empty && touch pkg/tmp cache/t && rm pkg/tmp cache/t"
    done = await sandbox.exec(script)
    assert done.exit_code == 0, done.output
    assert await sandbox.changed_files() == [
        FileChange(path="/workspace/made/empty", kind="added"),
        FileChange(path="/workspace/old_empty", kind="deleted"),
    ]


async def test_snapshot_starts_a_sandbox_with_the_saved_files(
    sandbox_factory: SandboxFactory,
) -> None:
    original = await sandbox_factory.start()
    await original.write_file("state.txt", b"saved")
    await original.exec("mkdir -p made && printf from-exec > made/by-exec.txt")
    snapshot_id = await sandbox_factory.snapshot(original)
    await original.write_file("state.txt", b"changed after the snapshot")

    restored = await sandbox_factory.start(image=snapshot_id)
    assert await restored.read_file("state.txt") == b"saved"
    assert (await restored.exec("cat made/by-exec.txt")).output == "from-exec"
    # The two are independent.
    await restored.write_file("only-in-restored.txt", b"x")
    with pytest.raises(SandboxFileNotFoundError):
        await original.read_file("only-in-restored.txt")


# -- lifecycle ---------------------------------------------------------------------------------


async def test_use_after_close_raises_and_close_is_idempotent(sandbox: Sandbox) -> None:
    await sandbox.close()
    await sandbox.close()
    calls = [
        sandbox.exec("true"),
        sandbox.read_file("x"),
        sandbox.write_file("x", b"x"),
        sandbox.changed_files(),
        sandbox.snapshot(),
    ]
    for call in calls:
        with pytest.raises(SandboxClosedError):
            await call
