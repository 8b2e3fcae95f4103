"""What the canonical tools share: argument validation, the output cap, sandbox path handling.

The output cap reuses the sandbox's :class:`~understudy.sandbox.output.OutputCollector`, so text
shown to a model is cut the same way as command output (head and tail kept, the middle replaced
by :data:`~understudy.sandbox.output.TRUNCATION_MARKER`).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

import jsonschema

from understudy.errors import (
    EditorError,
    InvalidToolArgumentsError,
    SandboxClosedError,
    SandboxCrashedError,
    SandboxError,
    SandboxFileNotFoundError,
    ToolFileNotFoundError,
)
from understudy.protocols import Sandbox
from understudy.sandbox.output import OutputCollector

DEFAULT_OUTPUT_LIMIT = 16 * 1024
"""Bytes of tool output shown to a model by default; longer output keeps its head and tail."""
MIN_OUTPUT_LIMIT = 256
"""Smallest output cap a tool accepts (the truncation marker alone is about 80 bytes)."""

_NOT_A_FILE = "not a regular file"
"""How both sandbox backends word a read of a directory (or a device, socket, ...)."""


def cap_output(text: str, limit: int = DEFAULT_OUTPUT_LIMIT) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` bytes (plus a visible marker), and whether it was cut."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text, False
    collector = OutputCollector(limit)
    collector.add(data)
    return collector.text(), True


def check_output_limit(limit: int) -> int:
    """``limit``, or a ValueError when it is too small to be useful."""
    if limit < MIN_OUTPUT_LIMIT:
        raise ValueError(f"output limit must be at least {MIN_OUTPUT_LIMIT} bytes, not {limit}")
    return limit


def validate_arguments(tool: str, schema: dict[str, Any], arguments: Any) -> dict[str, Any]:
    """``arguments`` when they match ``schema``; otherwise InvalidToolArgumentsError."""
    if not isinstance(arguments, dict):
        raise InvalidToolArgumentsError(
            f"the arguments of {tool} must be a JSON object, not {type(arguments).__name__}"
        )
    problem = schema_problem(schema_validator(schema), arguments)
    if problem is not None:
        raise InvalidToolArgumentsError(f"invalid arguments for {tool}{problem}")
    return arguments


_VALIDATORS: dict[int, tuple[dict[str, Any], jsonschema.Draft202012Validator]] = {}
"""Validators by the id of their schema (kept with it, so that the id cannot be reused): a tool's
schema is one object for a whole run, and making its validator costs more than validating."""
_VALIDATORS_KEPT = 512


def schema_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """The validator of ``schema``, made once while the schema object lives."""
    known = _VALIDATORS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    if len(_VALIDATORS) >= _VALIDATORS_KEPT:
        _VALIDATORS.clear()
    validator = jsonschema.Draft202012Validator(schema)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def schema_problem(validator: jsonschema.protocols.Validator, arguments: Any) -> str | None:
    """Where and why ``arguments`` break the validator's schema, as ``" at 'a/b': reason"``
    (or ``": reason"`` at the top level); None when they match it."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    location = f" at {where!r}" if where else ""
    return f"{location}: {error.message}"


def require_sandbox(tool: str, sandbox: Sandbox | None) -> Sandbox:
    """The sandbox; a tool that needs one and got none is a harness bug, not a model error."""
    if sandbox is None:
        raise RuntimeError(f"the {tool} tool needs a sandbox and was run without one")
    return sandbox


def sandbox_path(sandbox: Sandbox, path: str) -> str:
    """``path`` as an absolute, normalized sandbox path (relative paths start at ``workdir``)."""
    return posixpath.normpath(posixpath.join(sandbox.workdir, path))


def relative_to_workdir(sandbox: Sandbox, path: str) -> str | None:
    """``path`` relative to the sandbox's working directory, or None if it lies outside it.

    Commands should name sandbox paths this way: the local backend maps absolute paths only for
    ``read_file``/``write_file``, so an absolute path in a command would reach the host.
    """
    full = sandbox_path(sandbox, path)
    root = posixpath.normpath(sandbox.workdir)
    if full == root:
        return "."
    prefix = root.rstrip("/") + "/"
    return full[len(prefix) :] if full.startswith(prefix) else None


async def replace_file(sandbox: Sandbox, path: str, data: bytes) -> None:
    """Write ``data`` over the file at ``path``, keeping its mode (editing a script does not
    make it any less executable, as editors and ``open(path, "w")`` do not); a new file is 644."""
    mode = await _mode_of(sandbox, path)
    await sandbox.write_file(path, data, 0o644 if mode is None else mode)


async def _mode_of(sandbox: Sandbox, path: str) -> int | None:
    named = relative_to_workdir(sandbox, path)  # commands name paths relatively (see there)
    if named is None:
        return None
    result = await sandbox.exec(f"stat -c %a -- {shlex.quote(named)} 2>/dev/null", timeout=30)
    shown = result.output.strip()
    return int(shown, 8) if result.exit_code == 0 and re.fullmatch(r"[0-7]{3,4}", shown) else None


class IsDirectory:
    """Marker returned by :func:`probe_file` for a path that exists but is no regular file."""


IS_DIRECTORY = IsDirectory()


async def probe_file(sandbox: Sandbox, path: str) -> bytes | IsDirectory | None:
    """The bytes of a file, IS_DIRECTORY for a directory (or other non-file), None if absent.

    Sandbox failures that a model should hear about become ToolCallErrors; a closed or crashed
    sandbox is not the model's business and is re-raised.
    """
    try:
        return await sandbox.read_file(path)
    except SandboxFileNotFoundError:
        return None
    except (SandboxClosedError, SandboxCrashedError):
        raise
    except SandboxError as error:
        if _NOT_A_FILE in str(error):
            return IS_DIRECTORY
        raise EditorError(f"cannot read {path}: {error}") from error


async def read_existing(sandbox: Sandbox, path: str) -> bytes | IsDirectory:
    """What :func:`probe_file` finds at ``path``; ToolFileNotFoundError when nothing is there."""
    data = await probe_file(sandbox, path)
    if data is None:
        raise ToolFileNotFoundError(f"The path {path} does not exist. Please provide a valid path.")
    return data


async def read_text(sandbox: Sandbox, path: str) -> str:
    """A text file's content; ToolFileNotFoundError if absent, EditorError if not text."""
    data = await read_existing(sandbox, path)
    if isinstance(data, IsDirectory):
        raise EditorError(f"The path {path} is a directory, not a file.")
    return decode_text(data, path)


def decode_text(data: bytes, shown: str) -> str:
    """``data`` decoded as UTF-8; EditorError for binary content (NUL bytes or not UTF-8)."""
    if b"\x00" in data:
        raise EditorError(
            f"{shown} is a binary file (it contains NUL bytes); only UTF-8 text files can be "
            "viewed or edited with this tool."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EditorError(
            f"{shown} is not a UTF-8 text file (undecodable byte at offset {error.start}); only "
            "UTF-8 text files can be viewed or edited with this tool."
        ) from None


def numbered(text: str, first_line: int = 1) -> str:
    """``text`` with ``cat -n`` style line numbers (a 6-wide number, a tab, the line)."""
    return "\n".join(
        f"{number:6}\t{line}" for number, line in enumerate(text.split("\n"), start=first_line)
    )
