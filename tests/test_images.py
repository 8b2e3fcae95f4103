"""The base image recipe: Dockerfile and offline build agree, mirrors are found, tags reused."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from understudy.errors import ImageBuildError
from understudy.sandbox import images
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_installs_the_same_packages_as_the_offline_recipe() -> None:
    dockerfile = (ROOT / "images" / "base" / "Dockerfile").read_text()
    install = re.search(r"apt-get install[^\n]*\\\n(.*?)&&", dockerfile, re.S)
    assert install is not None
    listed = set(install.group(1).replace("\\", " ").split())
    assert listed == set(images.BASE_PACKAGES)
    assert "FROM debian:bookworm-slim" in dockerfile


def test_packaged_recipe_is_the_images_dockerfile() -> None:
    packaged = ROOT / "sandbox" / "recipes" / "Dockerfile"
    assert packaged.read_text() == (ROOT / "images" / "base" / "Dockerfile").read_text()


def test_apt_mirror_reads_deb822_and_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.invalid/debian\nSuites: bookworm\n"
    )
    assert images.apt_mirror(tmp_path) == "http://mirror.example.invalid/debian"
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] https://other.example.invalid/debian/ bookworm main\n"
    )
    assert images.apt_mirror(tmp_path) == "https://other.example.invalid/debian"
    (tmp_path / "sources.list").write_text("deb http://ports.example.invalid/ubuntu jammy main\n")
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    assert images.apt_mirror(tmp_path) == images.DEFAULT_MIRROR


@pytest.mark.docker
def test_existing_tag_is_reused(base_image: str) -> None:
    how, image_id = images.build_base_image(mode="offline", tag=base_image)
    assert how == "reused"
    assert image_id == docker_client().images.get(base_image).id


@pytest.mark.docker
def test_offline_build_without_debootstrap_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ImageBuildError, match="apt-get install debootstrap"):
        images.build_base_image(mode="offline", tag=f"understudy/never:{uuid.uuid4().hex[:8]}")


UNREACHABLE_REGISTRY = "registry.invalid/x:y"
"""A registry name that cannot resolve (.invalid is reserved for that)."""


def path_without_debootstrap(tmp_path: Path) -> str:
    """A PATH holding only git (GitPython needs it at import), so no debootstrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git is not None
    (bin_dir / "git").symlink_to(git)
    return str(bin_dir)


def fresh_tag() -> str:
    return f"understudy/never:{uuid.uuid4().hex[:8]}"


@pytest.mark.docker
def test_auto_without_a_registry_falls_back_to_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "REGISTRY_BASE", UNREACHABLE_REGISTRY)
    monkeypatch.setenv("PATH", path_without_debootstrap(tmp_path))
    assert images.registry_reachable() is False
    lines: list[str] = []
    with pytest.raises(ImageBuildError, match="apt-get install debootstrap"):
        images.build_base_image(mode="auto", tag=fresh_tag(), progress=lines.append)
    assert lines == ["no registry reachable: building offline with debootstrap"]


def run_in_terminal(arguments: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdout and stderr (where progress is drawn);
    its exit code and everything it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(arguments, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    written = b""
    try:
        while select.select([controller], [], [], 60)[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the command is over
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    return process.returncode, written.decode(errors="replace")


@pytest.mark.docker
def test_cli_auto_build_shows_its_progress_and_the_offline_error(tmp_path: Path) -> None:
    # The registry base is set before the command line runs, as a test double of no network.
    script = (
        "import sys; from understudy.sandbox import images; "
        f"images.REGISTRY_BASE = {UNREACHABLE_REGISTRY!r}; "
        "from understudy.cli import app; sys.argv[0] = 'understudy'; app()"
    )
    env = {**os.environ, "PATH": path_without_debootstrap(tmp_path), "COLUMNS": "200"}
    code, shown = run_in_terminal(
        [sys.executable, "-c", script, "images", "build", "--auto", "--tag", fresh_tag()], env
    )
    assert code == 1, shown
    assert "no registry reachable: building offline with debootstrap" in shown
    assert "error: offline build needs debootstrap (apt-get install debootstrap)" in shown


@pytest.mark.docker
@pytest.mark.slow
async def test_offline_build_produces_a_working_image(run_id: str) -> None:
    if os.geteuid() != 0 or images.shutil.which("debootstrap") is None:
        pytest.skip("the offline build needs root and debootstrap")
    tag = f"understudy/base-test:{uuid.uuid4().hex[:8]}"
    lines: list[str] = []
    try:
        how, _image_id = images.build_base_image(mode="offline", tag=tag, progress=lines.append)
        assert how == "offline"
        assert any(line.startswith("debootstrap bookworm from") for line in lines)
        labels = docker_client().images.get(tag).labels
        assert labels["understudy.kind"] == "base"
        config = SandboxConfig(image=tag, run_id=run_id)
        async with await DockerSandbox.start(config) as sandbox:
            result = await sandbox.exec("python3 --version && git --version && patch --version")
        assert result.exit_code == 0, result.output
        assert "Python 3.11" in result.output
    finally:
        docker_client().images.remove(tag, force=True)


@pytest.mark.docker
def test_cli_build_reuses_the_existing_tag(base_image: str) -> None:
    from typer.testing import CliRunner

    from understudy.cli import app

    result = CliRunner().invoke(app, ["images", "build", "--offline", "--tag", base_image])
    assert result.exit_code == 0, result.output
    assert f"{base_image}: reused existing sha256:" in result.output
    both = CliRunner().invoke(app, ["images", "build", "--offline", "--registry"])
    assert both.exit_code == 2
    assert "at most one of" in both.output
