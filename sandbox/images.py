"""Building the base image, from a registry (Dockerfile) or offline (debootstrap + import).

Offline, a minimal Debian bookworm is bootstrapped through the host's Debian mirror (as apt is
configured) with the same packages as ``images/base/Dockerfile``, then imported as an image.
An existing tag is reused unless a rebuild is forced.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Literal

import docker.errors

from understudy.errors import ImageBuildError
from understudy.sandbox import labels
from understudy.sandbox.config import BASE_IMAGE
from understudy.sandbox.engine import docker_client

BASE_PACKAGES = (
    "python3",
    "python-is-python3",
    "git",
    "ca-certificates",
    "procps",
    "patch",
    "findutils",
    "grep",
    "sed",
    "coreutils",
    "bash",
    "python3-pip",
    "python3-venv",
    "ripgrep",
)
"""Packages of the base image; the Dockerfile installs the same list (``python-is-python3``
gives ``python``, which logs call as often as ``python3``; ``python3-pip`` gives ``pip``,
which installs into the system Python: :data:`IMAGE_ENV` lets it past PEP 668; ``ripgrep``
gives ``rg``, the search Codex and Claude Code sessions run most)."""
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
REGISTRY_BASE = "debian:bookworm-slim"


def recipe_digest() -> str:
    """Hash of the base image's recipe (the package list and the Dockerfile): an image built
    from another recipe is rebuilt rather than reused."""
    dockerfile = (resources.files("understudy.sandbox") / "recipes" / "Dockerfile").read_text()
    material = "\n".join([*BASE_PACKAGES, SUITE, dockerfile])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


IMAGE_ENV = {"PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
"""Environment of the base image (the Dockerfile sets the same): logged ``pip install`` commands
install into Debian's "externally managed" Python, as they did in the logged images."""

IMPORT_CHANGES = [
    f"LABEL {labels.MANAGED}=1 {labels.KIND}=base {labels.RECIPE}={recipe_digest()}",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "
    + " ".join(f"{name}={value}" for name, value in IMAGE_ENV.items()),
    'CMD ["sleep", "infinity"]',
]

BuildMode = Literal["auto", "offline", "registry"]
Progress = Callable[[str], None]


def image_exists(tag: str) -> bool:
    """Whether the engine has an image with this tag."""
    try:
        docker_client().images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def registry_reachable() -> bool:
    """Whether the engine can reach the registry that holds the Dockerfile's base."""
    try:
        docker_client().api.inspect_distribution(REGISTRY_BASE)  # type: ignore[no-untyped-call]
    except (docker.errors.APIError, OSError):
        return False
    return True


def build_base_image(
    mode: BuildMode = "auto",
    tag: str = BASE_IMAGE,
    force: bool = False,
    progress: Progress = lambda line: None,
) -> tuple[str, str]:
    """Build (or reuse) the base image; returns (how it was obtained, image id)."""
    client = docker_client()
    if image_exists(tag) and not force:
        image = client.images.get(tag)
        if (image.labels or {}).get(labels.RECIPE) == recipe_digest():
            return "reused", str(image.id)
        progress(f"{tag} was built from another recipe: rebuilding it")
    if mode == "auto":
        mode = "registry" if registry_reachable() else "offline"
        progress(
            "registry reachable: building from the Dockerfile"
            if mode == "registry"
            else "no registry reachable: building offline with debootstrap"
        )
    if mode == "registry":
        _build_from_dockerfile(tag, progress)
    else:
        _build_offline(tag, apt_mirror(), progress)
    return mode, str(client.images.get(tag).id)


def _build_from_dockerfile(tag: str, progress: Progress) -> None:
    recipes = resources.files("understudy.sandbox") / "recipes"
    with resources.as_file(recipes) as context:
        try:
            for chunk in docker_client().api.build(
                path=str(context),
                tag=tag,
                rm=True,
                decode=True,
                labels={labels.MANAGED: "1", labels.RECIPE: recipe_digest()},
            ):
                if "error" in chunk:
                    raise ImageBuildError(f"docker build failed: {chunk['error'].strip()}")
                if chunk.get("stream", "").strip():
                    progress(chunk["stream"].strip())
        except docker.errors.APIError as exc:
            raise ImageBuildError(f"docker build failed: {exc}") from exc


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt is configured with (deb822 or one-line format), else the default."""
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    pattern = re.compile(r"^\s*(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(https?://\S+?/debian)/?(?:\s|$)")
    for path in files:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            match = pattern.match(line)
            if match:
                return match.group(1)
    return DEFAULT_MIRROR


def _build_offline(tag: str, mirror: str, progress: Progress) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise ImageBuildError(
            "offline build needs debootstrap (apt-get install debootstrap), "
            "or a registry and `understudy images build --registry`"
        )
    with tempfile.TemporaryDirectory(prefix="understudy-rootfs-") as scratch:
        root = Path(scratch) / "root"
        command = [
            debootstrap,
            "--variant=minbase",
            "--include=" + ",".join(BASE_PACKAGES),
            SUITE,
            str(root),
            mirror,
        ]
        progress(f"debootstrap {SUITE} from {mirror}")
        _run_streaming(command, progress)
        for leftover in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for item in (root / leftover).glob("*"):
                if item.is_file():
                    item.unlink()
        archive = Path(scratch) / "rootfs.tar"
        progress("packing the root file system")
        subprocess.run(["tar", "-C", str(root), "-cf", str(archive), "."], check=True)
        progress(f"importing as {tag}")
        repository, _, version = tag.rpartition(":")
        if not repository or "/" in version:
            repository, version = tag, "latest"
        try:
            docker_client().api.import_image(
                src=str(archive), repository=repository, tag=version, changes=IMPORT_CHANGES
            )
        except docker.errors.APIError as exc:
            raise ImageBuildError(f"docker import failed: {exc}") from exc


def _run_streaming(command: list[str], progress: Progress) -> None:
    """Run a command, passing each output line to ``progress``; keep the tail for errors."""
    tail: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            progress(line.rstrip())
            tail = [*tail[-19:], line.rstrip()]
    if process.returncode != 0:
        shown = "\n".join(tail)
        raise ImageBuildError(f"{command[0]} failed with exit code {process.returncode}:\n{shown}")
