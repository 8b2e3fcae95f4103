"""``understudy sandbox gc``: remove what understudy left behind.

A container is garbage when its owner process (label ``understudy.owner``) is gone: killed by
SIGKILL, a crashed host process, a lost machine. Containers of live processes are kept, and so
are containers owned by processes on another host, unless ``all_hosts`` is set (their liveness
cannot be checked from here). With ``images``, cached env images, prefix images (the state at a
cut, see ``understudy.sandbox.snapshots``) and snapshots that no remaining container uses are
removed too, by the same owner rule: an image carries the owner label of the container it was
committed from, and the image of a live run is kept even while none of its containers runs. The
base image is always kept. ``run_id_prefix`` narrows all of this to what runs with such ids
made, so that one run (or one test session) can clean up after itself without touching the
caches of others on the same engine.
"""

from __future__ import annotations

import contextlib

import docker.errors
from pydantic import BaseModel, Field

from understudy.sandbox import labels
from understudy.sandbox.engine import docker_client

PRUNABLE_IMAGE_KINDS = ("env", "prefix", "snapshot")
"""Image kinds (label ``understudy.kind``) that ``images`` prunes."""


class GcReport(BaseModel):
    """What a garbage collection removed and kept."""

    removed_containers: list[str] = Field(default_factory=list)
    kept_containers: list[str] = Field(default_factory=list)
    removed_images: list[str] = Field(default_factory=list)
    kept_images: list[str] = Field(default_factory=list)


def collect_garbage(
    images: bool = False,
    all_hosts: bool = False,
    dry_run: bool = False,
    run_id_prefix: str | None = None,
) -> GcReport:
    """Remove orphaned understudy containers (and, with ``images``, unused cached images).

    With ``run_id_prefix``, only containers and images labelled with a run id that starts with
    it are considered.
    """
    client = docker_client()
    report = GcReport()
    containers = client.containers.list(
        all=True, filters={"label": labels.MANAGED}, ignore_removed=True
    )
    removed_ids: set[str] = set()
    for container in containers:
        if not _of_run(container.labels or {}, run_id_prefix):
            continue
        name = f"{container.name} ({container.short_id})"
        if _owned_by_a_live_process(container.labels or {}, all_hosts):
            report.kept_containers.append(name)
            continue
        if not dry_run:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        report.removed_containers.append(name)
        removed_ids.add(str(container.id))
    if images:
        _collect_images(report, removed_ids, dry_run, all_hosts, run_id_prefix)
    return report


def _owned_by_a_live_process(item_labels: dict[str, str], all_hosts: bool) -> bool:
    """Whether the process named by the owner label still runs (or, on another host, may)."""
    owner = item_labels.get(labels.OWNER, "")
    alive = labels.owner_alive(owner) if owner else False
    return bool(alive) or (alive is None and not all_hosts)


def _of_run(item_labels: dict[str, str], run_id_prefix: str | None) -> bool:
    """Whether a container or image belongs to a run whose id starts with ``run_id_prefix``."""
    return run_id_prefix is None or item_labels.get(labels.RUN_ID, "").startswith(run_id_prefix)


def _collect_images(
    report: GcReport,
    removed_ids: set[str],
    dry_run: bool,
    all_hosts: bool,
    run_id_prefix: str | None,
) -> None:
    client = docker_client()
    # Low-level listings throughout: the high-level ones inspect each item in turn, and fail
    # when another process on the engine removes one of its own meanwhile.
    in_use = {
        entry.get("ImageID")
        for entry in client.api.containers(all=True)
        if entry.get("Id") not in removed_ids
    }
    managed = client.api.images(filters={"label": labels.MANAGED})
    mine = [entry for entry in managed if _of_run(entry.get("Labels") or {}, run_id_prefix)]
    # Newest first, so a snapshot taken from another snapshot goes before its parent.
    for image in sorted(mine, key=lambda entry: entry.get("Created", 0), reverse=True):
        image_labels = image.get("Labels") or {}
        if image_labels.get(labels.KIND) not in PRUNABLE_IMAGE_KINDS:
            continue
        image_id = str(image["Id"])
        tags = [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]
        name = ", ".join(tags) or image_id.removeprefix("sha256:")[:12]
        # A live run's image may be between two of its containers (an env image just built, a
        # prefix image whose samples have not started yet): no container uses it at this moment.
        if image_id in in_use or _owned_by_a_live_process(image_labels, all_hosts):
            report.kept_images.append(name)
            continue
        if not dry_run:
            try:
                client.images.remove(image_id, force=False, noprune=False)
            except docker.errors.NotFound:
                pass  # removed meanwhile by someone else: gone all the same
            except docker.errors.APIError:
                report.kept_images.append(name)  # a snapshot with children, or in use
                continue
        report.removed_images.append(name)
