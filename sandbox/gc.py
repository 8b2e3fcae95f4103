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

A process cleaning up after its own runs, whose images gc would keep (their owner, the
process, is alive), uses :func:`remove_run_images`. Images are removed in passes
(:func:`remove_images`): the engine refuses to remove an image before those built on it.
"""

from __future__ import annotations

import contextlib
from typing import Any

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
    in_use = _images_in_use(removed_ids)
    names: dict[str, str] = {}  # the images to remove, each with the name it is reported by
    for image in _prunable_images(run_id_prefix):
        image_id = str(image["Id"])
        tags = [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]
        name = ", ".join(tags) or image_id.removeprefix("sha256:")[:12]
        # A live run's image may be between two of its containers (an env image just built, a
        # prefix image whose samples have not started yet): no container uses it at this moment.
        if image_id in in_use or _owned_by_a_live_process(image.get("Labels") or {}, all_hosts):
            report.kept_images.append(name)
        else:
            names[image_id] = name
    refused = set() if dry_run else set(remove_images(list(names)))
    for image_id, name in names.items():
        # Refused: a snapshot with children of another run, or an image put in use meanwhile.
        (report.kept_images if image_id in refused else report.removed_images).append(name)


def remove_run_images(run_id: str) -> list[str]:
    """Remove the cached images (env, prefix, snapshot) that runs whose id starts with
    ``run_id`` made, whoever owns them, but those a container uses: for a process cleaning up
    after its own runs (a benchmark's env images, built from a repository it made, would never
    be used again). Returns the ids removed."""
    in_use = _images_in_use(set())
    chosen = [
        image_id
        for image in _prunable_images(run_id)
        if (image_id := str(image["Id"])) not in in_use
    ]
    refused = set(remove_images(chosen))
    return [image_id for image_id in chosen if image_id not in refused]


def remove_images(image_ids: list[str], force: bool = False) -> list[str]:
    """Remove the images ``image_ids``, in passes for as long as a pass removes one; return
    those the engine refused to remove (in use, or with a child not among them).

    The engine refuses to remove an image before those built on it. Newest first is not
    enough to put the children first: an env image and its ``-user`` variant, built on it, can
    share their second of creation, the finest the engine lists.
    """
    client = docker_client()
    pending = list(image_ids)
    while pending:
        refused = []
        for image_id in pending:
            try:
                client.images.remove(image_id, force=force, noprune=False)
            except docker.errors.NotFound:
                pass  # removed meanwhile by someone else: gone all the same
            except docker.errors.APIError:
                refused.append(image_id)
        if len(refused) == len(pending):
            return refused
        pending = refused
    return []


def _images_in_use(removed_ids: set[str]) -> set[str]:
    """The images of the containers on the engine (but those just removed)."""
    # Low-level listings throughout: the high-level ones inspect each item in turn, and fail
    # when another process on the engine removes one of its own meanwhile.
    return {
        str(entry.get("ImageID"))
        for entry in docker_client().api.containers(all=True)
        if entry.get("Id") not in removed_ids
    }


def _prunable_images(run_id_prefix: str | None) -> list[dict[str, Any]]:
    """The cached images (env, prefix, snapshot) of runs whose id starts with the prefix (of
    all runs for None), newest first: a snapshot taken from another goes before it."""
    managed = docker_client().api.images(filters={"label": labels.MANAGED})
    return sorted(
        (
            entry
            for entry in managed
            if _of_run(entry.get("Labels") or {}, run_id_prefix)
            and (entry.get("Labels") or {}).get(labels.KIND) in PRUNABLE_IMAGE_KINDS
        ),
        key=lambda entry: entry.get("Created", 0),
        reverse=True,
    )
