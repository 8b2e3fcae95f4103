"""Fan-out speed: N samples of one prefix started and ready. Prints one JSON object of figures.

A sample is ready when it is a running sandbox whose state is the prefix state. The prefix is a
fixed list of shell commands of the kind a logged session re-executes (a small git repository,
a sed edit, a python script, a test run). Times in ms, for ``--samples`` samples started at most
``--concurrency`` at once:

- ``no_cache_ms``: each sample starts from the env image and re-executes the prefix itself;
- ``cache_cold_ms``: the first sample builds the prefix snapshot, all start from it;
- ``cache_warm_ms``: the snapshot exists (a new PrefixCache, as in a later run);
- ``cache_warm_pool_ms``: as warm, samples taken from a SandboxPool of ``--concurrency``
  sandboxes of the snapshot, filled before the clock starts (as it is while earlier samples run);
- ``prefix_exec_ms`` (one re-execution), ``prefix_build_ms`` (the cold build and commit);
- ``warm_start_p50_ms`` / ``warm_start_p95_ms``: one container start from the snapshot, one at a
  time (target: p50 <= 300 ms); ``warm_start_fanout_p50_ms``: the same during the warm fan-out.

Everything it creates (containers, the env image, prefix images) carries its run id and is
removed at the end, also after Ctrl-C.

Usage: python bench/fanout.py [--samples 16] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import docker.errors

from understudy.sandbox import labels
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envbuilder import EnvBuilder
from understudy.sandbox.gc import remove_run_images
from understudy.sandbox.pool import SandboxPool
from understudy.sandbox.snapshots import CachedPrefix, PrefixCache, PrefixKey
from understudy.trajectory import EnvSpec

GIT = "git -c user.name=bench -c user.email=bench@example.invalid"
TEST_SCRIPT = (
    "import sys; sys.path.insert(0, 'src'); import calc; "
    "assert calc.add(2, 3) == 5, calc.add(2, 3); print('1 passed')"
)
REPORT_SCRIPT = (
    "import json, pathlib; "
    "files = sorted(str(p) for p in pathlib.Path('.').rglob('*.py')); "
    "pathlib.Path('report.json').write_text(json.dumps({'files': files}))"
)
# Writes a package of small modules and a unittest suite over them, as a session's agent would.
GENERATOR = """
import pathlib
package = pathlib.Path("src/pkg")
package.mkdir(parents=True, exist_ok=True)
(package / "__init__.py").write_text("")
for number in range(200):
    (package / f"m{number}.py").write_text(f"def f(x):\\n    return x + {number}\\n")
cases = [
    f"    def test_m{number}(self):\\n"
    f"        self.assertEqual(importlib.import_module('pkg.m{number}').f(1), {number + 1})\\n"
    for number in range(200)
]
head = "import importlib, sys, unittest\\nsys.path.insert(0, 'src')\\n"
head += "class TestPackage(unittest.TestCase):\\n"
pathlib.Path("tests/test_pkg.py").write_text(head + "".join(cases))
"""
PREFIX_COMMANDS = [
    "git init -q app && mkdir -p app/src app/tests app/docs",
    "printf 'def add(a, b):\\n    return a - b\\n' > app/src/calc.py",
    "printf 'def mul(a, b):\\n    return a * b\\n' > app/src/ops.py",
    "printf '# app\\nA calculator.\\n' > app/README.md",
    f'printf "{TEST_SCRIPT}\\n" > app/tests/test_calc.py',
    "seq 1 2000 | sed 's/^/line /' > app/docs/notes.txt",
    f"cd app && {GIT} add -A && {GIT} commit -qm initial",
    f"cd app && cat > gen.py <<'EOF'{GENERATOR}EOF",
    "cd app && python3 gen.py && rm gen.py",
    f"cd app && {GIT} add -A && {GIT} commit -qm 'add package'",
    "cd app && python3 -B -m unittest discover -s tests -p 'test_pkg.py' 2>&1 | tail -1",
    "cd app && python3 -B tests/test_calc.py || true",
    "grep -rn 'return a - b' app/src",
    "sed -i 's/a - b/a + b/' app/src/calc.py",
    "cd app && python3 tests/test_calc.py",
    "cd app && git diff --stat",
    f'cd app && python3 -c "{REPORT_SCRIPT}"',
    "cd app && python3 -m compileall -q src",
    f"cd app && {GIT} commit -qam 'fix add'",
    "cd app && git log --oneline | wc -l",
    "tar czf /tmp/app-backup.tgz app && tar tzf /tmp/app-backup.tgz | wc -l",
    "grep -rl 'return x' app/src/pkg | wc -l",
]
READY_CHECK = "grep -q 'a + b' app/src/calc.py && test -f app/report.json"

Sample = Callable[[], Awaitable[DockerSandbox]]


async def run_prefix(sandbox: DockerSandbox) -> dict[str, Any]:
    """Re-execute the prefix; the state record is what a replay would keep."""
    for command in PREFIX_COMMANDS:
        result = await sandbox.exec(command)
        if result.exit_code != 0:
            raise RuntimeError(f"prefix command failed ({result.exit_code}): {command}")
    return {"replayed": len(PREFIX_COMMANDS), "fidelity": 1.0}


async def timed_start(config: SandboxConfig, starts_ms: list[float]) -> DockerSandbox:
    started = time.perf_counter()
    sandbox = await DockerSandbox.start(config)
    starts_ms.append((time.perf_counter() - started) * 1000)
    return sandbox


async def fan_out(samples: int, concurrency: int, make_sample: Sample) -> float:
    """ms until every sample is ready; the samples are then checked and closed."""
    gate = asyncio.Semaphore(concurrency)
    ready: list[DockerSandbox] = []

    async def one() -> None:
        async with gate:
            ready.append(await make_sample())

    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(samples):
                group.create_task(one())
        elapsed_ms = (time.perf_counter() - started) * 1000
        checks = await asyncio.gather(*(sample.exec(READY_CHECK) for sample in ready))
        if any(check.exit_code != 0 for check in checks):
            raise RuntimeError("a sample does not hold the prefix state")
    finally:
        await asyncio.gather(*(sample.close() for sample in ready))
    return elapsed_ms


def uncached_sample(env_config: SandboxConfig) -> Sample:
    async def make() -> DockerSandbox:
        sandbox = await DockerSandbox.start(env_config)
        try:
            await run_prefix(sandbox)
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    return make


class CachedSamples:
    """Samples started from the prefix snapshot, which the first of them builds if missing."""

    def __init__(self, cache: PrefixCache, key: PrefixKey, env_config: SandboxConfig) -> None:
        self.cache, self.key, self.env_config = cache, key, env_config
        self.prefixes: list[CachedPrefix] = []
        self.starts_ms: list[float] = []

    async def __call__(self) -> DockerSandbox:
        prefix = await self.cache.get_or_build(self.key, self.env_config, run_prefix)
        self.prefixes.append(prefix)
        config = self.env_config.model_copy(update={"image": prefix.image})
        return await timed_start(config, self.starts_ms)

    def build_ms(self) -> float:
        return sum(prefix.build_s for prefix in self.prefixes) * 1000


async def serial_starts_ms(config: SandboxConfig, count: int) -> list[float]:
    starts_ms: list[float] = []
    for _ in range(count):
        await (await timed_start(config, starts_ms)).close()
    return starts_ms


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main(samples: int, concurrency: int, run_id: str) -> dict[str, Any]:
    figures: dict[str, Any] = {"samples": samples, "concurrency": concurrency}
    figures["prefix_commands"] = len(PREFIX_COMMANDS)
    # A setup line unique to this run makes the env image ours to remove.
    spec = EnvSpec(setup=[f"echo {run_id} > /opt/bench-env"])
    env = await EnvBuilder(base_image=BASE_IMAGE, run_id=run_id).build(spec)
    env_config = SandboxConfig(image=env.image, run_id=run_id)
    key = PrefixKey(env_hash=env.env_hash, session_id=run_id, cut=len(PREFIX_COMMANDS), recipe="1")

    async with await DockerSandbox.start(env_config) as sandbox:
        started = time.perf_counter()
        await run_prefix(sandbox)
        figures["prefix_exec_ms"] = (time.perf_counter() - started) * 1000

    figures["no_cache_ms"] = await fan_out(samples, concurrency, uncached_sample(env_config))
    cold = CachedSamples(PrefixCache(run_id), key, env_config)
    figures["cache_cold_ms"] = await fan_out(samples, concurrency, cold)
    figures["prefix_build_ms"] = cold.build_ms()
    warm = CachedSamples(PrefixCache(run_id), key, env_config)
    figures["cache_warm_ms"] = await fan_out(samples, concurrency, warm)
    figures["warm_start_fanout_p50_ms"] = statistics.median(warm.starts_ms)
    if warm.build_ms() or any(not prefix.cached for prefix in warm.prefixes):
        raise RuntimeError("the warm fan-out rebuilt the prefix snapshot")

    prefix_config = env_config.model_copy(update={"image": warm.prefixes[0].image})
    async with SandboxPool(prefix_config, size=concurrency) as pool:
        await pool.fill()
        figures["cache_warm_pool_ms"] = await fan_out(samples, concurrency, pool.acquire)

    serial = await serial_starts_ms(prefix_config, min(samples, 10))
    figures["warm_start_p50_ms"] = statistics.median(serial)
    figures["warm_start_p95_ms"] = percentile(serial, 0.95)
    return figures


def remove_everything(run_id: str) -> None:
    """Remove the containers and images of this run (blocking)."""
    client = docker_client()
    run_label = {"label": f"{labels.RUN_ID}={run_id}"}
    for container in client.containers.list(all=True, filters=run_label, ignore_removed=True):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
    remove_run_images(run_id)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=16, help="samples of the one prefix")
    parser.add_argument("--concurrency", type=int, default=4, help="samples started at once")
    arguments = parser.parse_args()
    bench_run_id = f"bench-fanout-{uuid.uuid4().hex[:8]}"
    try:
        result = asyncio.run(main(arguments.samples, arguments.concurrency, bench_run_id))
    except KeyboardInterrupt:
        print("interrupted; removing what the benchmark created", file=sys.stderr)
        sys.exit(130)
    finally:
        remove_everything(bench_run_id)
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}))
