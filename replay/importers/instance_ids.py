"""The benchmark instance a log ran, from what the log or its file name shows.

SWE-bench instance ids look like ``owner__name-NUMBER`` (``marshmallow-code__marshmallow-1867``);
their images are ``swebench/sweb.eval.x86_64.OWNER_1776_NAME-NUMBER`` (``_1776_`` stands for
``__``). ``--envs`` rows match sessions by it
(:attr:`understudy.trajectory.SourceInfo.instance_id`).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["instance_from_image", "instance_from_path"]

_INSTANCE = re.compile(r"[A-Za-z0-9][\w.-]*?__[\w.-]+?-\d+")
_SWE_BENCH_IMAGE = re.compile(r"sweb\.eval\.[^./:]+\.(?P<id>[^:/@]+)")


def instance_from_image(image: str | None) -> str | None:
    """The instance id a SWE-bench image name holds, or None."""
    match = _SWE_BENCH_IMAGE.search(image or "")
    if match is None:
        return None
    instance = match.group("id").replace("_1776_", "__")
    return instance if _INSTANCE.fullmatch(instance) else None


def instance_from_path(path: Path | str) -> str | None:
    """The instance id a log's file name ends with, after any run prefix
    (``replay__marshmallow-code__marshmallow-1867.traj``), or None."""
    stem = Path(path).name.split(".traj")[0].removesuffix(".json")
    candidates = [stem, *(stem[index + 1 :] for index, char in enumerate(stem) if char in "_.")]
    for candidate in candidates:
        if candidate.count("__") == 1 and _INSTANCE.fullmatch(candidate):
            return candidate
    return None
