"""Importers of agent logs, by format name, with auto-detection.

Each format lives in its own module and is looked up lazily through :data:`IMPORTERS`. The
entry points:

* :func:`get_importer` -- an importer instance by format name;
* :func:`detect_format` -- which format a file is in (clear errors for empty, binary and
  unrecognized files);
* :func:`iter_log_files` -- the files a list of paths stands for (directories walked);
* :func:`import_paths` -- stream ``(path, session)`` pairs from files and directories,
  de-identified by default, with a per-file :class:`ImportReport`.

Error policy of :func:`import_paths`: a file named explicitly that cannot be imported (missing,
empty, binary, unrecognized, garbled) raises :class:`~understudy.errors.LogFormatError`; a file
found by walking a directory is reported (``report.error``) and the walk goes on, unless
``strict``. A file of the walk that is no log at all (empty, binary or unrecognized:
:class:`~understudy.errors.NotALogError`) is passed over (``report.skipped``), strict or not,
when its name is no log's -- a README, a config, an agent's text log -- or when it is JSON
that parses whole, such as an agent's ``preds.json``; a log's name on anything else (empty,
garbled) is an error. Sessions
read before a problem are always yielded first. Only ``LogFormatError`` escapes for bad input:
an importer that fails in an unforeseen way on a file is reported as an
:class:`ImporterCrashError` (a ``LogFormatError``) naming the importer, so one odd file cannot
stop an import of thousands.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from understudy.errors import LogFormatError, NotALogError
from understudy.registry import Registry
from understudy.replay.importers import fast_json
from understudy.replay.importers.base import Importer, ImportIssue, ImportReport
from understudy.replay.importers.common import check_not_binary, head_bytes
from understudy.replay.importers.file_head import ZIP_MAGIC, holding_head
from understudy.replay.importers.log_fields import has_log_suffix
from understudy.replay.importers.openhands_store import EVENTS, event_store_of
from understudy.replay.redact import redact_session
from understudy.trajectory import Session

__all__ = [
    "DETECTION_ORDER",
    "IMPORTERS",
    "ImportIssue",
    "ImportReport",
    "Importer",
    "ImporterCrashError",
    "detect_format",
    "get_importer",
    "import_paths",
    "iter_log_files",
]

IMPORTERS: Registry[Any] = Registry(
    "log format",
    {
        "native": "understudy.replay.importers.native:NativeImporter",
        "openai": "understudy.replay.importers.openai_chat:OpenAIChatImporter",
        "atif": "understudy.replay.importers.atif:AtifImporter",
        "swe-agent": "understudy.replay.importers.swe_agent:SweAgentImporter",
        "mini-swe-agent": "understudy.replay.importers.mini_swe_agent:MiniSweAgentImporter",
        "openhands": "understudy.replay.importers.openhands:OpenHandsImporter",
        "claude-code": "understudy.replay.importers.claude_code:ClaudeCodeImporter",
        "codex": "understudy.replay.importers.codex:CodexImporter",
        "inspect": "understudy.replay.importers.inspect_ai:InspectImporter",
    },
)
"""Importer classes by format name (instantiate with no arguments)."""

DETECTION_ORDER = (
    "inspect",
    "atif",
    "swe-agent",
    "mini-swe-agent",
    "openhands",
    "claude-code",
    "codex",
    "native",
    "openai",
)
"""Most specific first: the generic formats (native, openai) are tried last."""

_SIDECAR_SUFFIX = ".env.json"


class ImporterCrashError(LogFormatError):
    """An importer failed on a file in a way it does not report as a LogFormatError (a bug in
    the importer, or a variant of its format it does not know); the message names both."""


_instances: dict[str, Importer] = {}


def get_importer(name: str) -> Importer:
    """The importer for format ``name`` (a registry name or a dotted path to a class).

    Raises :class:`~understudy.errors.ConfigError` for an unknown name, listing the valid ones.
    """
    importer = _instances.get(name)
    if importer is None:
        importer = IMPORTERS.get(name)()
        _instances[name] = importer
    return importer


def _detects(name: str, path: Path) -> bool:
    """Whether importer ``name`` claims ``path``; a detector that fails claims nothing."""
    try:
        return bool(get_importer(name).detect(path))
    except Exception:
        # An importer module that cannot be loaded (ConfigError) recognizes nothing, and a
        # detector that fails must not crash detection of the others.
        return False


def _detected(path: Path, skip: str | None = None) -> str | None:
    for name in DETECTION_ORDER:
        if name != skip and _detects(name, path):
            return name
    return None


def detect_format(path: Path | str) -> str:
    """The name of the format ``path`` is in, trying :data:`DETECTION_ORDER`.

    Raises :class:`LogFormatError` naming the file when it does not exist, is empty, holds
    binary data (other than a zip an importer claims), or no importer recognizes it -- the
    last message lists the formats tried.
    """
    path = Path(path)
    _check_regular_file(path)
    with holding_head(path):  # every detector reads the head: read the file once
        return _detect_format(path)


def _check_regular_file(path: Path) -> None:
    if not path.exists():
        raise LogFormatError(f"{path}: no such file")
    if not path.is_file() and event_store_of(path) is None:
        raise LogFormatError(f"{path}: not a regular file")


def _detect_format(path: Path) -> str:
    if path.is_dir():  # an OpenHands conversation store: the walk yields no other directory
        return "openhands"
    head = head_bytes(path)
    if head.startswith(ZIP_MAGIC):
        name = _detected(path)
        if name is None:
            raise NotALogError(
                f"{path}: a zip archive that no importer recognizes "
                "(only inspect_ai .eval logs are zip files)"
            )
        return name
    try:
        check_not_binary(path, head)  # empty files and binary garbage get their own messages
    except LogFormatError as exc:
        raise NotALogError(str(exc)) from None
    name = _detected(path)
    if name is None:
        raise NotALogError(
            f"{path}: unrecognized log format (tried {', '.join(DETECTION_ORDER)}); "
            "name the format explicitly if it is one of them"
        )
    return name


def iter_log_files(
    paths: Iterable[Path | str], exclude: Iterable[Path] = ()
) -> Iterator[tuple[Path, bool]]:
    """``(file, named_explicitly)`` for each file the paths stand for, in a stable order.

    Directories are walked recursively in sorted order, skipping hidden files and directories
    (names starting with ``.``) and OpenAI env sidecars (``x.env.json`` beside ``x.json`` or
    ``x.jsonl``). An OpenHands conversation store (a directory of ``events/<n>.json``, see
    :mod:`~understudy.replay.importers.openhands_store`) is yielded as one log, whether it is
    met in a walk or named (itself or its ``events`` folder). Files of ``exclude`` met in a walk
    are passed over: the file an import writes, when it lies among the logs it reads (read, it
    would feed the import its own output without end). A path that does not exist raises
    :class:`LogFormatError`.
    """
    excluded = {os.path.realpath(path) for path in exclude}
    for item in paths:
        path = Path(item)
        store = event_store_of(path)
        if store is not None:
            yield store, True
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                if EVENTS in dirs and (store := event_store_of(Path(root))) is not None:
                    dirs[:] = []  # an OpenHands conversation store is one log, files and all
                    yield store, False
                    continue
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                names = set(files)
                for name in sorted(files):
                    if name.startswith(".") or _is_sidecar(name, names):
                        continue
                    if excluded and os.path.realpath(os.path.join(root, name)) in excluded:
                        continue
                    yield Path(root) / name, False
        elif path.exists():
            yield path, True
        else:
            raise LogFormatError(f"{path}: no such file or directory")


def _is_sidecar(name: str, siblings: set[str]) -> bool:
    if not name.endswith(_SIDECAR_SUFFIX):
        return False
    base = name[: -len(_SIDECAR_SUFFIX)]
    return base in siblings or any(base + ext in siblings for ext in (".json", ".jsonl"))


def import_paths(
    paths: Iterable[Path | str],
    fmt: str = "auto",
    strict: bool = False,
    redact: bool = True,
    reports: dict[Path, ImportReport] | None = None,
    on_file: Callable[[Path, ImportReport], None] | None = None,
    exclude: Iterable[Path] = (),
) -> Iterator[tuple[Path, Session]]:
    """Stream ``(file, session)`` for every session in ``paths`` (files and directories).

    ``fmt`` is a format name, or ``"auto"`` to detect each file's format. With ``redact``
    (the default) every session is de-identified (:func:`understudy.replay.redact
    .redact_session`) before it is yielded. Session ids are made unique over the whole
    import: a repeat of an id gets ``~2``, ``~3``, ... appended, in walk order.

    ``reports``, when given, receives one :class:`ImportReport` per file as the file is
    reached (sessions, messages, tool calls, orphan results, redaction counts, warnings and,
    for a file that failed during a directory walk, ``error``). Every orphan tool result is
    also a warning (:meth:`ImportReport.check_orphans`). ``on_file``, when given, is
    called with each file and its report once the file is done (read to the end, or failed
    and reported): the hook for a progress bar, with :func:`iter_log_files` listing the files
    beforehand. ``strict`` turns warnings that would be tolerated (a truncated last line) into
    errors, and makes a failure of any file fatal. ``exclude``: files a walk passes over (see
    :func:`iter_log_files`). See the module docs for the error policy.

    Raises :class:`~understudy.errors.ConfigError` for an unknown ``fmt``, and
    :class:`LogFormatError` for a file that cannot be imported when that is fatal.
    """
    explicit_importer = None if fmt == "auto" else get_importer(fmt)
    seen: dict[str, int] = {}
    for path, explicit in iter_log_files(paths, exclude):
        report = ImportReport()
        if reports is not None:
            reports[path] = report
        name = fmt
        try:
            if explicit_importer is None:
                _check_regular_file(path)
            # Detection and the start of loading (the binary check, say) read the head of the
            # file: it is read once. Nothing is yielded while it is held.
            with holding_head(path):
                if explicit_importer is None:
                    name = _detect_format(path)
                else:
                    _check_explicit(fmt, path)
                report.format = name
                importer = explicit_importer or get_importer(name)
                sessions = _load(importer, name, path, report, strict)
                first = next(sessions, None)
            if first is not None:
                for session in _finished(path, itertools.chain([first], sessions), report, redact):
                    yield path, _unique(path, session, seen, report)
        except NotALogError as exc:
            if explicit or (has_log_suffix(path) and not _well_formed_json(path)):
                report.error = str(exc)
                if explicit or strict:
                    raise
            else:  # a README, a config, an agent's text log or preds.json beside its logs
                report.skipped = str(exc)
        except LogFormatError as exc:
            report.error = str(exc)
            if explicit or strict:
                raise
        if on_file is not None:
            on_file(path, report)


WELL_FORMED_CHECK_BYTES = 64 * 2**20
"""The largest file :func:`_well_formed_json` reads; a larger one counts as not well formed."""


def _well_formed_json(path: Path) -> bool:
    """Whether ``path`` is JSON that parses whole, as one document or one per line: an agent's
    ``preds.json``, an evaluation's ``metadata.json`` -- not a log cut short or garbled, which
    a walk reports as an error."""
    try:
        if path.stat().st_size > WELL_FORMED_CHECK_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        fast_json.loads(text)
        return True
    except (ValueError, RecursionError):
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        for line in lines:
            fast_json.loads(line)
    except (ValueError, RecursionError):
        return False
    return bool(lines)


def _check_explicit(fmt: str, path: Path) -> None:
    """An explicitly named format that does not fit: name the one that does, if any."""
    if _detects(fmt, path):
        return
    head = head_bytes(path)
    if not head.startswith(ZIP_MAGIC):
        check_not_binary(path, head)  # empty and binary files get their own messages first
    detected = _detected(path, skip=fmt)
    if detected is not None:
        raise LogFormatError(
            f"{path}: not a {fmt} log; it looks like {detected} (use FORMAT {detected!r}, or auto)"
        )
    # No importer recognizes it: let the named importer try, and report what it finds.


def _load(
    importer: Importer, name: str, path: Path, report: ImportReport, strict: bool
) -> Iterator[Session]:
    """The importer's sessions, with unforeseen failures turned into ImporterCrashError."""
    try:
        yield from importer.load(path, report, strict)
    except LogFormatError:
        raise
    except RecursionError:
        raise LogFormatError(f"{path}: data nested too deeply to import") from None
    except MemoryError:
        raise LogFormatError(f"{path}: too large to import in memory") from None
    except Exception as exc:
        raise ImporterCrashError(
            f"{path}: the {name} importer failed on this file "
            f"({type(exc).__name__}: {str(exc)[:200]}); the file may be a variant of the "
            "format it does not support"
        ) from exc


def _finished(
    path: Path, sessions: Iterable[Session], report: ImportReport, redact: bool
) -> Iterator[Session]:
    """The sessions of one file checked for orphan results, de-identified and counted."""
    counted = report.sessions
    for session in sessions:
        # Before redaction: the ids an importer warned about are the logged ones.
        report.check_orphans(path, session)
        if redact:
            session, counts = redact_session(session)
            report.add_redactions(counts)
        if report.sessions == counted:  # unless the importer counted it already
            report.count(session)  # (before the id is made unique: the same counts)
        counted = report.sessions
        yield session


def _unique(path: Path, session: Session, seen: dict[str, int], report: ImportReport) -> Session:
    """``session`` with an id no session before it in the import had (``~2``, ``~3``, ...);
    a repeat is a warning: most often one run recorded twice (a harness's transcript beside the
    agent's own session log, or a copy), and both would count in rates."""
    count = seen.get(session.id, 0)
    seen[session.id] = count + 1
    if count == 0:
        return session
    n = count + 1
    new_id = f"{session.id}~{n}"
    while new_id in seen:
        n += 1
        new_id = f"{session.id}~{n}"
    seen[new_id] = 1
    report.warn(path, f"session {session.id!r} was imported already; kept as {new_id!r}")
    return session.model_copy(update={"id": new_id})
