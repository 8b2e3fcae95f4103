"""OpenHands event streams: a JSON list of events, an evaluation ``output.jsonl``, or the store
OpenHands keeps of a conversation (a directory, see :mod:`~understudy.replay.importers
.openhands_store`: its events are read in order as the list, ``metadata.json`` gives the model
(``llm_model``), the session id (``conversation_id``), the repository (``selected_repository``
and ``selected_branch``, on GitHub) and ``Session.meta["conversation"]``).

**Event list** (``save_trajectory_path``, the runtime test trajectories): a JSON list of events
``{id, timestamp, source, message, action|observation, args|extras, cause, tool_call_metadata:
{tool_call_id, function_name, model_response, total_calls_in_response}}``; one session per file.

**Evaluation output** (``output.jsonl``): one JSON object per line, one session per line, in the
shape of OpenHands' ``EvalOutput`` (evaluation/utils/shared.py):
``{instance_id, test_result{git_patch, ...}, instruction, metadata{agent_class, llm_config{model,
...}, max_iterations, git_commit, dataset, ...}, history, metrics, error, instance}``, where
``history`` is the event list above (or, in old files, a list of ``[action, observation]``
pairs) and ``instance`` is the dataset row (SWE-bench: ``repo`` as ``owner/name``,
``base_commit``). Records of 2024 name their instance ``id`` or ``question_id`` and their model
``metadata.model_name``. A file whose first line is a lone ``{`` is read as one pretty-printed
record.

**Resolver output** (``output.jsonl`` of ``openhands.resolver``): one issue per line,
``{issue{owner, repo, number, title, body}, issue_type, instruction, base_commit, git_patch,
history, metrics, success, comment_success, result_explanation, error}``; the session is named
``owner__repo-number``, its repository is the issue's on GitHub at ``base_commit``, and the
patch is its ``submission``. Its history holds OpenHands' flat events of 2024, read as
:mod:`~understudy.replay.importers.openhands_flat` says.

Mapping onto a :class:`~understudy.trajectory.Session`:

* ``system`` action -> system message; its ``args.tools`` are the tool specs, its
  ``openhands_version`` the source version.
* ``message`` action -> user or assistant text (by ``source``); image URLs become ``[image]``.
* Every other agent action is a tool call on an assistant message. Name: ``function_name`` from
  ``tool_call_metadata``, else by action: ``run`` -> ``execute_bash``, ``run_ipython`` ->
  ``execute_ipython_cell``, ``read``/``edit`` -> ``str_replace_editor`` (an edit without an
  editor ``command``, i.e. an LLM-based edit, -> ``edit_file``), ``browse`` -> ``web_read``,
  ``browse_interactive`` -> ``browser``, ``think`` -> ``think``, ``finish`` -> ``finish``, ``mcp``
  -> its tool name. Id: ``tool_call_id``, else ``oh-<event id>``. Arguments: the call exactly as
  the model produced it in ``model_response`` when it is there, else rebuilt from ``args``. The
  assistant text is the model response's content (else the action's ``thought``); actions that
  came from one model response (``total_calls_in_response`` > 1) share one assistant message, and
  the response's usage is counted once (``meta.usage``; ``Session.meta["usage"]`` sums them).
  A ``think`` action without tool-call metadata is assistant reasoning, not a call.
* Observations become ``role="tool"`` results of the call they answer, found by
  ``tool_call_metadata.tool_call_id``, else by ``cause`` (the action's event id). Ids need not be
  consecutive. ``run`` observations give ``meta.exit_code`` (``extras.metadata.exit_code``) and
  ``meta.working_dir``; ``error`` and ``user_rejected`` observations are ``is_error``. For editor
  observations the content is what the model was shown (``formatted_output_and_error``), the
  logged diff is kept in ``meta.event_content``; other contents are kept verbatim.
  ``extras`` go to ``meta.extras``.
* Observations of user-initiated actions (a command typed by the user) and error observations
  with no action are user messages (OpenHands shows them to the model that way); an observation
  whose action is not in the log is an orphan tool result and reported.
* State events (``agent_state_changed``, ``null``, ``recall``, ``change_agent_state``,
  ``condensation``...) are no chat messages: agent states and recalled knowledge are kept in
  ``Session.meta`` (``agent_states``, ``recall``), the others counted in
  ``Session.meta["skipped_events"]``; a condensation is also reported, since the model saw a
  shortened history from then on.
* Model: ``metadata.llm_config.model`` (evaluation output), else the first model response's
  ``model``. Env: the first ``working_dir`` an observation reports becomes the workdir;
  ``instance.repo``/``base_commit`` give ``RepoSpec`` (GitHub URL). ``Session.meta``: ``submission``
  (``test_result.git_patch``), ``test_result``, ``metrics``, ``error``, ``metadata``, ``instance``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    IMAGE_PLACEHOLDER,
    EntryWarnings,
    ResponseFacts,
    as_int,
    as_list,
    as_object,
    as_text,
    check_not_binary,
    flatten_content,
    function_tool_call,
    head_text,
    infer_tool_specs,
    iter_jsonl,
    json_type_name,
    load_json,
    log_error,
    parse_timestamp,
    reasoning_content,
    response_message,
    session_id,
    tool_result,
    tool_specs_from_openai,
)
from understudy.replay.importers.openhands_flat import is_flat, nested_events
from understudy.replay.importers.openhands_store import (
    EVENTS,
    event_store_of,
    store_events,
    store_metadata,
)
from understudy.trajectory import EnvSpec, Message, RepoSpec, Session, SourceInfo, ToolCall

__all__ = ["OpenHandsImporter"]


def _key(value: Any) -> int | str | None:
    """An event id or cause usable as a dict key (ids are ints; anything odd is no id)."""
    if isinstance(value, str):
        return value
    return as_int(value)


_ACTION_TOOLS = {
    "run": "execute_bash",
    "run_ipython": "execute_ipython_cell",
    "read": "str_replace_editor",
    "edit": "str_replace_editor",
    "browse": "web_read",
    "browse_interactive": "browser",
    "think": "think",
    "finish": "finish",
    "delegate": "delegate",
    "task_tracking": "task_tracker",
}
"""Tool names of OpenHands' function-calling agent, by action type."""

_STATE_ACTIONS = frozenset(
    {"change_agent_state", "null", "recall", "condensation", "condensation_request", "pause"}
)
_STATE_OBSERVATIONS = frozenset({"agent_state_changed", "null", "recall", "condense"})
_ERROR_OBSERVATIONS = frozenset({"error", "user_rejected"})
_ARG_NOISE = frozenset(
    {
        "thought",
        "impl_source",
        "security_risk",
        "confirmation_state",
        "hidden",
        "blocking",
        "translated_ipython_code",
        "wait_for_response",
        "image_urls",
    }
)
_EVENT_SIGNATURE = re.compile(r'"(action|observation)"\s*:\s*"[a-z_]+"')
_SOURCE_SIGNATURE = re.compile(r'"source"\s*:\s*"(agent|user|environment)"')


def _has_events(head: str) -> bool:
    """Whether the head shows event records (an action or observation, and its source)."""
    # The substring tests first: a regex search of the whole head is slow.
    return (
        ('"action"' in head or '"observation"' in head)
        and _EVENT_SIGNATURE.search(head) is not None
        and '"source"' in head
        and _SOURCE_SIGNATURE.search(head) is not None
    )


class OpenHandsImporter:
    """OpenHands event lists (``*.json``) and evaluation ``output.jsonl`` files."""

    name = "openhands"

    def detect(self, path: Path) -> bool:
        if path.is_dir():
            return event_store_of(path) is not None
        head = head_text(path)
        stripped = head.lstrip()
        if stripped.startswith("["):
            return re.match(r"\[\s*(\{|\])", stripped) is not None and _has_events(head)
        if stripped.startswith("{"):
            if '"trajectory_format"' in head or '"mini_version"' in head:
                return False
            if '"issue"' in head and '"issue_type"' in head:  # the resolver's (flat events)
                return '"instruction"' in head
            # An evaluation record names its instance; older ones as "id" or "question_id",
            # beside their history.
            named = '"instance_id"' in head or ('"history"' in head and '"metadata"' in head)
            return named and ('"agent_class"' in head or _has_events(head))
        return False

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        store = event_store_of(path)
        if store is not None:
            yield _store_session(store, report, strict)
            return
        check_not_binary(path)
        head = head_text(path, 4096).lstrip()
        if head.startswith("[") or head.split("\n", 1)[0].strip() == "{":
            data = load_json(path)
            if isinstance(data, list):
                yield _Reader(path, report, strict, data, "").session(session_id(path))
            elif isinstance(data, dict):
                yield from self._record(path, report, strict, data, None)
            else:
                raise log_error(
                    path,
                    "expected a list of events or an evaluation record, "
                    f"got {json_type_name(data)}",
                    where="(top level)",
                )
            return
        for line, record in iter_jsonl(path, report, strict):
            yield from self._record(path, report, strict, record, line)

    def _record(
        self, path: Path, report: ImportReport, strict: bool, record: Any, line: int | None
    ) -> Iterator[Session]:
        if not isinstance(record, dict):
            message = f"expected an evaluation record (an object), got {json_type_name(record)}"
            raise log_error(path, message, line=line, where="(top level)")
        history = record.get("history")
        if history is None:
            history = []
            report.warn(path, "record without a history; no messages", line=line, where="history")
        if not isinstance(history, list):
            raise log_error(
                path, f"expected a list, got {json_type_name(history)}", line=line, where="history"
            )
        events: list[Any] = []
        for item in history:  # old files: [action, observation] pairs
            if isinstance(item, list):
                events.extend(part for part in item if part)
            else:
                events.append(item)
        if is_flat(events):
            events = nested_events(events)
        reader = _Reader(path, report, strict, events, "history", line=line, record=record)
        own_id = next(
            (record[key] for key in ("instance_id", "id", "question_id") if key in record),
            _issue_id(as_object(record.get("issue"))),
        )
        yield reader.session(session_id(path, line, own_id=own_id))


def _issue_id(issue: dict[str, Any]) -> str | None:
    """``owner__repo-number`` of a resolver record's issue (None when it names none)."""
    owner, repo, number = issue.get("owner"), issue.get("repo"), as_int(issue.get("number"))
    if isinstance(owner, str) and isinstance(repo, str) and number is not None:
        return f"{owner}__{repo}-{number}"
    return None


def _store_session(store: Path, report: ImportReport, strict: bool) -> Session:
    """The session of an OpenHands conversation store (a directory)."""
    events, missing = store_events(store)
    metadata = store_metadata(store)
    if missing:
        shown = ", ".join(f"{number}.json" for number in missing[:5])
        report.warn(store / EVENTS, f"{len(missing)} event file(s) missing, e.g. {shown}")
    record = {"conversation": metadata} if metadata else {}
    reader = _Reader(store, report, strict, events, EVENTS, record=record)
    own_id = metadata.get("conversation_id") or store.name
    return reader.session(session_id(store, own_id=own_id))


class _Reader:
    def __init__(
        self,
        path: Path,
        report: ImportReport,
        strict: bool,
        events: list[Any],
        prefix: str,
        line: int | None = None,
        record: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.report = report
        self.warn = EntryWarnings(report, path, strict, line)
        self.events = events
        self.prefix = prefix
        self.line = line
        self.record = record or {}
        self.messages: list[Message] = []
        self.calls: dict[str, ToolCall] = {}
        self.call_of_event: dict[int | str, str] = {}
        self.user_events: set[int | str] = set()
        self.open_response: tuple[int, str] | None = None
        self.responses = ResponseFacts()
        self.version: str | None = None
        self.tools: list[Any] = []
        self.workdir: str | None = None
        self.agent_states: list[dict[str, Any]] = []
        self.recall: list[dict[str, Any]] = []
        self.skipped: dict[str, int] = {}
        self.llm_metrics: Any = None
        self.agent_class: str | None = None

    def where(self, index: int) -> str:
        return f"{self.prefix}[{index}]"

    # -- the session

    def session(self, own_id: str) -> Session:
        for index, event in enumerate(self.events):
            if not isinstance(event, dict):
                self.warn(
                    self.where(index),
                    f"expected an event object, got {json_type_name(event)}; skipped",
                    True,
                )
                continue
            if "action" in event:
                self._action(index, event)
            elif "observation" in event:
                self._observation(index, event)
            else:
                self.warn(self.where(index), "event with neither action nor observation; skipped")
        metadata = as_object(self.record.get("metadata"))
        llm_config = as_object(metadata.get("llm_config"))
        conversation = as_object(self.record.get("conversation"))
        model = (
            as_text(llm_config.get("model"))
            or as_text(metadata.get("model_name"))  # older evaluation records
            or as_text(conversation.get("llm_model"))
            or self.responses.first_model
        )
        if model is None and self.messages:
            self.warn("tool_call_metadata.model_response.model", "no model name in the log")
        tools = infer_tool_specs(self.messages, known=tool_specs_from_openai(self.tools))
        instruction = as_text(self.record.get("instruction"))
        return Session(
            id=own_id,
            source=SourceInfo(
                format="openhands",
                path=str(self.path),
                agent="openhands",
                model=model,
                version=self.version,
            ),
            task=instruction or self._task(),
            env=self._env(),
            tools=tools,
            messages=self.messages,
            meta=self._meta(metadata),
        )

    def _append(self, message: Message) -> None:
        self.messages.append(message)
        if message.role != "tool":
            self.open_response = None

    # -- actions

    def _action(self, index: int, event: dict[str, Any]) -> None:
        kind = event.get("action")
        kind = kind if isinstance(kind, str) else str(kind)
        args = as_object(event.get("args"))
        source = as_text(event.get("source"))
        timestamp = parse_timestamp(event.get("timestamp"))
        event_id = event.get("id")
        meta: dict[str, Any] = {"event_id": event_id} if event_id is not None else {}
        if kind == "system":
            content = as_text(args.get("content")) or as_text(event.get("message")) or ""
            if isinstance(args.get("tools"), list):
                self.tools = args["tools"]
            self.version = as_text(args.get("openhands_version")) or self.version
            self.agent_class = as_text(args.get("agent_class")) or self.agent_class
            self._append(Message(role="system", content=content, timestamp=timestamp, meta=meta))
            return
        if kind in _STATE_ACTIONS:
            self._skip(kind, index)
            return
        if kind == "message":
            text = as_text(args.get("content"))
            content = text if text is not None else as_text(event.get("message")) or ""
            images = [url for url in as_list(args.get("image_urls")) if url]
            if images:
                content = "\n".join([content, *([IMAGE_PLACEHOLDER] * len(images))]).strip("\n")
            if source == "agent":
                self._assistant_text(event, content, timestamp, meta)
            else:
                if source and source != "user":
                    meta["source"] = source
                self._append(Message(role="user", content=content, timestamp=timestamp, meta=meta))
            return
        if source != "agent":
            # An action the user (or the environment) took, such as a command typed into the
            # terminal: not the model's call, so not a tool call.
            if (key := _key(event_id)) is not None:
                self.user_events.add(key)
            meta.update({"action": kind, "source": source, "args": args})
            content = as_text(event.get("message")) or _describe(kind, args)
            self._append(Message(role="user", content=content, timestamp=timestamp, meta=meta))
            return
        metadata = as_object(event.get("tool_call_metadata"))
        if kind == "think" and not metadata:
            thought = as_text(args.get("thought")) or ""
            message = Message(
                role="assistant", content="", reasoning=thought, timestamp=timestamp, meta=meta
            )
            self._append(message)
            return
        self._tool_call(index, event, kind, args, metadata, timestamp, meta)

    def _assistant_text(
        self,
        event: dict[str, Any],
        content: str,
        timestamp: datetime | None,
        meta: dict[str, Any],
    ) -> None:
        response = as_object(as_object(event.get("tool_call_metadata")).get("model_response"))
        self.responses.note(response, meta)
        self._append(
            Message(
                role="assistant",
                content=content,
                reasoning=reasoning_content(response_message(response)),
                timestamp=timestamp,
                meta=meta,
            )
        )

    def _tool_call(
        self,
        index: int,
        event: dict[str, Any],
        kind: str,
        args: dict[str, Any],
        metadata: dict[str, Any],
        timestamp: datetime | None,
        meta: dict[str, Any],
    ) -> None:
        where = self.where(index)
        event_id = event.get("id")
        call_id = as_text(metadata.get("tool_call_id"))
        if not call_id:
            call_id = f"oh-{event_id}" if event_id is not None else f"oh-event-{index}"
        response = as_object(metadata.get("model_response"))
        response_id = as_text(response.get("id"))
        message_body = response_message(response)
        call = self._call_from_response(message_body, call_id)
        if call is None:
            name = as_text(metadata.get("function_name")) or _tool_name(kind, args)
            call = ToolCall(id=call_id, name=name, arguments=_arguments(kind, args))
        elif metadata.get("function_name") and call.name != metadata.get("function_name"):
            self.warn(
                f"{where}.tool_call_metadata.function_name",
                "function_name differs from the call in model_response; the response wins",
            )
        if call.id in self.calls:
            self.warn(f"{where}.tool_call_metadata.tool_call_id", f"call id {call.id!r} repeats")
        self.calls[call.id] = call
        if (key := _key(event_id)) is not None:
            self.call_of_event[key] = call.id
        if response_id and self.open_response is not None and self.open_response[1] == response_id:
            message = self.messages[self.open_response[0]]
            message.tool_calls.append(call)
            message.meta.setdefault("event_ids", []).append(event_id)
            return
        if message_body:
            content = flatten_content(message_body.get("content"))
        else:
            content = as_text(args.get("thought")) or ""
            if kind == "finish" and not content:
                content = as_text(args.get("final_thought")) or ""
        meta.pop("event_id", None)
        meta["event_ids"] = [event_id]
        meta["action"] = kind
        shown = as_text(event.get("message"))
        if shown and shown != content:
            meta["event_message"] = shown
        self.responses.note(response, meta)
        self._append(
            Message(
                role="assistant",
                content=content,
                reasoning=reasoning_content(message_body),
                tool_calls=[call],
                timestamp=timestamp,
                meta=meta,
            )
        )
        if response_id:
            self.open_response = (len(self.messages) - 1, response_id)

    def _call_from_response(self, message: dict[str, Any], call_id: str) -> ToolCall | None:
        for raw in as_list(message.get("tool_calls")):
            raw = as_object(raw)
            if raw.get("id") == call_id:
                return function_tool_call(call_id, as_object(raw.get("function")))
        return None

    def _skip(self, kind: str, index: int) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
        if kind.startswith("condens"):
            self.warn(
                self.where(index),
                "history condensation: the model saw a shortened history from here on",
            )

    # -- observations

    def _observation(self, index: int, event: dict[str, Any]) -> None:
        kind = event.get("observation")
        kind = kind if isinstance(kind, str) else str(kind)
        extras = as_object(event.get("extras"))
        if isinstance(event.get("llm_metrics"), dict):
            self.llm_metrics = event["llm_metrics"]
        if self._state_observation(index, event, kind, extras):
            return
        content, meta = self._observation_content(event, kind, extras)
        self._observation_message(index, event, kind, content, meta)

    def _state_observation(
        self, index: int, event: dict[str, Any], kind: str, extras: dict[str, Any]
    ) -> bool:
        """Keep an observation of the agent's state, which is no chat message; False for an
        observation of anything else."""
        if kind == "agent_state_changed":
            self.agent_states.append(
                {
                    "event_id": event.get("id"),
                    "state": extras.get("agent_state"),
                    "timestamp": event.get("timestamp"),
                }
            )
            return True
        if kind == "recall":
            self.recall.append(
                {"event_id": event.get("id"), "cause": _key(event.get("cause")), **extras}
            )
            return True
        if kind in _STATE_OBSERVATIONS:
            self._skip(kind, index)
            return True
        return False

    def _observation_content(
        self, event: dict[str, Any], kind: str, extras: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """What an observation showed the model, and the facts it records (its ``meta``)."""
        raw_content = event.get("content")
        if raw_content is None:
            content = as_text(event.get("message")) or ""
        else:
            content = flatten_content(raw_content)
        meta: dict[str, Any] = {"observation": kind}
        event_id, cause = event.get("id"), _key(event.get("cause"))
        if event_id is not None:
            meta["event_id"] = event_id
        if cause is not None:
            meta["cause"] = cause
        formatted = as_text(extras.get("formatted_output_and_error"))
        if kind == "edit" and formatted and extras.get("impl_source") == "oh_aci":
            meta["event_content"] = content
            content = formatted
        run_metadata = as_object(extras.get("metadata"))
        exit_code = as_int(run_metadata.get("exit_code"))
        if exit_code is None:
            exit_code = as_int(extras.get("exit_code"))
        if exit_code is not None:
            meta["exit_code"] = exit_code
        working_dir = as_text(run_metadata.get("working_dir"))
        if working_dir:
            meta["working_dir"] = working_dir
            self.workdir = self.workdir or working_dir
        if extras:
            meta["extras"] = extras
        return content, meta

    def _observation_message(
        self, index: int, event: dict[str, Any], kind: str, content: str, meta: dict[str, Any]
    ) -> None:
        """The observation as the result of the call it answers; else as a user message when
        the user's own action caused it (or it is an error of no call); else as an orphan."""
        timestamp = parse_timestamp(event.get("timestamp"))
        cause = _key(event.get("cause"))
        is_error = kind in _ERROR_OBSERVATIONS
        tool_call_id = as_text(as_object(event.get("tool_call_metadata")).get("tool_call_id"))
        call_id = tool_call_id if tool_call_id in self.calls else None
        if call_id is None and cause is not None:
            call_id = self.call_of_event.get(cause)
        if call_id is not None:
            name = self.calls[call_id].name
            self.messages.append(
                tool_result(
                    call_id, content, name=name, is_error=is_error, timestamp=timestamp, meta=meta
                )
            )
            return
        if (cause is not None and cause in self.user_events) or (
            kind == "error" and tool_call_id is None
        ):
            if is_error:
                meta["error"] = True
            self._append(Message(role="user", content=content, timestamp=timestamp, meta=meta))
            return
        orphan_id = tool_call_id or (f"oh-{cause}" if cause is not None else None)
        self.report.warn_orphan(
            self.path,
            orphan_id,
            line=self.line,
            where=f"{self.where(index)}.cause",
            message=f"observation {kind!r} answers no action in the log (cause {cause!r}, "
            f"tool_call_id {tool_call_id!r}); kept as an orphan result",
        )
        self.messages.append(
            tool_result(orphan_id, content, is_error=is_error, timestamp=timestamp, meta=meta)
        )

    # -- session facts

    def _task(self) -> str:
        for message in self.messages:
            if message.role == "user" and message.content and "action" not in message.meta:
                return message.content
        return ""

    def _env(self) -> EnvSpec:
        spec = EnvSpec()
        if self.workdir and self.workdir.startswith("/"):
            spec.workdir = self.workdir
        instance = as_object(self.record.get("instance"))
        repo = as_text(instance.get("repo"))
        commit = as_text(instance.get("base_commit"))
        if repo and re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            spec.repo = RepoSpec(url=f"https://github.com/{repo}", commit=commit)
        elif repo:
            spec.repo = RepoSpec(url=repo, commit=commit)
        issue = as_object(self.record.get("issue"))
        owner, name = as_text(issue.get("owner")), as_text(issue.get("repo"))
        if spec.repo is None and owner and name:  # a resolver record's repository
            base = as_text(self.record.get("base_commit"))
            spec.repo = RepoSpec(url=f"https://github.com/{owner}/{name}", commit=base or None)
        image = as_text(instance.get("image")) or as_text(instance.get("docker_image"))
        if image:
            spec.image = image
        conversation = as_object(self.record.get("conversation"))
        selected = as_text(conversation.get("selected_repository"))
        on_github = conversation.get("git_provider") in (None, "github")
        if (
            spec.repo is None
            and selected
            and on_github
            and re.fullmatch(r"[\w.-]+/[\w.-]+", selected)
        ):
            branch = as_text(conversation.get("selected_branch"))
            spec.repo = RepoSpec(url=f"https://github.com/{selected}", branch=branch)
        return spec

    def _meta(self, metadata: dict[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        test_result = self.record.get("test_result")
        patch = as_text(as_object(test_result).get("git_patch"))
        if patch is None:
            patch = as_text(self.record.get("git_patch"))  # the resolver's
        if patch is not None:
            meta["submission"] = patch
        if test_result:
            meta["test_result"] = test_result
        for key in (
            *("instance_id", "metrics", "error", "instance", "conversation"),
            *("issue", "issue_type", "success", "comment_success", "result_explanation"),
        ):
            if self.record.get(key) is not None:
                meta[key] = self.record[key]
        if metadata:
            meta["metadata"] = metadata
        agent_class = self.agent_class or as_text(metadata.get("agent_class"))
        if agent_class:
            meta["agent_class"] = agent_class
        if self.responses.usage.totals:
            meta["usage"] = self.responses.usage.totals
        if self.llm_metrics is not None:
            meta["llm_metrics"] = self.llm_metrics
        if self.agent_states:
            meta["agent_states"] = self.agent_states
        if self.recall:
            meta["recall"] = self.recall
        if self.skipped:
            meta["skipped_events"] = self.skipped
        return meta


def _tool_name(kind: str, args: dict[str, Any]) -> str:
    if kind == "mcp" and as_text(args.get("name")):
        return str(args["name"])
    if kind == "edit" and not as_text(args.get("command")):
        return "edit_file"
    return _ACTION_TOOLS.get(kind, kind)


def _arguments(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Arguments of an action that has no recorded model call, in the tool's own shape."""

    def present(**values: Any) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value not in (None, "")}

    if kind == "run":
        extra = {"is_input": "true"} if args.get("is_input") else {}
        return {**present(command=args.get("command")), **extra}
    if kind == "run_ipython":
        return present(code=args.get("code"))
    if kind == "read":
        return present(command="view", path=args.get("path"), view_range=args.get("view_range"))
    if kind == "edit":
        if as_text(args.get("command")):
            return present(
                command=args.get("command"),
                path=args.get("path"),
                file_text=args.get("file_text"),
                old_str=args.get("old_str"),
                new_str=args.get("new_str"),
                insert_line=args.get("insert_line"),
            )
        return present(
            path=args.get("path"),
            content=args.get("content"),
            start=args.get("start"),
            end=args.get("end"),
        )
    if kind == "browse":
        return present(url=args.get("url"))
    if kind == "browse_interactive":
        return present(code=args.get("browser_actions"))
    if kind == "think":
        return present(thought=args.get("thought"))
    if kind == "finish":
        return present(message=args.get("final_thought") or args.get("thought"))
    if kind == "mcp":
        return as_object(args.get("arguments"))
    return {key: value for key, value in args.items() if key not in _ARG_NOISE}


def _describe(kind: str, args: dict[str, Any]) -> str:
    for key in ("command", "code", "path", "url", "content"):
        value = as_text(args.get(key))
        if value:
            return f"[{kind}] {value}"
    return f"[{kind}]"
