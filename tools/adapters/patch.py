"""Codex CLI's ``apply_patch`` onto the canonical ``apply_patch`` tool.

Codex logged its file edits three ways: a custom (freeform) tool ``apply_patch`` whose ``input``
is the patch envelope, a function ``apply_patch`` with ``{input}`` (or ``{patch}``), and, in
older sessions, its ``shell`` tool running ``["apply_patch", PATCH]`` or ``["bash", "-lc",
"apply_patch <<'EOF' ... EOF"]`` (which :class:`~understudy.tools.adapters.shell.CodexShellAdapter`
translates onto the same tool). Codex CLI answered each the same way, so each renders alike:

- success: the ``function_call_output`` JSON ``{"output": "Success. Updated the following
  files:\\nM path\\n", "metadata": {"exit_code": 0, "duration_seconds": 0.0}}``, as Codex CLI
  0.40 recorded it for both the custom tool and the shell (see
  :func:`~understudy.tools.adapters.shell.codex_function_output`);
- a patch Codex refused (it does not parse, a file is missing, lines are not found): the bare
  text ``apply_patch verification failed: ...`` (the tool's error, passed through).

Judges read these calls as before: ``describe`` is :func:`describe_patch`.
"""

from __future__ import annotations

from typing import Any

from understudy.errors import InvalidToolArgumentsError
from understudy.tools.adapters.base import BaseAdapter, call, get_str, with_meta
from understudy.tools.adapters.describers import describe_patch
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.adapters.shell import codex_function_output, codex_output
from understudy.tools.base import CanonicalCall, ToolOutcome
from understudy.tools.patch_format import patch_invocation

PATCH_KEYS = ("input", "patch", "arguments")
"""Where a logged ``apply_patch`` call holds its envelope, first found first."""


class CodexApplyPatchAdapter(BaseAdapter):
    """Codex ``apply_patch``: ``{input}`` (custom tool or function), ``{patch}``, or
    ``{command: ["apply_patch", PATCH]}``; ``workdir`` is kept when given."""

    names: tuple[str, ...] = ("apply_patch", "applypatch")
    stateful_shell: bool = False
    canonical: str = "apply_patch"

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        workdir = get_str(arguments, "workdir", name, required=False)
        invocation = patch_invocation(arguments.get("command"))
        if invocation is not None:
            return call("apply_patch", patch=invocation.patch, workdir=workdir)
        for key in PATCH_KEYS:
            value = arguments.get(key)
            if isinstance(value, str):
                return call("apply_patch", patch=value, workdir=workdir)
        raise InvalidToolArgumentsError(
            f"{name}: the patch is required (as 'input', a string holding '*** Begin Patch')"
        )

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_patch(name, arguments)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return outcome
        return with_meta(outcome, codex_function_output(outcome))

    def unwrap(self, name: str, arguments: dict[str, Any], shown: str) -> str | None:
        return codex_output(shown)
