"""The session-level facts of an inspect_ai sample, from the eval header and the sample: the
tools the plan names, the agent (the solver chain), the environment (sandbox, setup script) and
the session's meta."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from understudy.trajectory import EnvSpec, ToolSpec

__all__ = ["agent_name", "plan_tools", "sample_env", "sample_meta"]

_IMAGE_LIKE = re.compile(r"^[\w.\-/]+(?::[\w.\-]+)?(?:@sha256:[0-9a-f]{64})?$")


def plan_tools(header: dict[str, Any]) -> list[ToolSpec]:
    """Tools named by the plan's ``use_tools`` step (names only: inferred)."""
    plan = header.get("plan")
    steps = plan.get("steps") if isinstance(plan, dict) else None
    specs: list[ToolSpec] = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict) or step.get("solver") != "use_tools":
            continue
        params = step.get("params")
        tools = params.get("tools") if isinstance(params, dict) else None
        for tool in tools if isinstance(tools, list) else []:
            name = tool.get("name") if isinstance(tool, dict) else None
            if isinstance(name, str) and name and all(s.name != name for s in specs):
                specs.append(ToolSpec(name=name, inferred=True))
    return specs


def agent_name(header: dict[str, Any]) -> str:
    """``inspect_ai`` followed by the plan's solver chain: ``inspect_ai (a > b)``."""
    plan = header.get("plan")
    steps = plan.get("steps") if isinstance(plan, dict) else None
    solvers = [
        step["solver"]
        for step in (steps if isinstance(steps, list) else [])
        if isinstance(step, dict) and isinstance(step.get("solver"), str)
    ]
    return "inspect_ai" + (f" ({' > '.join(solvers)})" if solvers else "")


def sample_env(eval_info: dict[str, Any], sample: dict[str, Any]) -> tuple[EnvSpec, dict[str, Any]]:
    """The environment (docker image, setup script) and the meta it comes with (sandbox, files)."""
    env = EnvSpec()
    meta: dict[str, Any] = {}
    sandbox = sample.get("sandbox") or eval_info.get("sandbox")
    if isinstance(sandbox, list) and len(sandbox) >= 1:  # old form: [type, config]
        sandbox = {"type": sandbox[0], "config": sandbox[1] if len(sandbox) > 1 else None}
    if isinstance(sandbox, dict):
        meta["sandbox"] = sandbox
        config = sandbox.get("config")
        if (
            sandbox.get("type") == "docker"
            and isinstance(config, str)
            and _IMAGE_LIKE.match(config)
            and not config.lower().endswith((".yaml", ".yml", "dockerfile", ".json"))
        ):
            env.image = config
    setup = sample.get("setup")
    if isinstance(setup, str) and setup.strip():
        env.setup = [setup]
    files = sample.get("files")
    if isinstance(files, list | dict) and files:
        meta["files"] = list(files)
    return env, meta


def sample_meta(
    header: dict[str, Any],
    eval_info: dict[str, Any],
    sample: dict[str, Any],
    sample_id: Any,
    epoch: Any,
    resolve: Callable[[Any], Any],
) -> dict[str, Any]:
    """Session meta: the eval's ids and revision, the sample's scores, limits and usage.

    ``resolve`` replaces the sample's attachment references in the values kept.
    """
    meta: dict[str, Any] = {"sample_id": sample_id, "epoch": epoch}
    for key in ("eval_id", "run_id", "eval_set_id", "task", "task_version", "created"):
        if eval_info.get(key) is not None:
            meta[key] = eval_info[key]
    for key in ("status",):
        if header.get(key) is not None:
            meta[key] = header[key]
    revision = eval_info.get("revision")
    if isinstance(revision, dict):
        meta["revision"] = revision
    for key in (
        "target",
        "scores",
        "metadata",
        "error",
        "limit",
        "total_time",
        "working_time",
        "uuid",
    ):
        value = sample.get(key)
        if value not in (None, {}, []):
            meta[key] = resolve(value)
    usage = sample.get("model_usage")
    if isinstance(usage, dict) and usage:
        meta["usage"] = usage
    output = sample.get("output")
    if isinstance(output, dict) and isinstance(output.get("model"), str):
        meta["output_model"] = output["model"]
    return meta
