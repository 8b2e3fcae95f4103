"""``understudy sandbox gc``: remove what understudy left behind.

A container is garbage when its owner process (label ``understudy.owner``) is gone: killed by
SIGKILL, a crashed host process, a lost machine. Containers of live processes are kept, and so
are containers owned by processes on another host, unless ``all_hosts`` is set (their liveness
cannot be checked from here). With ``images``, cached env images and snapshots that no remaining
container uses are removed too; the base image is always kept.
"""

from __future__ import annotations

import contextlib

import docker.errors
from pydantic import BaseModel, Field

from understudy.sandbox import labels
from understudy.sandbox.engine import docker_client

PRUNABLE_IMAGE_KINDS = ("env", "snapshot")


class GcReport(BaseModel):
    """What a garbage collection removed and kept."""

    removed_containers: list[str] = Field(default_factory=list)
    kept_containers: list[str] = Field(default_factory=list)
    removed_images: list[str] = Field(default_factory=list)
    kept_images: list[str] = Field(default_factory=list)


def collect_garbage(
    images: bool = False, all_hosts: bool = False, dry_run: bool = False
) -> GcReport:
    """Remove orphaned understudy containers (and, with ``images``, unused cached images)."""
    client = docker_client()
    report = GcReport()
    containers = client.containers.list(
        all=True, filters={"label": labels.MANAGED}, ignore_removed=True
    )
    removed_ids: set[str] = set()
    for container in containers:
        owner = container.labels.get(labels.OWNER, "")
        alive = labels.owner_alive(owner) if owner else False
        name = f"{container.name} ({container.short_id})"
        if alive or (alive is None and not all_hosts):
            report.kept_containers.append(name)
            continue
        if not dry_run:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        report.removed_containers.append(name)
        removed_ids.add(str(container.id))
    if images:
        _collect_images(report, removed_ids, dry_run)
    return report


def _collect_images(report: GcReport, removed_ids: set[str], dry_run: bool) -> None:
    client = docker_client()
    in_use = {
        container.attrs.get("Image")
        for container in client.containers.list(all=True, ignore_removed=True)
        if container.id not in removed_ids
    }
    # Newest first, so a snapshot taken from another snapshot goes before its parent.
    managed = client.images.list(filters={"label": labels.MANAGED})
    for image in sorted(managed, key=lambda image: image.attrs.get("Created", ""), reverse=True):
        if image.labels.get(labels.KIND) not in PRUNABLE_IMAGE_KINDS:
            continue
        name = ", ".join(image.tags) or image.short_id
        if image.id in in_use:
            report.kept_images.append(name)
            continue
        if not dry_run:
            try:
                client.images.remove(str(image.id), force=False, noprune=False)
            except docker.errors.APIError:
                report.kept_images.append(name)  # a snapshot with children, or in use
                continue
        report.removed_images.append(name)
