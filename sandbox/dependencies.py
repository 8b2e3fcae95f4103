"""Python requirements installed into an environment at build time, with no network in it.

An ``--envs`` row's ``pip_install`` (e.g. ``["-e", ".[dev]"]``) gives the arguments of the
``pip install`` the logged harness ran in the repository. Sandboxes never have a network, so the
install is split in two:

1. on the host, ``pip wheel`` builds or downloads every requirement (the repository itself
   included) into a wheelhouse, cached under ``~/.cache/understudy/wheelhouses/`` by the
   repository, its commit and the arguments (:func:`wheelhouse`);
2. in the build sandbox (network none), ``pip install --no-index --find-links <wheelhouse>``
   with the same arguments, in ``workdir``; ``pip freeze`` then says what is installed, which the
   environment records (:data:`~understudy.sandbox.labels.PIP_FREEZE` on the image,
   ``BuiltEnv.installed``).

Both sides build without isolation (``--no-build-isolation``): the host with its own
setuptools, the sandbox with Debian's, so that neither needs a package index for build tools.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from understudy.errors import EnvBuildError
from understudy.protocols import Sandbox
from understudy.sandbox.envspec import Progress
from understudy.sandbox.local_files import local_cache_dir
from understudy.trajectory import EnvSpec

__all__ = [
    "SANDBOX_WHEELHOUSE",
    "install_in_sandbox",
    "wheelhouse",
]

SANDBOX_WHEELHOUSE = "/tmp/understudy-wheelhouse"
"""Where the wheelhouse is copied in the build sandbox (removed before the image is committed)."""
PIP_TIMEOUT_S = 1800.0
"""Most seconds the host's ``pip wheel`` may take."""


def wheelhouse_key(spec: EnvSpec, commit: str | None) -> str:
    """Key of the wheelhouse of ``spec``: its repository, the commit checked out and the
    arguments."""
    repo = spec.repo
    material = {
        "repo": (repo.url or repo.path) if repo is not None else None,
        "commit": commit,
        "patch": repo.patch if repo is not None else None,
        "pip_install": spec.pip_install,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def wheelhouse(
    spec: EnvSpec, checkout: Path | None, commit: str | None, progress: Progress
) -> Path:
    """The wheelhouse of ``spec`` on the host, built with ``pip wheel`` in ``checkout`` unless
    it is cached; a requirement that cannot be had is an EnvBuildError naming ``pip_install``."""
    target = local_cache_dir() / "wheelhouses" / wheelhouse_key(spec, commit)
    if (target / ".complete").is_file():
        progress(f"wheelhouse cached: {target}")
        return target
    target.mkdir(parents=True, exist_ok=True)
    arguments = [arg for arg in spec.pip_install if arg not in ("-e", "--editable")]
    command = [
        sys.executable,
        *("-m", "pip", "wheel", "--no-build-isolation", "--disable-pip-version-check"),
        *("--wheel-dir", str(target), "--find-links", str(target), *arguments),
    ]
    progress(f"on the host: pip wheel {shlex.join(arguments)}")
    try:
        result = subprocess.run(
            command,
            cwd=checkout,
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_S,
            check=False,
            env={**os.environ, "PIP_NO_INPUT": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        raise EnvBuildError(
            f"pip_install {shlex.join(arguments)}: pip wheel on the host timed out "
            f"after {PIP_TIMEOUT_S:.0f}s"
        ) from exc
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise EnvBuildError(
            f"pip_install {shlex.join(spec.pip_install)}: the requirements cannot be "
            f"had on the host (pip wheel exit code {result.returncode}); fix the row's "
            f"pip_install field:\n{tail}"
        )
    (target / ".complete").write_text("")
    return target


async def install_in_sandbox(
    sandbox: Sandbox, spec: EnvSpec, timeout_s: float, progress: Progress
) -> list[str]:
    """Install ``spec``'s requirements from the wheelhouse at :data:`SANDBOX_WHEELHOUSE`, remove
    it, and return ``pip freeze``."""
    arguments = shlex.join(spec.pip_install)
    progress(f"pip install --no-index {arguments}")
    command = (
        "python -m pip install --no-index --no-build-isolation --disable-pip-version-check "
        f"--find-links {SANDBOX_WHEELHOUSE} {arguments}"
    )
    result = await sandbox.exec(command, timeout=timeout_s)
    if result.exit_code != 0:
        why = "timed out" if result.timed_out else f"failed with exit code {result.exit_code}"
        raise EnvBuildError(
            f"pip_install {arguments}: pip install in the sandbox {why}; fix the row's "
            f"pip_install field:\n{result.output[-4000:]}"
        )
    await sandbox.exec(f"rm -rf {SANDBOX_WHEELHOUSE}", timeout=timeout_s)
    frozen = await sandbox.exec("python -m pip freeze --all", timeout=timeout_s)
    return [line for line in frozen.output.splitlines() if line.strip() and line[0] != "#"]
