"""The ``images`` and ``sandbox`` command groups: the sandbox base image, and containers left
by killed runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from understudy.cli_common import console

# The library is imported by the commands that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.sandbox.images import BuildMode as ImageBuildMode

BASE_IMAGE = "understudy/base:bookworm"
"""The default tag of ``images build``: ``BASE_IMAGE`` of :mod:`understudy.sandbox.config` (a
test keeps them equal), named here so that the help shows it without loading the sandbox."""

images_app = typer.Typer(help="Build and inspect the sandbox images.", no_args_is_help=True)
sandbox_app = typer.Typer(
    help="Manage sandbox containers (remove leftovers of killed runs).",
    no_args_is_help=True,
)


@images_app.command("build")
def images_build(
    offline: Annotated[
        bool,
        typer.Option("--offline", help="debootstrap + docker import; no registry needed."),
    ] = False,
    registry: Annotated[
        bool, typer.Option("--registry", help="docker build of images/base/Dockerfile.")
    ] = False,
    auto: Annotated[
        bool,
        typer.Option("--auto", help="The registry if it is reachable, else offline (default)."),
    ] = False,
    tag: Annotated[str, typer.Option(help="Tag of the image.")] = BASE_IMAGE,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the tag exists.")] = False,
) -> None:
    """Build the sandbox base image, or reuse it if the tag already exists.

    Offline builds need root and [bold]debootstrap[/bold]; they use the Debian mirror that apt
    is configured with, so they work wherever [italic]apt-get install[/italic] does.
    """
    from understudy.sandbox.images import build_base_image

    if offline + registry + auto > 1:
        raise typer.BadParameter("give at most one of --offline, --registry, --auto")
    mode: ImageBuildMode = "offline" if offline else "registry" if registry else "auto"
    err = console(stderr=True)
    with err.status(f"building {tag} ({mode})") as status:

        def show(line: str) -> None:
            status.update(f"building {tag}: {line[:100]}")
            if not err.is_terminal:  # a spinner shows nothing in a CI log: print the steps
                err.print(f"building {tag}: {line[:200]}", markup=False)

        how, image_id = build_base_image(mode, tag=tag, force=force, progress=show)
    verb = "reused existing" if how == "reused" else f"built ({how})"
    console().print(f"{tag}: {verb} {image_id[:19]}")


@sandbox_app.command("gc")
def sandbox_gc(
    images: Annotated[
        bool, typer.Option("--images", help="Also remove cached env, prefix and snapshot images.")
    ] = False,
    all_hosts: Annotated[
        bool,
        typer.Option(
            "--all-hosts",
            help="Also remove containers owned by processes on other hosts (their liveness "
            "cannot be checked from here).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be removed.")
    ] = False,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            metavar="PREFIX",
            help="Only containers (and with --images, images) of runs whose run id starts with "
            "PREFIX; other runs on the same engine are left alone.",
        ),
    ] = None,
) -> None:
    """Remove understudy containers whose owner process is gone (killed runs).

    Containers of running understudy processes are never touched. The base image is kept.
    """
    from understudy.sandbox.gc import collect_garbage

    report = collect_garbage(
        images=images, all_hosts=all_hosts, dry_run=dry_run, run_id_prefix=run_id
    )
    out = console()
    verb = "would remove" if dry_run else "removed"
    for name in report.removed_containers:
        out.print(f"{verb} container {name}")
    for name in report.removed_images:
        out.print(f"{verb} image {name}")
    out.print(
        f"{verb} {len(report.removed_containers)} container(s), "
        f"{len(report.removed_images)} image(s); kept {len(report.kept_containers)} "
        f"container(s) of live runs, {len(report.kept_images)} image(s) in use or of live runs"
    )
