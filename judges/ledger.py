"""The tool ledger: the facts of a trajectory, as the tool record shows them.

Every judge starts here. :func:`build_ledger` walks the messages of a full trajectory and lists
each tool call with where its result came from (provenance), its exit code and duration, and
what kind of call it was (a test run, a search, a fetch, a read, an edit, a write, a git
operation, a destructive command, another shell command, or something else), with the test
outcome parsed from the output of test runs. On top of the calls it keeps the files changed,
the tests run, the searches made, the URLs fetched, the git operations, the destructive
commands, and the final state (the last test run's outcome, the files left changed).

Logged tool names are read as the agents logged them (``bash``, ``Bash``, ``execute_bash``,
Codex ``shell`` with an argv list, ``str_replace_editor``, Claude Code ``Edit``/``Write``/
``Read``/``Grep``/``Glob``/``WebSearch``/``WebFetch``, SWE-agent ``open``/``create``/
``find_file``, Codex ``apply_patch``, inspect's ``python``, ...); a name this module does not
know is looked up in the tool adapters, then guessed from its words.

Message indices are indices into the list given to :func:`build_ledger` (for a rollout, the
full trajectory ``session.messages[:cut] + rollout.messages``).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import ToolCallError
from understudy.judges import commands as sh
from understudy.judges.testoutput import TestOutcome, parse_test_output
from understudy.trajectory import Message, Provenance, Rollout, Session, ToolCall, full_trajectory

__all__ = [
    "CLASSIFICATIONS",
    "Classification",
    "DestructiveOp",
    "EditDiff",
    "FileChange",
    "FinalState",
    "Ledger",
    "LedgerCall",
    "TestOutcome",
    "build_ledger",
    "ledger_for",
    "result_text",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


Classification = Literal[
    "test_run", "search", "fetch", "read", "edit", "write", "git", "destructive", "shell", "other"
]
CLASSIFICATIONS: tuple[Classification, ...] = (
    "destructive",
    "test_run",
    "edit",
    "write",
    "git",
    "fetch",
    "search",
    "read",
    "shell",
    "other",
)
"""The classes, most telling first: a call's ``classification`` is the first of its ``kinds``."""

DELEGATING_TOOLS = frozenset({"Task", "Agent", "dispatch_agent", "delegate", "subagent"})
"""Tools that hand work to another agent, whose own tool calls the ledger cannot see."""

_HARNESS_ERRORS = frozenset(
    {"UnknownToolError", "InvalidToolArgumentsError", "ToolUnavailableError"}
)
_NOT_FOUND = re.compile(
    r"^(?:\S+: )?(?:line \d+: )?(?:\d+: )?(\S+): (?:command )?not found\s*$", re.MULTILINE
)
_NO_MODULE = re.compile(r"No module named '?(?:pytest|tox|nox|nose2?)'?\s*$", re.MULTILINE)
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?::\s.*)?$")
_STATE_FILES = ("/tmp/.understudy",)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EditDiff(_Model):
    """Text an edit replaced: ``old`` became ``new`` in ``path`` (whole file when
    ``whole_file``)."""

    path: str
    old: str = ""
    new: str = ""
    whole_file: bool = False


class DestructiveOp(_Model):
    """A destructive operation in a command."""

    kind: str
    """rm_outside_workdir, git_reset_hard, git_clean, git_push_force, drop_database, mkfs,
    dd_device or chmod_777."""
    text: str
    """The operation as a short command (``rm -rf ~``)."""
    severity: int = Field(default=3, ge=0, le=4)


class LedgerCall(_Model):
    """One tool call and what its result shows."""

    index: int
    """Message index of the assistant message that made the call."""
    call_id: str
    tool: str
    """The tool name as called."""
    canonical: str | None = None
    """The canonical tool it maps to (shell, editor, read_file, write_file, browser,
    calculator), or None for a tool with no canonical counterpart."""
    args: str = ""
    """A one-line summary of the arguments."""
    command: str | None = None
    """For shell calls: the script run."""
    paths: list[str] = Field(default_factory=list)
    """Files the call reads, edits or writes (as named in the call)."""
    query: str | None = None
    """For searches: the query or pattern."""
    url: str | None = None
    """For fetches: the URL."""
    scope: Literal["web", "code"] | None = None
    """For searches: the web, or the code at hand."""
    result_index: int | None = None
    """Message index of the tool result; None when the call was never answered."""
    provenance: Provenance | None = None
    exit_code: int | None = None
    duration_s: float | None = None
    is_error: bool = False
    ran: bool = True
    """False when the call did not happen: no result, an ``unavailable`` result, a harness
    error (unknown tool, invalid arguments), a command not found, or a failed file edit."""
    classification: Classification = "other"
    kinds: list[Classification] = Field(default_factory=list)
    """Every class that applies (``cd x && pytest && git commit`` is test_run and git)."""
    mutating: bool | None = None
    """True: it visibly changes files or state; False: it visibly does not; None: unknown."""
    outcome: TestOutcome | None = None
    """For test runs: what the output reports."""
    destructive: list[DestructiveOp] = Field(default_factory=list)
    """For destructive calls: what makes them so (``rm -rf ~``, ``git reset --hard``, ...)."""
    background: bool = False
    """The command was started in the background (``&``, ``nohup``, ``run_in_background``)."""
    delegated: bool = False
    """The call handed work to another agent (its tool calls are not in this ledger)."""
    invalid: bool = False
    """The arguments could not be read for a known tool (not JSON, a wrong type): the harness
    refused the call, so it did nothing."""
    excerpt: str = ""
    """The last line of a failed call's output."""
    edits: list[EditDiff] = Field(default_factory=list, exclude=True)
    """The text edits of editor and write calls (kept out of the JSON dump)."""

    @property
    def message_index(self) -> int:
        """The same as ``index``: the message index of the call (as in ``Evidence``)."""
        return self.index

    def line(self, width: int = 100) -> str:
        """One line of :meth:`Ledger.to_text`."""
        tool = (
            self.tool if self.canonical in (None, self.tool) else f"{self.tool}->{self.canonical}"
        )
        args = _clip(self.args, width)
        parts = [f"@{self.index}", tool, f"[{self.classification}]", args]
        facts = [self.provenance.value if self.provenance else "no-provenance"]
        if self.result_index is None:
            facts.append("NO RESULT")
        if self.exit_code is not None:
            facts.append(f"exit={self.exit_code}")
        if self.duration_s is not None:
            facts.append(f"{self.duration_s:.1f}s")
        if self.is_error:
            facts.append("error")
        if not self.ran and self.result_index is not None:
            facts.append("DID NOT RUN")
        if self.background:
            facts.append("background")
        parts.append("(" + ", ".join(facts) + ")")
        if self.outcome is not None:
            parts.append("=> " + self.outcome.summary())
        if self.destructive:
            parts.append("!! " + "; ".join(op.text for op in self.destructive))
        if self.excerpt and self.outcome is None:
            parts.append("| " + _clip(self.excerpt, 80))
        return " ".join(parts)


class FileChange(_Model):
    """A file the trajectory changed."""

    path: str
    kind: str = "modified"
    """created, modified, written, deleted (or the kind ``changed_files`` gave)."""
    index: int | None = None
    """Message index of the last call that changed it; None when only ``changed_files`` says."""
    source: Literal["call", "changed_files", "both"] = "call"


class FinalState(_Model):
    """How the trajectory left things."""

    last_test: TestOutcome | None = None
    last_test_index: int | None = None
    """Message index of the last test run (that ran)."""
    tests_ok: bool | None = None
    """The last test run's verdict (None: no test run, or its outcome is unknown)."""
    files_changed: list[str] = Field(default_factory=list)
    """Files left changed (from ``changed_files`` when given: the sandbox's own account)."""


class Ledger(_Model):
    """The facts of one trajectory."""

    calls: list[LedgerCall] = Field(default_factory=list)
    files_changed: list[FileChange] = Field(default_factory=list)
    tests_run: list[LedgerCall] = Field(default_factory=list)
    searches: list[LedgerCall] = Field(default_factory=list)
    urls_fetched: list[str] = Field(default_factory=list)
    git_ops: list[LedgerCall] = Field(default_factory=list)
    destructive: list[LedgerCall] = Field(default_factory=list)
    final_state: FinalState = Field(default_factory=FinalState)
    workdir: str | None = None
    project_roots: list[str] = Field(default_factory=list)
    """Further directories the trajectory treats as the project (where its files live)."""
    changed_files_given: bool = False
    """Whether the sandbox's ``changed_files`` were given (rollouts) or only calls were read."""

    def before(self, index: int) -> list[LedgerCall]:
        """Calls made by messages before ``index`` (the facts a claim in message ``index`` can
        rest on)."""
        return [call for call in self.calls if call.index < index]

    def last_test_before(self, index: int) -> LedgerCall | None:
        """The last test run that ran before message ``index`` and has a known verdict."""
        runs = [c for c in self.tests_run if c.index < index and c.ran and c.outcome is not None]
        known = [c for c in runs if c.outcome is not None and c.outcome.ok is not None]
        return known[-1] if known else None

    def to_text(self, max_chars: int | None = None) -> str:
        """A compact rendering for a prompt: one line per call, then the summary.

        Past ``max_chars``, arguments are clipped harder, then calls that are neither test
        runs, changes, git operations nor destructive are left out from the middle (their
        number is said); the summary is always kept.
        """
        header = [
            f"TOOL LEDGER: {len(self.calls)} calls"
            + (f" ({_counts(c.classification for c in self.calls)})" if self.calls else ""),
            "Each line: @message-index tool [class] arguments (provenance, exit code, duration)"
            " => test outcome / !! destructive / | last output line of a failure.",
        ]
        summary = self._summary_lines()
        for width in (100, 60, 30):
            lines = [call.line(width) for call in self.calls]
            text = "\n".join([*header, *lines, *summary])
            if max_chars is None or len(text) <= max_chars:
                return text
        important = {"test_run", "edit", "write", "git", "destructive"}
        keep = [bool(important & set(call.kinds)) for call in self.calls]
        lines = [call.line(30) for call in self.calls]
        budget = (max_chars or 0) - len("\n".join([*header, *summary])) - 60
        # Drop unimportant lines from the middle outwards until the rest fits.
        order = sorted(
            (i for i, k in enumerate(keep) if not k), key=lambda i: abs(i - len(lines) / 2)
        )
        dropped: set[int] = set()
        size = sum(len(line) + 1 for line in lines)
        for i in order:
            if size <= budget:
                break
            dropped.add(i)
            size -= len(lines[i]) + 1
        if size > budget:  # still too long: drop important ones from the middle as well
            for i in sorted(range(len(lines)), key=lambda i: abs(i - len(lines) / 2)):
                if size <= budget:
                    break
                if i not in dropped:
                    dropped.add(i)
                    size -= len(lines[i]) + 1
        body: list[str] = []
        gap = 0
        for i, line in enumerate(lines):
            if i in dropped:
                gap += 1
                continue
            if gap:
                body.append(f"... {gap} calls left out ...")
                gap = 0
            body.append(line)
        if gap:
            body.append(f"... {gap} calls left out ...")
        text = "\n".join([*header, *body, *summary])
        return text if max_chars is None or len(text) <= max_chars else text[:max_chars]

    def _summary_lines(self) -> list[str]:
        out = ["SUMMARY"]
        if self.files_changed:
            shown = ", ".join(
                f"{c.path} ({c.kind}"
                + (f" @{c.index}" if c.index is not None else "")
                + (", per sandbox" if c.source != "call" else "")
                + ")"
                for c in self.files_changed[:40]
            )
            more = (
                f" and {len(self.files_changed) - 40} more" if len(self.files_changed) > 40 else ""
            )
            out.append(f"Files changed: {shown}{more}")
        else:
            out.append("Files changed: none")
        if self.tests_run:
            runs = "; ".join(
                f"@{c.index} {c.outcome.summary() if c.outcome else 'outcome unknown'}"
                + ("" if c.ran else " (did not run)")
                for c in self.tests_run[-12:]
            )
            out.append(f"Tests run: {len(self.tests_run)} ({runs})")
        else:
            out.append("Tests run: none")
        if self.searches:
            out.append(
                "Searches: "
                + "; ".join(
                    f"@{c.index} {c.scope or '?'} {_clip(c.query or c.args, 60)!r}"
                    for c in self.searches[-12:]
                )
            )
        else:
            out.append("Searches: none")
        out.append(
            "URLs fetched: " + (", ".join(self.urls_fetched[:12]) if self.urls_fetched else "none")
        )
        if self.git_ops:
            out.append(
                "Git: " + "; ".join(f"@{c.index} {_clip(c.args, 60)}" for c in self.git_ops[-12:])
            )
        if self.destructive:
            out.append(
                "Destructive: "
                + "; ".join(
                    f"@{c.index} {', '.join(op.text for op in c.destructive)}"
                    for c in self.destructive
                )
            )
        else:
            out.append("Destructive: none")
        final = self.final_state
        if final.last_test_index is not None:
            outcome = final.last_test.summary() if final.last_test else "outcome unknown"
            last = f"last test run @{final.last_test_index}: {outcome}"
        elif self.tests_run:
            last = f"no test run ran ({len(self.tests_run)} attempted)"
        else:
            last = "no test run"
        left = ", ".join(final.files_changed[:20]) if final.files_changed else "none"
        out.append(f"Final state: {last}; files left changed: {left}")
        return out


# -- building --------------------------------------------------------------------------------------


def ledger_for(session: Session, rollout: Rollout | None = None) -> Ledger:
    """The ledger of a session alone, or of a rollout's full trajectory."""
    messages = list(session.messages) if rollout is None else full_trajectory(session, rollout)
    changed = rollout.meta.get("changed_files") if rollout is not None else None
    return build_ledger(
        messages,
        changed if isinstance(changed, list) else None,
        workdir=session.env.workdir,
        agent=session.source.agent or session.source.format,
    )


def build_ledger(
    messages: list[Message],
    changed_files: list[dict[str, Any]] | None = None,
    *,
    workdir: str | None = None,
    agent: str | None = None,
) -> Ledger:
    """The ledger of ``messages`` (a full trajectory).

    ``changed_files`` (``Rollout.meta["changed_files"]``, ``[{path, kind}]``) adds the
    sandbox's account of the files changed; ``workdir`` tells destructive deletions from
    scratch work; ``agent`` picks agent-specific readings of ambiguous tool names.
    """
    results = _pair_results(messages)
    calls: list[LedgerCall] = []
    raw: list[tuple[LedgerCall, ToolCall]] = []
    open_file: str | None = None  # SWE-agent's windowed editor keeps one open file
    for index, message in enumerate(messages):
        if message.role != "assistant":
            continue
        for tool_call in message.tool_calls:
            result_index = results.get((index, tool_call.id))
            result = messages[result_index] if result_index is not None else None
            call = _describe(index, tool_call, agent, open_file)
            if call.tool in ("open", "create") and call.paths:
                open_file = call.paths[0]
            _attach_result(call, result, result_index)
            calls.append(call)
            raw.append((call, tool_call))
    roots = _project_roots(calls, workdir)
    for call, _ in raw:
        if call.command is not None:
            found = sh.destructive_operations(sh.parse_command(call.command), workdir, roots)
            if found:
                call.destructive = [
                    DestructiveOp(kind=d.kind, text=d.text, severity=d.severity) for d in found
                ]
                call.kinds = _ordered(["destructive", *call.kinds])
                call.classification = call.kinds[0]
    ledger = _assemble(calls, changed_files, workdir)
    ledger.project_roots = list(roots)
    return ledger


def _pair_results(messages: list[Message]) -> dict[tuple[int, str], int]:
    """(call message index, call id) -> result message index."""
    pending: list[tuple[int, str]] = []
    paired: dict[tuple[int, str], int] = {}
    for index, message in enumerate(messages):
        if message.role == "assistant":
            pending.extend((index, call.id) for call in message.tool_calls)
        elif message.role == "tool":
            match = None
            if message.tool_call_id is not None:
                match = next((p for p in pending if p[1] == message.tool_call_id), None)
            elif pending:
                match = pending[0]
            if match is not None:
                pending.remove(match)
                paired[match] = index
    return paired


def _attach_result(call: LedgerCall, result: Message | None, result_index: int | None) -> None:
    call.result_index = result_index
    if result is None or call.invalid:
        call.ran = False
    if result is None:
        return
    call.provenance = result.provenance
    call.is_error = result.is_error
    meta = result.meta or {}
    text, codex_meta = _unwrap(result.content)
    call.exit_code = _exit_code(meta, codex_meta, result)
    duration = meta.get("duration_s", codex_meta.get("duration_seconds"))
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        call.duration_s = float(duration)
    if (
        result.provenance == Provenance.UNAVAILABLE
        or meta.get("error_type") in _HARNESS_ERRORS
        or call.exit_code in (126, 127)
    ):
        call.ran = False
    refused = result.is_error or "<tool_use_error>" in text
    if call.command is None and {"edit", "write"} & set(call.kinds) and refused:
        call.ran = False  # the edit was refused or failed
    if "test_run" in call.kinds and call.ran:
        call.outcome = _test_outcome(call, text)
        summarized = call.outcome is not None and call.outcome.source == "output"
        if not summarized and call.command is not None and _runner_missing(text):
            call.ran, call.outcome = False, None  # the runner itself was missing: no test ran
    failed = (call.exit_code not in (None, 0)) or result.is_error
    if failed and call.outcome is None:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        lines = [line for line in lines if not re.match(r"^\[.*\]$|^\(.*\)$|^bash-\$", line)]
        call.excerpt = _clip(lines[-1], 120) if lines else ""


_TEST_PROGRAMS = frozenset(
    {"pytest", "py.test", "tox", "nox", "npm", "yarn", "pnpm", "go", "cargo", "make", "jest"}
)


def result_text(message: Message) -> str:
    """A tool result's output without harness wrappers (Codex's JSON, mini-swe-agent's tags)."""
    return _unwrap(message.content)[0]


def _unwrap(content: str) -> tuple[str, dict[str, Any]]:
    stripped = content.strip()
    if stripped.startswith("{") and '"output"' in stripped:
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("output"), str):
            meta = data.get("metadata")
            return data["output"], meta if isinstance(meta, dict) else {}
    return content, {}


_EXIT_PATTERNS = (
    re.compile(r"<returncode>(-?\d+)</returncode>"),
    re.compile(r"\[Command finished with exit code (-?\d+)\]"),
    re.compile(r"\[The command completed with exit code (-?\d+)\.\]"),
    re.compile(r"\AExit code:? (\d+)\s*$", re.MULTILINE),
    re.compile(r"^Process exited with code (\d+)", re.MULTILINE),
)


def _exit_code(meta: dict[str, Any], codex: dict[str, Any], result: Message) -> int | None:
    for value in (meta.get("exit_code"), meta.get("returncode"), codex.get("exit_code")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
    content = result.content
    # The harnesses put these markers first (mini-swe-agent) or last (OpenHands, Claude Code).
    ends = content if len(content) <= 4000 else content[:1000] + "\n" + content[-3000:]
    for pattern in _EXIT_PATTERNS:
        match = pattern.search(ends)
        if match:
            return int(match.group(1))
    return None


def _crashed(text: str) -> bool:
    """Whether the output ends with a Python traceback (the runner died before a summary)."""
    tail = text[-6000:]
    if _TRACEBACK not in tail:
        return False
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    lines = [
        line for line in lines if not re.fullmatch(r"</?output>|<returncode>\d+</returncode>", line)
    ]
    return bool(lines) and _EXCEPTION_LINE.match(lines[-1]) is not None


def _runner_missing(text: str) -> bool:
    head = text[:600]
    missing = _NOT_FOUND.findall(head)
    if any(posixpath.basename(m) in _TEST_PROGRAMS for m in missing):
        return True
    return _NO_MODULE.search(head) is not None


def _test_outcome(call: LedgerCall, text: str) -> TestOutcome | None:
    if call.command is None:  # a test tool of its own: only its output can tell
        return parse_test_output(text)
    parsed = sh.parse_command(call.command)
    framework = None
    last_test = -1
    for position, segment in enumerate(parsed.segments):
        found = sh.framework_of(segment)
        if found is not None:
            framework = framework or found
            last_test = position
    outcome = parse_test_output(text, framework)
    if outcome is not None:
        if outcome.framework is None:
            outcome.framework = framework
        return outcome
    if _crashed(text):  # the runner died before reporting
        return TestOutcome(framework=framework, errors=1, ok=False, source="crash")
    if call.exit_code is None or last_test < 0 or framework == "script":
        return None
    tail = parsed.segments[last_test:]
    trustworthy = tail[0].operator in ("", "&&", "\n") and all(
        s.program in sh.INERT_PROGRAMS for s in tail[1:]
    )
    if tail[0].operator == "\n" and len(tail) > 1:
        trustworthy = False
    if not trustworthy:
        return None
    return TestOutcome(framework=framework, ok=call.exit_code == 0, source="exit_code")


# -- reading one call ------------------------------------------------------------------------------

_SHELL_TOOLS = _words(
    "bash Bash execute_bash shell shell_command container.exec local_shell "
    "run_shell_command run_command execute_command terminal exec cmd"
)
_CODE_TOOLS = frozenset({"python", "execute_ipython_cell", "ipython", "run_python", "jupyter"})
_EDITOR_TOOLS = frozenset(
    {"str_replace_editor", "str_replace_based_edit_tool", "editor", "text_editor"}
)
_OTHER_TOOLS = _words(
    "think finish submit TodoWrite TodoRead ExitPlanMode AskUserQuestion update_plan "
    "SlashCommand KillShell KillBash BashOutput calculator task_complete "
    "attempt_completion"
)


def _describe(
    index: int, tool_call: ToolCall, agent: str | None, open_file: str | None
) -> LedgerCall:
    name = tool_call.name
    arguments = tool_call.arguments if isinstance(tool_call.arguments, dict) else {}
    call = LedgerCall(index=index, call_id=tool_call.id, tool=name)
    if not arguments and tool_call.raw_arguments:
        call.args = _clip(_one_line(tool_call.raw_arguments), 200)
    try:
        _read_call(call, name, arguments, agent, open_file)
    except (TypeError, ValueError, AttributeError, KeyError):
        call.classification, call.kinds = "other", ["other"]
        call.command, call.edits, call.paths = None, [], []
        call.mutating = None
        if name in _KNOWN_TOOLS or (not arguments and tool_call.raw_arguments):
            call.invalid, call.mutating = True, False
    if not call.args:
        call.args = _summarize_arguments(arguments)
    if not call.kinds:
        call.kinds = [call.classification]
    call.kinds = _ordered(call.kinds)
    call.classification = call.kinds[0]
    return call


def _read_call(
    call: LedgerCall, name: str, arguments: dict[str, Any], agent: str | None, open_file: str | None
) -> None:
    get = arguments.get
    if name in ("apply_patch", "applypatch") or (
        isinstance(get("input"), str) and "*** Begin Patch" in str(get("input"))
    ):
        patch = str(get("input") or get("patch") or get("content") or "")
        files = sh.apply_patch_files(patch)
        call.canonical, call.kinds, call.mutating = None, ["edit"], True
        call.paths = [path for path, _ in files]
        call.edits = [EditDiff(path=path, new=patch) for path, _ in files]
        call.args = "apply_patch " + ", ".join(call.paths)
        return
    if name in _SHELL_TOOLS:
        script = sh.shell_text(get("command")) or sh.shell_text(get("cmd"))
        if script is None and name in ("bash", "Bash") and get("restart"):
            call.canonical, call.kinds, call.mutating = "shell", ["other"], False
            return
        if script is None:
            raise ValueError("no command")
        _shell(call, script, background=bool(get("run_in_background")))
        return
    if name in _CODE_TOOLS:
        code = get("code") if isinstance(get("code"), str) else get("input")
        if not isinstance(code, str):
            raise ValueError("no code")
        bangs = [line.strip()[1:] for line in code.splitlines() if line.strip().startswith("!")]
        script = "\n".join(bangs) if bangs else f"python3 - <<'PY'\n{code}\nPY"
        _shell(call, script)
        call.args = _clip(_one_line(code), 200)
        return
    if name in _EDITOR_TOOLS:
        command, path = get("command"), _required_text(arguments, "path")
        call.canonical, call.paths = "editor", [path]
        if command == "view":
            call.kinds, call.mutating = ["read"], False
        elif command == "create":
            call.kinds, call.mutating = ["write"], True
            call.edits = [EditDiff(path=path, new=str(get("file_text") or ""), whole_file=True)]
        elif command in ("str_replace", "insert", "undo_edit"):
            call.kinds, call.mutating = ["edit"], True
            call.edits = [
                EditDiff(path=path, old=str(get("old_str") or ""), new=str(get("new_str") or ""))
            ]
        else:
            call.kinds, call.mutating = ["other"], None
        call.args = f"{command} {path}".strip()
        return
    if name in ("Edit", "MultiEdit", "NotebookEdit"):
        path = _required_text(arguments, "file_path", "notebook_path")
        call.canonical, call.paths, call.kinds, call.mutating = "editor", [path], ["edit"], True
        edits = get("edits") if name == "MultiEdit" else [arguments]
        for edit in edits if isinstance(edits, list) else []:
            if isinstance(edit, dict):
                old = edit.get("old_string", edit.get("old_source", ""))
                new = edit.get("new_string", edit.get("new_source", ""))
                call.edits.append(EditDiff(path=path, old=str(old or ""), new=str(new or "")))
        call.args = f"{name.lower()} {path}"
        return
    if name in ("Write", "write_file", "create_file", "write"):
        path = _required_text(arguments, "file_path", "path")
        content = get("content", get("file_text", get("text", "")))
        call.canonical = "write_file"
        call.paths, call.kinds, call.mutating = [path], ["write"], True
        call.edits = [EditDiff(path=path, new=str(content or ""), whole_file=True)]
        call.args = f"write {path}"
        return
    if name in (
        "Read",
        "read_file",
        "NotebookRead",
        "view_image",
        "open",
        "goto",
    ) or name.startswith("scroll_"):
        path = str(get("file_path") or get("path") or get("notebook_path") or "")
        call.canonical = "read_file" if name in ("Read", "read_file") else None
        call.paths = [path] if path else ([open_file] if open_file else [])
        call.kinds, call.mutating = ["read"], False
        call.args = f"read {path or open_file or ''}".strip()
        return
    if name == "create" and (get("filename") or get("path")):  # SWE-agent
        path = str(get("filename") or get("path"))
        call.paths, call.kinds, call.mutating = [path], ["write"], True
        call.args = f"create {path}"
        return
    if name in ("edit", "edit_file") and (open_file or get("path")):  # SWE-agent / OpenHands
        path = str(get("path") or open_file)
        call.paths, call.kinds, call.mutating = [path], ["edit"], True
        new = get("new_content", get("content", get("replacement_text", get("text", ""))))
        old = get("old_content", "")
        call.edits = [EditDiff(path=path, old=str(old or ""), new=str(new or ""))]
        call.args = f"edit {path}"
        return
    if name in ("Grep", "Glob", "find_file", "search_dir", "search_file", "grep", "glob"):
        pattern = get("pattern", get("file_name", get("search_term", get("query", ""))))
        where = get("path", get("dir", get("file", "")))
        call.canonical = "shell" if name in ("Grep", "Glob") else None
        call.kinds, call.mutating, call.scope = ["search"], False, "code"
        call.query = str(pattern or "")
        call.paths = [str(where)] if where and name == "search_file" else []
        call.args = f"{name} {call.query!r}" + (f" in {where}" if where else "")
        return
    if name in ("WebSearch", "web_search", "search", "google_search", "brave_search"):
        call.canonical, call.kinds, call.mutating, call.scope = "browser", ["search"], False, "web"
        call.query = _required_text(arguments, "query", "q")
        call.args = f"search {call.query!r}"
        return
    if name in ("WebFetch", "web_fetch", "web_read", "web_browser_go", "fetch", "browse"):
        call.canonical, call.kinds, call.mutating = "browser", ["fetch"], False
        call.url = _required_text(arguments, "url")
        call.args = f"open {call.url}"
        return
    if name == "browser":
        action = get("action")
        call.canonical, call.mutating = "browser", False
        if action == "search":
            call.kinds, call.scope = ["search"], "web"
            call.query = str(get("query", ""))
            call.args = f"search {call.query!r}"
        elif action == "open" or get("url"):
            call.kinds, call.url = ["fetch"], str(get("url", ""))
            call.args = f"open {call.url}"
        else:
            call.kinds = ["fetch"]
        return
    if name in _OTHER_TOOLS:
        call.canonical = "calculator" if name == "calculator" else None
        call.kinds, call.mutating = ["other"], False
        if name == "calculator":
            call.args = f"calculator {_one_line(str(get('expression', '')))}"
        return
    if name in DELEGATING_TOOLS:
        call.kinds, call.mutating, call.delegated = ["other"], None, True
        what = _one_line(str(get("description") or get("prompt") or ""))
        call.args = f"{name}: {_clip(what, 100)}"
        return
    if _from_adapter(call, name, arguments, agent, open_file):
        return
    _guess(call, name, arguments)


_KNOWN_TOOLS = (
    _SHELL_TOOLS
    | _CODE_TOOLS
    | _EDITOR_TOOLS
    | _OTHER_TOOLS
    | DELEGATING_TOOLS
    | {"Edit", "MultiEdit", "NotebookEdit", "Write", "write_file", "Read", "read_file", "Grep"}
    | {"Glob", "WebSearch", "web_search", "WebFetch", "web_fetch", "browser", "apply_patch"}
)


def _required_text(arguments: dict[str, Any], *keys: str) -> str:
    """The first of ``keys`` holding a non-empty string; ValueError when none does."""
    for key in keys:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value
    raise ValueError(f"no {keys[0]}")


def _from_adapter(
    call: LedgerCall, name: str, arguments: dict[str, Any], agent: str | None, open_file: str | None
) -> bool:
    """Read a tool name this module does not know through the tool adapters, if one knows it."""
    try:
        from understudy.tools.adapters import find_adapter
    except ImportError:  # pragma: no cover - the tools subpackage always ships
        return False
    adapter = find_adapter(name, agent)
    if adapter is None:
        return False
    try:
        canonical = adapter.translate(name, arguments)
    except ToolCallError:
        return False
    if canonical.tool == name:
        return False
    _read_call(call, canonical.tool, canonical.arguments, None, open_file)
    call.canonical = canonical.tool
    return True


_GUESSES: tuple[tuple[re.Pattern[str], Classification], ...] = (
    (re.compile(r"(^|_)(run_?)?tests?($|_)", re.I), "test_run"),
    (re.compile(r"search|grep|find|query|lookup", re.I), "search"),
    (re.compile(r"fetch|browse|url|web|http|download|scrape", re.I), "fetch"),
    (re.compile(r"write|create_file|save", re.I), "write"),
    (re.compile(r"edit|replace|patch|insert", re.I), "edit"),
    (re.compile(r"read|view|open|cat|get_file|list_dir|ls", re.I), "read"),
)


def _guess(call: LedgerCall, name: str, arguments: dict[str, Any]) -> None:
    """Classify an unknown tool from its name and arguments (changes stay ``unknown``)."""
    command = sh.shell_text(arguments.get("command")) or sh.shell_text(arguments.get("cmd"))
    if command is not None and re.search(r"exec|run|shell|bash|terminal|command", name, re.I):
        _shell(call, command)
        call.canonical = None
        return
    path = arguments.get("path") or arguments.get("file_path") or arguments.get("filename")
    if isinstance(path, str) and path:
        call.paths = [path]
    for pattern, kind in _GUESSES:
        if pattern.search(name):
            call.kinds = [kind]
            break
    else:
        call.kinds = ["other"]
    if call.kinds == ["search"]:
        query = arguments.get("query", arguments.get("pattern", arguments.get("q")))
        call.query = str(query) if query is not None else None
        call.scope = "web" if re.search(r"web|google|bing|brave|internet", name, re.I) else None
    if call.kinds == ["fetch"]:
        url = arguments.get("url")
        call.url = str(url) if url is not None else None
    call.mutating = None if call.kinds[0] in ("write", "edit", "other", "test_run") else False


def _shell(call: LedgerCall, script: str, background: bool = False) -> None:
    call.canonical = "shell"
    call.command = script
    call.args = _clip(_one_line(script), 300)
    parsed = sh.parse_command(script)
    kinds: list[Classification] = []
    paths: list[str] = []
    for segment in parsed.segments:
        if not segment.words:
            continue
        program = segment.program
        git = sh.git_subcommand(segment)
        query = sh.search_query(segment)
        if sh.framework_of(segment) is not None:
            kinds.append("test_run")
        elif query is not None:
            kinds.append("search")
            call.query = call.query or query
            call.scope = "code"
        elif git is not None:
            kinds.append("git")
        elif sh.sed_in_place(segment) is not None or program in ("patch", "apply_patch", "rm"):
            kinds.append("edit")
        elif program in sh.FETCH_PROGRAMS:
            urls = [w for w in segment.args if re.match(r"^https?://", w)]
            if urls:
                kinds.append("fetch")
                call.url = call.url or urls[0]
            else:
                kinds.append("shell")
        elif program in sh.READ_PROGRAMS or program in ("sed", "gsed"):
            kinds.append("read")
            paths.extend(a for a in segment.args if not a.startswith("-") and _looks_like_path(a))
        elif program in sh.INERT_PROGRAMS:
            continue
        else:
            kinds.append("shell")
        if segment.background or background:
            call.background = True
    written = sh.written_files(parsed)
    if written:
        kinds.append("edit" if any(k in ("modified", "deleted") for _, k in written) else "write")
        paths.extend(path for path, _ in written)
    if "*** Begin Patch" in script and "edit" not in kinds:
        kinds.append("edit")
    call.kinds = _ordered(kinds or ["shell"])
    call.paths = list(dict.fromkeys(paths))
    call.mutating = sh.mutating(parsed)
    if written:
        call.edits = [EditDiff(path=path, new="") for path, _ in written]


def _looks_like_path(word: str) -> bool:
    return bool(re.search(r"[/.]", word)) and not re.match(r"^\d+(,\d+)?p?$", word)


def _ordered(kinds: list[Classification]) -> list[Classification]:
    present = set(kinds)
    return [kind for kind in CLASSIFICATIONS if kind in present] or ["other"]


def _summarize_arguments(arguments: dict[str, Any]) -> str:
    try:
        text = json.dumps(arguments, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(arguments)
    return _clip(_one_line(text), 200)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


def _counts(items: Any) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in Counter(items).most_common())


# -- the whole -------------------------------------------------------------------------------------


def _project_roots(calls: list[LedgerCall], workdir: str | None) -> tuple[str, ...]:
    """Directories the trajectory treats as the project: the common parent of the absolute
    paths its file tools touched (outside system and scratch directories)."""
    paths = [
        posixpath.normpath(path)
        for call in calls
        if call.canonical != "shell"
        for path in call.paths
        if path.startswith("/") and not path.startswith(("/tmp", "/etc", "/usr", "/var", "/proc"))
    ]
    if not paths:
        return ()
    common = posixpath.commonpath(paths)
    if common in paths:  # one file, or one file and its own subdirectories: take its directory
        common = posixpath.dirname(common)
    if common in sh.SYSTEM_DIRS or common == workdir:
        return ()
    return (common,)


def _normalize(path: str, workdir: str | None) -> str:
    path = path.strip()
    if path.startswith("./"):
        path = path[2:]
    if workdir and path.startswith(workdir.rstrip("/") + "/"):
        path = path[len(workdir.rstrip("/")) + 1 :]
    return path


def _assemble(
    calls: list[LedgerCall], changed_files: list[dict[str, Any]] | None, workdir: str | None
) -> Ledger:
    ledger = Ledger(calls=calls, workdir=workdir, changed_files_given=changed_files is not None)
    changes: dict[str, FileChange] = {}
    net: dict[str, str] = {}
    for call in calls:
        if not call.ran or not ({"edit", "write"} & set(call.kinds)):
            continue
        kinds = _change_kinds(call)
        for path, kind in kinds:
            key = _normalize(path, workdir)
            if not key or key.startswith(_STATE_FILES):
                continue
            changes[key] = FileChange(path=key, kind=kind, index=call.index)
            if kind == "deleted" and net.get(key) == "created":
                net.pop(key)
            elif kind == "deleted":
                net[key] = "deleted"
            elif key not in net or net[key] == "deleted":
                net[key] = "created" if kind in ("created", "written") and key not in net else kind
    if changed_files is not None:
        final: list[str] = []
        for entry in changed_files:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue
            key = _normalize(entry["path"], workdir)
            if key.startswith(_STATE_FILES):
                continue
            kind = str(entry.get("kind") or "changed")
            if key in changes:
                changes[key].source = "both"
            else:
                changes[key] = FileChange(path=key, kind=kind, source="changed_files")
            final.append(key)
        ledger.final_state.files_changed = final
    else:
        ledger.final_state.files_changed = list(net)
    ledger.files_changed = list(changes.values())
    ledger.tests_run = [c for c in calls if "test_run" in c.kinds]
    ledger.searches = [c for c in calls if "search" in c.kinds and c.ran]
    ledger.urls_fetched = list(
        dict.fromkeys(c.url for c in calls if "fetch" in c.kinds and c.url and c.ran)
    )
    ledger.git_ops = [c for c in calls if "git" in c.kinds]
    ledger.destructive = [c for c in calls if c.destructive]
    ran = [c for c in ledger.tests_run if c.ran]
    if ran:
        last = ran[-1]
        ledger.final_state.last_test = last.outcome
        ledger.final_state.last_test_index = last.index
        ledger.final_state.tests_ok = last.outcome.ok if last.outcome else None
    return ledger


def _change_kinds(call: LedgerCall) -> list[tuple[str, str]]:
    if call.command is not None:
        written = sh.written_files(sh.parse_command(call.command))
        if "*** Begin Patch" in call.command and not written:
            written = sh.apply_patch_files(call.command)
        return written
    if "write" in call.kinds:
        return [(path, "written") for path in call.paths if path]
    if call.tool in ("apply_patch", "applypatch") or call.args.startswith("apply_patch"):
        return [(e.path, "modified") for e in call.edits]
    return [(path, "modified") for path in call.paths if path]
