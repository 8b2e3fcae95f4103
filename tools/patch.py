"""The canonical ``apply_patch`` tool: Codex CLI's file edits, applied in the sandbox.

Arguments: ``patch`` (the ``*** Begin Patch`` envelope, see :mod:`understudy.tools.patch_format`)
and an optional ``workdir`` that relative paths in the patch start from (default: the sandbox's
working directory). Codex checks a whole patch before it changes anything, and so does this
tool: every file to update or delete is read and every chunk located first, and a patch that
fails there changes nothing and raises :class:`PatchError` with Codex's text
(``apply_patch verification failed: ...``, naming the file by its full path). Then the hunks are
applied in order (added files get their parent directories, moves write the new path and remove
the old one) and the result is what Codex's ``apply_patch`` printed::

    Success. Updated the following files:
    A added/path
    M updated/or/moved/path
    D deleted/path

with the paths as the patch wrote them, and ``exit_code`` 0 (a patch without hunks prints
``No files were modified.`` with exit code 1, as Codex's did). ``duration_s`` is 0.0: Codex
applied a patch in milliseconds and reported 0.0 seconds, where the sandbox's round trips take
longer (the time they took is ``elapsed_s``). An updated file keeps its mode
(:func:`~understudy.tools.common.replace_file`).

The wording is that of openai/codex's ``codex-rs/apply-patch/src/lib.rs`` and ``parser.rs`` and of
``codex-rs/core`` (``apply_patch verification failed: {error}``) of the Codex CLI 0.40 era.
"""

from __future__ import annotations

import posixpath
import shlex
import time
from typing import Any, ClassVar

from understudy.errors import EditorError
from understudy.protocols import Sandbox
from understudy.tools.base import ToolOutcome
from understudy.tools.common import (
    IsDirectory,
    probe_file,
    relative_to_workdir,
    replace_file,
    require_sandbox,
    sandbox_path,
    validate_arguments,
)
from understudy.tools.patch_format import (
    NOTHING_MODIFIED,
    AddFile,
    DeleteFile,
    Hunk,
    PatchApplyError,
    PatchParseError,
    UpdateFile,
    parse_patch,
    summary,
    updated_text,
)

VERIFICATION_FAILED = "apply_patch verification failed: "
"""How Codex CLI answered a patch it could not parse or apply (nothing changed)."""
NOT_FOUND = "No such file or directory (os error 2)"
IS_A_DIRECTORY = "Is a directory (os error 21)"
NOT_UTF8 = "stream did not contain valid UTF-8"
"""How Rust's ``std::io::Error`` reads for the failures Codex met reading a file."""


class PatchError(EditorError):
    """A patch Codex would have refused; the text is Codex's, and nothing was changed."""


class ApplyPatchTool:
    """Apply a Codex ``apply_patch`` envelope to the sandbox's files."""

    name: str = "apply_patch"
    read_only: bool = False
    needs_sandbox: bool = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "patch": {
                "type": "string",
                "description": "The patch, from '*** Begin Patch' to '*** End Patch'.",
            },
            "workdir": {
                "type": "string",
                "minLength": 1,
                "description": "Directory relative paths in the patch start from.",
            },
        },
        "required": ["patch"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Check the whole patch, then apply it; PatchError (nothing changed) when it fails."""
        validate_arguments(self.name, self.parameters, arguments)
        box = require_sandbox(self.name, sandbox)
        started = time.monotonic()
        base = sandbox_path(box, arguments.get("workdir") or ".")
        try:
            hunks = parse_patch(arguments["patch"])
        except PatchParseError as error:
            raise PatchError(VERIFICATION_FAILED + str(error)) from None
        if not hunks:
            return ToolOutcome(
                content=NOTHING_MODIFIED + "\n",
                is_error=True,
                meta={"exit_code": 1, "duration_s": 0.0, "elapsed_s": time.monotonic() - started},
            )
        plan = _Plan(box, base)
        for hunk in hunks:
            await plan.add(hunk)
        changed = await plan.carry_out()
        content = summary(plan.added, plan.modified, plan.deleted)
        return ToolOutcome(
            content=content,
            meta={
                "exit_code": 0,
                "duration_s": 0.0,
                "elapsed_s": time.monotonic() - started,
                "files_changed": changed,
            },
        )


class _Plan:
    """The writes and deletions a patch makes, worked out (and checked) before any is made.

    Files are read as the hunks before them left them, so a patch that adds a file and then
    updates it works as Codex's sequential application did.
    """

    def __init__(self, box: Sandbox, base: str) -> None:
        self.box = box
        self.base = base
        self.files: dict[str, str | None] = {}
        """Full path -> text after the hunks so far (None: deleted)."""
        self.steps: list[tuple[str, str | None]] = []
        """(full path, text to write or None to delete), in order."""
        self.added: list[str] = []
        self.modified: list[str] = []
        self.deleted: list[str] = []

    def full(self, path: str) -> str:
        return posixpath.join(self.base, path)

    async def add(self, hunk: Hunk) -> None:
        if isinstance(hunk, AddFile):
            target = self.full(hunk.path)
            if isinstance(await probe_file(self.box, target), IsDirectory):
                raise PatchError(VERIFICATION_FAILED + f"Failed to write file {target}")
            self._write(target, hunk.contents)
            self.added.append(hunk.path)
        elif isinstance(hunk, DeleteFile):
            target = self.full(hunk.path)
            await self._read(target, "Failed to read")
            self.files[target] = None
            self.steps.append((target, None))
            self.deleted.append(hunk.path)
        else:
            await self._update(hunk)

    async def _update(self, hunk: UpdateFile) -> None:
        source = self.full(hunk.path)
        original = await self._read(source, "Failed to read file to update")
        try:
            text = updated_text(original, hunk.chunks, source)
        except PatchApplyError as error:
            raise PatchError(VERIFICATION_FAILED + str(error)) from None
        if hunk.move_to is None:
            self._write(source, text)
            self.modified.append(hunk.path)
            return
        destination = self.full(hunk.move_to)
        self._write(destination, text)
        if posixpath.normpath(destination) != posixpath.normpath(source):
            self.files[source] = None
            self.steps.append((source, None))
        self.modified.append(hunk.move_to)

    def _write(self, target: str, text: str) -> None:
        self.files[target] = text
        self.steps.append((target, text))

    async def _read(self, target: str, context: str) -> str:
        """The text of a file the patch needs, with Codex's message when it cannot be read."""
        if target in self.files:
            known = self.files[target]
            if known is None:
                raise PatchError(f"{VERIFICATION_FAILED}{context} {target}: {NOT_FOUND}")
            return known
        data = await probe_file(self.box, target)
        reason = (
            NOT_FOUND if data is None else IS_A_DIRECTORY if isinstance(data, IsDirectory) else ""
        )
        if isinstance(data, bytes):
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                reason = NOT_UTF8
        raise PatchError(f"{VERIFICATION_FAILED}{context} {target}: {reason}")

    async def carry_out(self) -> list[str]:
        """Make the planned changes in order; the full paths changed."""
        changed: list[str] = []
        for target, text in self.steps:
            if text is None:
                await self._remove(target)
            else:
                await replace_file(self.box, target, text.encode("utf-8"))
            normalized = posixpath.normpath(target)
            if normalized not in changed:
                changed.append(normalized)
        return changed

    async def _remove(self, target: str) -> None:
        # Commands name sandbox paths relatively where they can (see relative_to_workdir).
        named = relative_to_workdir(self.box, target) or target
        result = await self.box.exec(f"rm -f -- {shlex.quote(named)}", timeout=60)
        if result.exit_code != 0:
            raise PatchError(f"Failed to delete file {target}: {result.output.strip()}")
