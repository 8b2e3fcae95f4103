"""Sandbox speed on this machine's Docker engine. Prints one JSON object of figures (ms).

Figures: container start; ``exec("true")`` p50/p95 over N calls through the sandbox's
persistent shell, both fresh (each command a new ``bash -c``, the default) and stateful (in the
shell itself, ``persistent=True``), and through one exec per command; snapshot; start from the
snapshot (p50 of several: the warm start); env build cold and cached; this process's CPU per
file read and write (2 kB, through the engine's archive API). From the same run, the p50 of the
``docker exec`` CLI and of docker-py ``exec_run`` for ``true`` as references.

Usage: python bench/sandbox.py [--calls 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import git

from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envbuilder import EnvBuilder
from understudy.trajectory import EnvSpec, RepoSpec

RUN_ID = "bench"
WARM_STARTS = 10


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def timed_ms(action: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = await action()
    return (time.perf_counter() - started) * 1000, value


def make_repo(root: Path) -> Path:
    repo = git.Repo.init(root)
    (root / "module.py").write_text("def answer():\n    return 42\n")
    repo.index.add(["module.py"])
    repo.index.commit("init", author=git.Actor("bench", "bench@example.invalid"))
    return root


async def reference_exec_ms(container_id: str, calls: int) -> dict[str, float]:
    """p50 of `docker exec` CLI and docker-py exec_run on the same container."""
    cli, sdk = [], []
    container = docker_client().containers.get(container_id)
    docker_cli = shutil.which("docker")
    for _ in range(calls):
        if docker_cli:
            started = time.perf_counter()
            subprocess.run([docker_cli, "exec", container_id, "true"], check=True)
            cli.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await asyncio.to_thread(container.exec_run, ["true"])
        sdk.append((time.perf_counter() - started) * 1000)
    figures = {"docker_py_exec_run_p50_ms": statistics.median(sdk)}
    if cli:
        figures["docker_exec_cli_p50_ms"] = statistics.median(cli)
    return figures


async def file_cpu_ms(sandbox: DockerSandbox, calls: int) -> dict[str, float]:
    """This process's CPU per file read and per file write of 2 kB."""
    await sandbox.write_file("bench/read.txt", b"x" * 2000)
    actions: dict[str, Callable[[], Awaitable[Any]]] = {
        "file_read_cpu_ms": lambda: sandbox.read_file("bench/read.txt"),
        "file_write_cpu_ms": lambda: sandbox.write_file("bench/write.txt", b"y" * 2000),
    }
    figures = {}
    for name, action in actions.items():
        cpu = time.process_time()
        for _ in range(calls):
            await action()
        figures[name] = (time.process_time() - cpu) * 1000 / calls
    return figures


async def main(calls: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"calls": calls, "engine": docker_client().version()["Version"]}
    config = SandboxConfig(image=BASE_IMAGE, run_id=RUN_ID)
    start_ms, sandbox = await timed_ms(lambda: DockerSandbox.start(config))
    figures["container_start_ms"] = start_ms
    snapshot_id = None
    try:
        await sandbox.exec("true")  # warm-up: starts the fresh shell
        await sandbox.exec("true", persistent=True)  # and the stateful one
        samples = [(await timed_ms(lambda: sandbox.exec("true")))[0] for _ in range(calls)]
        figures["exec_true_p50_ms"] = statistics.median(samples)
        figures["exec_true_p95_ms"] = percentile(samples, 0.95)
        stateful = [
            (await timed_ms(lambda: sandbox.exec("true", persistent=True)))[0] for _ in range(calls)
        ]
        figures["persistent_shell_stateful_p50_ms"] = statistics.median(stateful)
        one_exec = [
            (await timed_ms(lambda: sandbox._exec_once("true", 60, None, None)))[0]
            for _ in range(calls)
        ]
        figures["exec_one_per_command_p50_ms"] = statistics.median(one_exec)
        figures.update(await reference_exec_ms(sandbox.id, calls))
        figures.update(await file_cpu_ms(sandbox, calls))
        await sandbox.write_file("state.txt", b"before snapshot\n")
        figures["snapshot_ms"], snapshot_id = await timed_ms(sandbox.snapshot)
    finally:
        await sandbox.close()
    from_snapshot = config.model_copy(update={"image": snapshot_id})
    starts = []
    for _ in range(WARM_STARTS):
        elapsed, restored = await timed_ms(lambda: DockerSandbox.start(from_snapshot))
        starts.append(elapsed)
        await restored.close()
    figures["start_from_snapshot_p50_ms"] = statistics.median(starts)
    docker_client().images.remove(snapshot_id, force=True)

    with tempfile.TemporaryDirectory() as scratch:
        repo = make_repo(Path(scratch))
        # A fresh setup line makes the spec new, so the first build is really cold.
        spec = EnvSpec(
            repo=RepoSpec(path=str(repo), commit=git.Repo(repo).head.commit.hexsha),
            workdir="/testbed",
            setup=[f"echo {uuid.uuid4().hex} > .bench-marker", "python3 -c 'import module'"],
        )
        builder = EnvBuilder()
        figures["env_build_cold_ms"], built = await timed_ms(lambda: builder.build(spec))
        figures["env_build_cached_ms"], cached = await timed_ms(lambda: builder.build(spec))
        assert cached.cached and not built.cached
        docker_client().images.remove(built.image, force=True)
    return {
        key: round(value, 2) if isinstance(value, float) else value
        for key, value in figures.items()
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=30, help="exec calls per measurement")
    print(json.dumps(asyncio.run(main(parser.parse_args().calls))))
