"""The base image recipe: Dockerfile and offline build agree, mirrors are found, tags reused."""

from __future__ import annotations

import os
import re
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
