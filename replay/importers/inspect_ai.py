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
"""

from __future__ import annotations

import bisect
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from understudy.errors import LogFormatError
from understudy.replay.importers import common
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    IMAGE_PLACEHOLDER,
    first_user_text,
    flatten_content,
    head_bytes,
    head_text,
    infer_tool_specs,
    json_problem,
    json_type_name,
    load_json,
    log_error,
    make_tool_call,
    parse_timestamp,
    tool_result,
    tool_specs_from_openai,
)
from understudy.replay.importers.stream import first_json_byte, iter_json_members
from understudy.trajectory import EnvSpec, Message, Session, SourceInfo, ToolCall, ToolSpec

__all__ = ["InspectImporter", "resolve_attachments"]

FORMAT = "inspect"

_ZIP_MAGIC = b"PK\x03\x04"
_ATTACHMENT = re.compile(r"attachment://([A-Za-z0-9_-]+)")
_SAMPLE_NAME = re.compile(r"^samples/.+\.json$")
_ROLES = frozenset({"system", "user", "assistant", "tool"})
# The header members a sample's session is built with (besides ``status``, which may be absent).
_HEADER_KEYS = frozenset({"eval", "plan"})
_IMAGE_LIKE = re.compile(r"^[\w.\-/]+(?::[\w.\-]+)?(?:@sha256:[0-9a-f]{64})?$")


class InspectImporter:
    """Reads inspect_ai ``.eval`` and ``.json`` logs."""

    name = FORMAT

    def detect(self, path: Path) -> bool:
        """A zip with inspect members, or a JSON document with an inspect eval header."""
        head = head_bytes(path, 4)
        if head == _ZIP_MAGIC:
            try:
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
            except (zipfile.BadZipFile, OSError, ValueError):
                return path.suffix.lower() == ".eval"
            return any(
                name in ("header.json", "_journal/start.json") or _SAMPLE_NAME.match(name)
                for name in names
            )
        text = head_text(path)
        if not text.lstrip().startswith("{"):
            return False
        return (
            '"eval"' in text
            and '"status"' in text
            and ('"eval_id"' in text or '"task_id"' in text)
            and '"plan"' in text
        ) or ('"eval"' in text and '"eval_id"' in text and '"samples"' in text)

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """One session per sample, in the order the log stores them."""
        if head_bytes(path, 4) == _ZIP_MAGIC:
            yield from self._load_zip(path, report, strict)
        else:
            yield from self._load_json(path, report)

    # ------------------------------------------------------------------ containers

    def _load_zip(self, path: Path, report: ImportReport, strict: bool) -> Iterator[Session]:
        try:
            archive = zipfile.ZipFile(path)
        except OSError as exc:
            raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
        except (zipfile.BadZipFile, ValueError) as exc:
            if strict:
                raise log_error(path, f"not a readable zip (truncated?): {exc}") from None
            yield from self._load_broken_zip(path, report)
            return
        with archive:
            names = archive.namelist()
            header: dict[str, Any] = {}
            for name in ("header.json", "_journal/start.json"):
                if name in names:
                    header = _as_object(path, name, self._read_member(path, archive, name))
                    break
            else:
                report.warn(path, "no header.json in the zip; eval facts unknown")
            found = False
            for name in names:
                if not _SAMPLE_NAME.match(name):
                    continue
                found = True
                try:
                    sample = self._read_member(path, archive, name)
                except LogFormatError as exc:
                    if strict:
                        raise
                    report.warn(path, f"sample skipped: {exc}", where=name)
                    continue
                yield _sample_session(path, name, header, sample, report)
            if not found:
                report.warn(path, "the log holds no samples")

    def _read_member(self, path: Path, archive: zipfile.ZipFile, name: str) -> Any:
        try:
            info = archive.getinfo(name)
            if info.file_size > common.MAX_JSON_BYTES:
                raise log_error(path, f"{info.file_size:,} bytes is too large", where=name)
            data = archive.read(info)
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            ValueError,
            KeyError,
            NotImplementedError,  # a damaged header naming an unknown compression method
        ) as exc:
            if isinstance(exc, LogFormatError):
                raise
            raise log_error(path, f"cannot read zip entry: {exc}", where=name) from None
        return _parse_json(path, name, data)

    def _load_broken_zip(self, path: Path, report: ImportReport) -> Iterator[Session]:
        """Read a zip without its central directory, entry by entry, up to the break."""
        header: dict[str, Any] = {}
        pending: list[tuple[str, Any]] = []
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
        with handle:
            for name, data, problem in _local_entries(handle):
                if problem is not None:
                    report.warn(path, f"zip cut short or damaged: {problem}", where=name)
                    break
                if name in ("header.json", "_journal/start.json"):
                    try:
                        header = _as_object(path, name, _parse_json(path, name, data))
                    except LogFormatError as exc:
                        report.warn(path, f"header unreadable: {exc}", where=name)
                elif _SAMPLE_NAME.match(name):
                    try:
                        pending.append((name, _parse_json(path, name, data)))
                    except LogFormatError as exc:
                        report.warn(path, f"sample skipped: {exc}", where=name)
        if not pending and not header:
            raise log_error(path, "not a readable zip: no entry could be recovered")
        report.warn(path, f"zip has no central directory; recovered {len(pending)} sample(s)")
        # header.json is written last, so it is usually lost: samples still carry the essentials.
        for name, sample in pending:
            yield _sample_session(path, name, header, sample, report)

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
                yield _sample_session(path, f"samples[{index}]", header, value, report)
        if deferred:
            for key, index, value in iter_json_members(path, "samples"):
                if key == "samples" and index is not None:
                    found = True
                    yield _sample_session(path, f"samples[{index}]", header, value, report)
        if not found:
            report.warn(path, "the log holds no samples")


def _local_entries(handle: IO[bytes]) -> Iterator[tuple[str, bytes, str | None]]:
    """``(name, data, problem)`` for each local entry of a zip, read from the start."""
    while True:
        signature = handle.read(4)
        if signature != _ZIP_MAGIC:
            return  # central directory (or the end): no more entries
        fixed = handle.read(26)
        if len(fixed) < 26:
            yield "?", b"", "entry header cut short"
            return
        (_, flags, method, _, _, _, size, plain_size, name_len, extra_len) = struct.unpack(
            "<HHHHHIIIHH", fixed
        )
        raw_name = handle.read(name_len)
        name = raw_name.decode("utf-8", errors="replace")
        handle.read(extra_len)
        if flags & 0x08 or size == 0xFFFFFFFF:
            yield name, b"", "entry sizes not in its local header (streamed zip)"
            return
        if size > common.MAX_JSON_BYTES or plain_size > common.MAX_JSON_BYTES:
            yield name, b"", "entry too large"
            return
        body = handle.read(size)
        if len(body) < size:
            yield name, b"", "entry data cut short"
            return
        if method == 0:
            data = body
        elif method == 8:
            try:
                data = zlib.decompressobj(-15).decompress(body, plain_size + 1)
            except zlib.error as exc:
                yield name, b"", f"cannot inflate: {exc}"
                return
        else:
            yield name, b"", f"unsupported compression method {method}"
            return
        yield name, data, None


def _parse_json(path: Path, name: str, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise log_error(path, f"not UTF-8 text ({exc.reason})", where=name) from None
    except json.JSONDecodeError as exc:
        raise log_error(
            path, f"invalid JSON: {json_problem(exc, with_line=True)}", where=name
        ) from None
    except RecursionError:
        raise log_error(path, "JSON nested too deeply", where=name) from None


def _as_object(path: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise log_error(path, f"expected an object, got {json_type_name(value)}", where=where)
    return value


# ---------------------------------------------------------------------- attachments


def resolve_attachments(value: Any, attachments: dict[str, Any], missing: set[str]) -> Any:
    """``value`` with every ``attachment://<hash>`` replaced by its text (recursively).

    References whose hash is not in ``attachments`` are left as they are and added to
    ``missing``.
    """
    if isinstance(value, str):
        if "attachment://" not in value:
            return value

        def substitute(match: re.Match[str]) -> str:
            found = attachments.get(match.group(1))
            if isinstance(found, str):
                return found
            missing.add(match.group(1))
            return match.group(0)

        return _ATTACHMENT.sub(substitute, value)
    if isinstance(value, dict):
        return {key: resolve_attachments(item, attachments, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_attachments(item, attachments, missing) for item in value]
    return value


# ---------------------------------------------------------------------- samples


def _sample_session(
    path: Path, entry: str, header: dict[str, Any], sample: Any, report: ImportReport
) -> Session:
    try:
        session = _SampleReader(path, entry, header, report).read(sample)
    except LogFormatError:
        raise
    except RecursionError:
        raise log_error(path, "data nested too deeply", where=entry) from None
    except (ValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise log_error(path, f"unexpected structure: {exc}", where=entry) from None
    # Sample messages map one to one to the session's: name the orphans within their entry.
    report.warn_orphans(path, session, where=entry + ("." if entry.endswith("]") else ": "))
    return session


class _SampleReader:
    def __init__(
        self, path: Path, entry: str, header: dict[str, Any], report: ImportReport
    ) -> None:
        self.path = path
        self.entry = entry
        self.header = header
        self.report = report
        self.attachments: dict[str, Any] = {}
        self.missing: set[str] = set()

    def error(self, message: str, where: str) -> LogFormatError:
        return log_error(self.path, message, where=f"{self.entry}: {where}")

    def resolve(self, value: Any) -> Any:
        return resolve_attachments(value, self.attachments, self.missing)

    def read(self, sample: Any) -> Session:
        if not isinstance(sample, dict):
            raise log_error(
                self.path,
                f"expected a sample object, got {json_type_name(sample)}",
                where=self.entry,
            )
        attachments = sample.get("attachments")
        if isinstance(attachments, dict):
            self.attachments = attachments
        raw_messages = sample.get("messages")
        if raw_messages is None:
            raw_messages = []
        if not isinstance(raw_messages, list):
            raise self.error(f"expected a list, got {json_type_name(raw_messages)}", "messages")
        events = sample.get("events")
        events = events if isinstance(events, list) else []
        model_facts, offered, tool_facts = self._scan_events(events)

        messages: list[Message] = []
        for index, raw in enumerate(raw_messages):
            message = self._message(index, raw, model_facts, tool_facts)
            if message is not None:
                messages.append(message)
        if self.missing:
            self.report.warn(
                self.path,
                f"{len(self.missing)} attachment reference(s) without an attachment kept as is",
                where=self.entry,
            )

        eval_info = self.header.get("eval")
        eval_info = eval_info if isinstance(eval_info, dict) else {}
        sample_id = sample.get("id")
        epoch = sample.get("epoch", 1)
        eval_id = eval_info.get("eval_id") or eval_info.get("run_id") or Path(self.path).stem
        sid = f"{eval_id}_{sample_id}_epoch_{epoch}"

        tools = offered or self._plan_tools()
        env, env_meta = self._env(eval_info, sample)
        meta = self._meta(eval_info, sample, sample_id, epoch)
        meta.update(env_meta)
        task = first_user_text(messages)
        if not task:
            task = flatten_content(self.resolve(sample.get("input")))
        model = eval_info.get("model")
        packages = eval_info.get("packages")
        version = packages.get("inspect_ai") if isinstance(packages, dict) else None
        return Session(
            id=sid,
            source=SourceInfo(
                format=FORMAT,
                path=str(self.path),
                agent=self._agent(),
                model=model if isinstance(model, str) else None,
                version=version if isinstance(version, str) else None,
            ),
            task=task,
            env=env,
            tools=infer_tool_specs(messages, tools),
            messages=messages,
            meta=meta,
        )

    # -------------------------------------------------------------- events

    def _scan_events(
        self, events: list[Any]
    ) -> tuple[dict[str, dict[str, Any]], list[ToolSpec], dict[str, dict[str, Any]]]:
        """Facts per assistant message id, the tools offered, facts per tool call id."""
        model_facts: dict[str, dict[str, Any]] = {}
        tool_facts: dict[str, dict[str, Any]] = {}
        offered: list[ToolSpec] = []
        tool_runs: list[tuple[str, str, Any, Any, Any]] = []  # id, function, start, end, span
        tool_spans: list[tuple[str, Any, Any, Any]] = []  # span id, name, begin, parent
        execs: list[dict[str, Any]] = []
        for event in events:
            if not isinstance(event, dict):
                continue
            kind = event.get("event")
            if kind == "model":
                tools = event.get("tools")
                if isinstance(tools, list) and tools:
                    offered = tool_specs_from_openai(self.resolve(tools))
                output = event.get("output")
                if not isinstance(output, dict):
                    continue
                choices = output.get("choices")
                first = choices[0] if isinstance(choices, list) and choices else None
                reply = first.get("message") if isinstance(first, dict) else None
                reply_id = reply.get("id") if isinstance(reply, dict) else None
                if not isinstance(reply_id, str):
                    continue
                facts: dict[str, Any] = {}
                if isinstance(output.get("usage"), dict):
                    facts["usage"] = output["usage"]
                if isinstance(output.get("model"), str):
                    facts["model"] = output["model"]
                if isinstance(event.get("model"), str):
                    facts["requested_model"] = event["model"]
                if isinstance(output.get("time"), int | float):
                    facts["duration_s"] = float(output["time"])
                facts["timestamp"] = event.get("completed") or event.get("timestamp")
                model_facts[reply_id] = facts
            elif kind == "tool":
                call_id = event.get("id")
                if not isinstance(call_id, str):
                    continue
                facts = {"timestamp": event.get("completed") or event.get("timestamp")}
                if isinstance(event.get("working_time"), int | float):
                    facts["duration_s"] = float(event["working_time"])
                nested = event.get("events")
                if isinstance(nested, list):
                    for inner in nested:
                        _note_exec(facts, inner)
                tool_facts[call_id] = facts
                tool_runs.append(
                    (
                        call_id,
                        str(event.get("function")),
                        parse_timestamp(event.get("timestamp")),
                        parse_timestamp(event.get("completed")),
                        event.get("span_id"),
                    )
                )
            elif kind == "span_begin" and event.get("type") == "tool":
                tool_spans.append(
                    (
                        str(event.get("id")),
                        event.get("name"),
                        parse_timestamp(event.get("timestamp")),
                        event.get("parent_id"),
                    )
                )
            elif kind == "sandbox" and event.get("action") == "exec":
                execs.append(event)
        span_call = _link_tool_spans(tool_runs, tool_spans)
        for event in execs:
            call_id = span_call.get(str(event.get("span_id")))
            if call_id is not None:
                _note_exec(tool_facts[call_id], event)
        return model_facts, offered, tool_facts

    # -------------------------------------------------------------- messages

    def _message(
        self,
        index: int,
        raw: Any,
        model_facts: dict[str, dict[str, Any]],
        tool_facts: dict[str, dict[str, Any]],
    ) -> Message | None:
        where = f"messages[{index}]"
        if not isinstance(raw, dict):
            raise self.error(f"expected a message object, got {json_type_name(raw)}", where)
        role = raw.get("role")
        if role not in _ROLES:
            raise self.error(f"unknown role {role!r}", f"{where}.role")
        content_raw = self.resolve(raw.get("content"))
        content, reasoning = _content(content_raw)
        meta: dict[str, Any] = {}
        message_id = raw.get("id")
        if isinstance(message_id, str):
            meta["id"] = message_id
        source = raw.get("source")
        if isinstance(source, str):
            meta["source"] = source
        metadata = raw.get("metadata")
        if isinstance(metadata, dict) and metadata:
            meta["metadata"] = self.resolve(metadata)
        if role == "tool":
            return self._tool(where, raw, content, meta, tool_facts)
        timestamp = None
        calls: list[ToolCall] = []
        if role == "assistant":
            facts = model_facts.get(message_id) if isinstance(message_id, str) else None
            if facts:
                for key in ("usage", "model", "requested_model", "duration_s"):
                    if key in facts:
                        meta[key] = facts[key]
                timestamp = parse_timestamp(facts.get("timestamp"))
            if isinstance(raw.get("model"), str):
                meta["model"] = raw["model"]
            calls = self._calls(where, raw.get("tool_calls"), meta)
        return Message(
            role=role,
            content=content,
            reasoning=reasoning,
            tool_calls=calls,
            timestamp=timestamp,
            meta=meta,
        )

    def _calls(self, where: str, raw_calls: Any, meta: dict[str, Any]) -> list[ToolCall]:
        if raw_calls is None:
            return []
        if not isinstance(raw_calls, list):
            raise self.error(
                f"expected a list, got {json_type_name(raw_calls)}", f"{where}.tool_calls"
            )
        calls: list[ToolCall] = []
        for number, raw in enumerate(raw_calls):
            if not isinstance(raw, dict):
                raise self.error(
                    f"expected a tool call object, got {json_type_name(raw)}",
                    f"{where}.tool_calls[{number}]",
                )
            call_id = raw.get("id")
            if not isinstance(call_id, str) or not call_id:
                call_id = f"{where}.tool_calls[{number}]"
                self.report.warn(
                    self.path,
                    f"tool call without an id; using {call_id!r}",
                    where=f"{self.entry}: {where}.tool_calls[{number}].id",
                )
            call = make_tool_call(call_id, raw.get("function"), self.resolve(raw.get("arguments")))
            calls.append(call)
            parse_error = raw.get("parse_error")
            if parse_error:
                meta.setdefault("tool_call_errors", {})[call.id] = str(parse_error)
        return calls

    def _tool(
        self,
        where: str,
        raw: dict[str, Any],
        content: str,
        meta: dict[str, Any],
        tool_facts: dict[str, dict[str, Any]],
    ) -> Message:
        call_id = raw.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            self.report.warn(
                self.path,
                "tool result without tool_call_id",
                where=f"{self.entry}: {where}.tool_call_id",
            )
            call_id = None
        error = raw.get("error")
        is_error = False
        if isinstance(error, dict):
            is_error = True
            error_type = error.get("type")
            if isinstance(error_type, str):
                meta["error_type"] = error_type
            error_message = self.resolve(error.get("message"))
            if isinstance(error_message, str) and error_message:
                if content.strip():
                    meta["error_message"] = error_message
                else:
                    content = error_message
        elif error:
            is_error = True
            meta["error_message"] = str(error)
        timestamp = None
        facts = tool_facts.get(call_id) if call_id else None
        if facts:
            for key in ("duration_s", "exit_code", "sandbox_cmd"):
                if key in facts:
                    meta[key] = facts[key]
            timestamp = parse_timestamp(facts.get("timestamp"))
        function = raw.get("function")
        return tool_result(
            call_id,
            content,
            name=function if isinstance(function, str) else None,
            is_error=is_error,
            timestamp=timestamp,
            meta=meta,
        )

    # -------------------------------------------------------------- session facts

    def _plan_tools(self) -> list[ToolSpec]:
        """Tools named by the plan's ``use_tools`` step (names only: inferred)."""
        plan = self.header.get("plan")
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

    def _agent(self) -> str:
        plan = self.header.get("plan")
        steps = plan.get("steps") if isinstance(plan, dict) else None
        solvers = [
            step["solver"]
            for step in (steps if isinstance(steps, list) else [])
            if isinstance(step, dict) and isinstance(step.get("solver"), str)
        ]
        return "inspect_ai" + (f" ({' > '.join(solvers)})" if solvers else "")

    def _env(
        self, eval_info: dict[str, Any], sample: dict[str, Any]
    ) -> tuple[EnvSpec, dict[str, Any]]:
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

    def _meta(
        self, eval_info: dict[str, Any], sample: dict[str, Any], sample_id: Any, epoch: Any
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"sample_id": sample_id, "epoch": epoch}
        for key in ("eval_id", "run_id", "eval_set_id", "task", "task_version", "created"):
            if eval_info.get(key) is not None:
                meta[key] = eval_info[key]
        for key in ("status",):
            if self.header.get(key) is not None:
                meta[key] = self.header[key]
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
                meta[key] = self.resolve(value)
        usage = sample.get("model_usage")
        if isinstance(usage, dict) and usage:
            meta["usage"] = usage
        output = sample.get("output")
        if isinstance(output, dict) and isinstance(output.get("model"), str):
            meta["output_model"] = output["model"]
        return meta


def _link_tool_spans(
    runs: list[tuple[str, str, Any, Any, Any]], spans: list[tuple[str, Any, Any, Any]]
) -> dict[str, str]:
    """Tool span id -> call id: the span of a call begins while the call runs.

    The ``tool`` event and the ``tool`` span that holds its sandbox events are not linked by
    id in the log; the span has the call's function as its name, the call's span as its
    parent, and begins between the call's start and completion. The call that started last
    before the span wins; each call gets at most one span.
    """
    by_function: dict[str, list[tuple[Any, str, Any, Any]]] = {}
    for call_id, function, start, end, call_span in runs:
        if start is not None:
            by_function.setdefault(function, []).append((start, call_id, end, call_span))
    for items in by_function.values():
        items.sort(key=lambda item: item[0])
    starts = {name: [item[0] for item in items] for name, items in by_function.items()}
    linked: dict[str, str] = {}
    used: set[str] = set()
    for span_id, name, begin, parent in spans:
        if begin is None or not isinstance(name, str) or name not in by_function:
            continue
        items = by_function[name]
        position = bisect.bisect_right(starts[name], begin)
        for _start, call_id, end, call_span in reversed(items[:position]):
            if call_id in used:
                continue
            if parent is not None and call_span is not None and parent != call_span:
                continue
            if end is not None and begin > end:
                break  # the latest unused call that started before the span already ended
            linked[span_id] = call_id
            used.add(call_id)
            break
    return linked


def _note_exec(facts: dict[str, Any], event: Any) -> None:
    """Record a sandbox ``exec`` event's exit code (the last one wins) on a call's facts."""
    if not isinstance(event, dict) or event.get("event") != "sandbox":
        return
    if event.get("action") != "exec":
        return
    result = event.get("result")
    if isinstance(result, int) and not isinstance(result, bool):
        facts["exit_code"] = result
        cmd = event.get("cmd")
        if isinstance(cmd, str):
            facts["sandbox_cmd"] = cmd


def _content(content: Any) -> tuple[str, str | None]:
    """Text and reasoning of inspect message content (a string or a list of parts)."""
    if isinstance(content, str) or content is None:
        return content or "", None
    parts = content if isinstance(content, list) else [content]
    texts: list[str] = []
    reasoning: list[str] = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") == "reasoning":
            text = part.get("summary") if part.get("redacted") else part.get("reasoning")
            if isinstance(text, str) and text:
                reasoning.append(text)
            continue
        if isinstance(part, dict) and part.get("type") in ("image", "video", "audio"):
            texts.append(IMAGE_PLACEHOLDER if part.get("type") == "image" else f"[{part['type']}]")
            continue
        text = flatten_content(part)
        if text:
            texts.append(text)
    return "\n".join(texts), ("\n".join(reasoning) if reasoning else None)
