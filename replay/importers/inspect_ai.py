"""inspect_ai eval logs: ``.eval`` (a zip) and ``.json``.

A ``.eval`` file is a zip holding ``header.json`` (or, while an eval runs,
``_journal/start.json``) with ``eval`` and ``plan``, and one ``samples/<id>_epoch_<n>.json`` per
sample. A ``.json`` log is one document with the same header fields and a ``samples`` list,
streamed one sample at a time (:mod:`~understudy.replay.importers.stream`). The
zip is read member by member with :mod:`zipfile` (never extracted); a zip cut short (no central
directory) is read entry by entry from its local headers, so the samples before the break are
kept (an error with ``strict``).

Mapping decisions:

* One Session per sample, id ``<eval_id>_<sample id>_epoch_<epoch>``.
* ``messages`` are chat messages: ``content`` a string or a list of parts (text kept, images
  as ``[image]``, ``reasoning`` parts -> ``Message.reasoning``); assistant ``tool_calls`` with
  object ``arguments`` (a ``parse_error`` is kept in ``meta.tool_call_errors``); tool results
  ``role="tool"`` with ``tool_call_id``, ``function`` -> ``name``, ``error{type, message}`` ->
  ``is_error`` (the error message becomes the content when the content is empty,
  ``meta.error_type`` keeps the type). ``meta.id`` keeps the inspect message id.
* ``attachment://<hash>`` references (long text moved to the sample's ``attachments``) are
  resolved everywhere they are used: content, arguments, tool descriptions, metadata.
* From the sample's ``events``: ``model`` events give each assistant message its ``usage``,
  ``model`` (as the API reported it) and timestamp, and give the tool specs offered
  (``inferred=False``); ``tool`` events give results their ``duration_s`` and timestamp, and
  the ``sandbox`` exec run for a call gives ``meta.exit_code``. Without model events, the
  tools are inferred from the calls (``inferred=True``), after the names the plan's
  ``use_tools`` step lists.
* ``source.model`` is the eval's model (``provider/model``); ``source.version`` the inspect_ai
  package version; ``source.agent`` ``inspect_ai`` plus the solver chain. Sandbox info
  (``eval.sandbox``, or the sample's own) goes to ``meta.sandbox`` and, for docker, its
  ``config`` to ``env.image`` when it names an image rather than a compose/Dockerfile path;
  a sample ``setup`` script becomes ``env.setup``. The eval's ``revision`` (the repository of
  the task code, not the agent's working tree) is kept in ``meta.revision``.

This module reads the containers (zip, broken zip, streamed ``.json``); the rest is in
:mod:`~understudy.replay.importers.inspect_zip` (zip members and local entries),
:mod:`~understudy.replay.importers.inspect_samples` (a sample to a Session),
:mod:`~understudy.replay.importers.inspect_content` (content parts, attachments),
:mod:`~understudy.replay.importers.inspect_events` (facts from events) and
:mod:`~understudy.replay.importers.inspect_facts` (tools, agent, env and meta of a session).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from understudy.errors import LogFormatError
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    head_bytes,
    head_text,
    json_type_name,
    load_json,
    log_error,
)
from understudy.replay.importers.inspect_content import resolve_attachments
from understudy.replay.importers.inspect_samples import FORMAT, sample_session
from understudy.replay.importers.inspect_zip import (
    ZIP_MAGIC,
    expect_object,
    local_entries,
    parse_member,
    read_member,
)
from understudy.replay.importers.stream import first_json_byte, iter_json_members
from understudy.trajectory import Session

__all__ = ["InspectImporter", "resolve_attachments"]

_SAMPLE_NAME = re.compile(r"^samples/.+\.json$")
# The header members a sample's session is built with (besides ``status``, which may be absent).
_HEADER_KEYS = frozenset({"eval", "plan"})


class InspectImporter:
    """Reads inspect_ai ``.eval`` and ``.json`` logs."""

    name = FORMAT

    def detect(self, path: Path) -> bool:
        """A zip with inspect members, or a JSON document with an inspect eval header."""
        head = head_bytes(path, 4)
        if head == ZIP_MAGIC:
            try:
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
            # NotImplementedError: a damaged central directory naming an unknown zip version.
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
                return path.suffix.lower() == ".eval"
            return any(
                name in ("header.json", "_journal/start.json") or _SAMPLE_NAME.match(name)
                for name in names
            )
        text = head_text(path)
        if not text.lstrip().startswith("{"):
            return False
        # Each test searches the whole head: "eval" (in both forms) is looked for once.
        if '"eval"' not in text:
            return False
        return (
            '"status"' in text and ('"eval_id"' in text or '"task_id"' in text) and '"plan"' in text
        ) or ('"eval_id"' in text and '"samples"' in text)

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """One session per sample, in the order the log stores them."""
        if head_bytes(path, 4) == ZIP_MAGIC:
            yield from self._load_zip(path, report, strict)
        else:
            yield from self._load_json(path, report)

    # ------------------------------------------------------------------ containers

    def _load_zip(self, path: Path, report: ImportReport, strict: bool) -> Iterator[Session]:
        try:
            archive = zipfile.ZipFile(path)
        except OSError as exc:
            raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
        except (zipfile.BadZipFile, ValueError, NotImplementedError) as exc:
            if strict:
                raise log_error(path, f"not a readable zip (truncated?): {exc}") from None
            yield from self._load_broken_zip(path, report)
            return
        with archive:
            names = archive.namelist()
            header: dict[str, Any] = {}
            for name in ("header.json", "_journal/start.json"):
                if name in names:
                    header = expect_object(path, name, read_member(path, archive, name))
                    break
            else:
                report.warn(path, "no header.json in the zip; eval facts unknown")
            found = False
            for name in names:
                if not _SAMPLE_NAME.match(name):
                    continue
                found = True
                try:
                    sample = read_member(path, archive, name)
                except LogFormatError as exc:
                    if strict:
                        raise
                    report.warn(path, f"sample skipped: {exc}", where=name)
                    continue
                yield sample_session(path, name, header, sample, report)
            if not found:
                report.warn(path, "the log holds no samples")

    def _load_broken_zip(self, path: Path, report: ImportReport) -> Iterator[Session]:
        """Read a zip without its central directory, entry by entry, up to the break."""
        header: dict[str, Any] = {}
        pending: list[tuple[str, Any]] = []
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
        with handle:
            for name, data, problem in local_entries(handle):
                if problem is not None:
                    report.warn(path, f"zip cut short or damaged: {problem}", where=name)
                    break
                if name in ("header.json", "_journal/start.json"):
                    try:
                        header = expect_object(path, name, parse_member(path, name, data))
                    except LogFormatError as exc:
                        report.warn(path, f"header unreadable: {exc}", where=name)
                elif _SAMPLE_NAME.match(name):
                    try:
                        pending.append((name, parse_member(path, name, data)))
                    except LogFormatError as exc:
                        report.warn(path, f"sample skipped: {exc}", where=name)
        if not pending and not header:
            raise log_error(path, "not a readable zip: no entry could be recovered")
        report.warn(path, f"zip has no central directory; recovered {len(pending)} sample(s)")
        # header.json is written last, so it is usually lost: samples still carry the essentials.
        for name, sample in pending:
            yield sample_session(path, name, header, sample, report)

    def _load_json(self, path: Path, report: ImportReport) -> Iterator[Session]:
        """The samples of a ``.json`` log, streamed one at a time.

        The header members (``eval``, ``plan``, ...) precede ``samples`` in the logs inspect
        writes, so samples are converted as they are read. Should a sample come before them,
        this pass only collects the header, and a second pass converts the samples.
        """
        if first_json_byte(path) not in (b"{", b""):
            document = load_json(path)  # the precise error for a file that is not an object
            raise log_error(path, f"expected an eval log object, got {json_type_name(document)}")
        header: dict[str, Any] = {}
        deferred = False
        found = False
        for key, index, value in iter_json_members(path, "samples"):
            if key != "samples":
                header[key] = value
            elif index is None:
                if value is not None:
                    raise log_error(
                        path, f"expected a list, got {json_type_name(value)}", where="samples"
                    )
            elif deferred or not header.keys() >= _HEADER_KEYS:
                deferred = True
            else:
                found = True
                yield sample_session(path, f"samples[{index}]", header, value, report)
        if deferred:
            for key, index, value in iter_json_members(path, "samples"):
                if key == "samples" and index is not None:
                    found = True
                    yield sample_session(path, f"samples[{index}]", header, value, report)
        if not found:
            report.warn(path, "the log holds no samples")
