"""Simulated shell reads that agree with the container: what it shows, read without a change.

A simulated ``ls`` answered with another machine's listing contradicts the container the rollout
runs in, and the candidate would act on files that are not there. A script made only of
commands that read (``cat``, ``head``, ``ls``, ``find`` without actions, ``grep``, ``sed -n``,
``git status``/``diff``/``log``/``show``, ...) cannot change anything, so it is answered from the
container itself: run fresh (not in the agent's persistent shell, whose state it must not touch)
and bounded in time. Two cases stay with the base simulator:

- the script failed (a file the container lacks: a workspace rebuilt from a log can lack files
  the user's machine had, so the container's "No such file" is no evidence);
- it reads what simulated writes changed: those live in the overlay, not in the container.
  ``cat FILE`` of a file the overlay holds is answered from the overlay instead.
"""

from __future__ import annotations

from typing import Any

from understudy.errors import SandboxError, SimulatorError
from understudy.protocols import SimulationRequest
from understudy.replay.simulate.adapt import shows_bare_output
from understudy.replay.simulate.overlay import OverlaySandbox
from understudy.replay.workspace_guard import FILE_READERS, SEARCHERS, TREE_READERS
from understudy.tools.adapters import describe_call, logged_output
from understudy.tools.base import Adapter, ToolOutcome
from understudy.tools.shell_words import simple_commands

READ_TIMEOUT_S = 10.0
"""Seconds a container read may take (``tail -f`` or a huge ``find`` is cut and passed on)."""
CONTAINER_CONFIDENCE = 0.95
"""Confidence of a read answered by the container itself."""
OVERLAY_CONFIDENCE = 0.9
"""Confidence of a ``cat`` answered from the overlay (its file's mode is the container's)."""

READERS = (FILE_READERS - {"less", "more"}) | TREE_READERS | SEARCHERS | {"pwd"}
"""Commands that only read, whatever their operands (but see :data:`ACTING_OPTIONS`)."""
ACTING_OPTIONS = {
    "find": {"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf"},
    "sed": {"-i", "--in-place"},
    "tail": {"-f", "-F", "--follow"},
    "rg": {"--pre"},
}
"""Options that make a reading command act (or never end)."""
GIT_READS = frozenset({"status", "diff", "log", "show", "rev-parse", "ls-files", "blame", "grep"})
"""Subcommands of ``git`` that only read."""


def reading_commands(script: str) -> list[list[str]] | None:
    """The simple commands of ``script`` when every one of them only reads; else None."""
    commands = simple_commands(script)
    if commands is None:
        return None
    return commands if all(_only_reads(words) for words in commands) else None


def _only_reads(words: list[str]) -> bool:
    name, options = words[0], words[1:]
    if name == "git":
        return bool(options) and options[0] in GIT_READS
    if name not in READERS:
        return False
    acting = ACTING_OPTIONS.get(name, set())
    if any(word in acting or (word.startswith("-i") and name == "sed") for word in options):
        return False
    return name != "sed" or "-n" in options


async def shell_read(
    request: SimulationRequest, adapter: Adapter, overlay: OverlaySandbox
) -> ToolOutcome | None:
    """The answer to a reading shell call from the overlay or the container, or None."""
    call = request.call
    facts = describe_call(call.name, call.arguments, request.agent)
    script = facts.script if facts else None
    commands = reading_commands(script) if script else None
    if script is None or commands is None or facts is None:
        return None
    if len(commands) == 1 and commands[0][0] == "cat" and len(commands[0]) == 2:
        from_overlay = _overlay_cat(commands[0][1], overlay)
        if from_overlay is not None:
            return _rendered(request, adapter, *from_overlay, "overlay", OVERLAY_CONFIDENCE)
    if overlay.files:
        return None  # the container is behind what simulated writes changed
    try:
        result = await overlay.exec(script, timeout=READ_TIMEOUT_S, workdir=facts.workdir)
    except SandboxError as failure:
        raise SimulatorError(f"the container failed: {failure}") from failure
    if result.exit_code != 0 or result.timed_out:
        return None
    return _rendered(request, adapter, result.output, 0, "container", CONTAINER_CONFIDENCE)


def _overlay_cat(path: str, overlay: OverlaySandbox) -> tuple[str, int] | None:
    """``cat PATH``'s output and exit code from the overlay, when it holds ``path``."""
    if not overlay.holds(path):
        return None
    data = overlay.files[overlay.full_path(path)]
    if data is None:
        return f"cat: {path}: No such file or directory\n", 1
    return data.decode("utf-8", errors="replace"), 0


def _rendered(
    request: SimulationRequest,
    adapter: Adapter,
    output: str,
    exit_code: int,
    grounding: str,
    confidence: float,
) -> ToolOutcome:
    call = request.call
    shown = ToolOutcome(content=output, meta={"exit_code": exit_code})
    rendered = adapter.render(call.name, call.arguments, shown)
    if shows_bare_output(request.conversation, call, request.agent):
        # As the session shows this tool's results: what the wrapping holds (see adapt).
        bare = logged_output(call.name, call.arguments, rendered.content, request.agent)
        rendered = rendered.model_copy(update={"content": bare or rendered.content})
    meta: dict[str, Any] = {
        "grounding": grounding,
        "confidence": confidence,
        "exit_code": exit_code,
    }
    return rendered.model_copy(update={"meta": {**rendered.meta, **meta}})
