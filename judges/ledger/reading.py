"""Reading one call: which tool it is (known, from an adapter, or guessed) and what it did."""

from __future__ import annotations

import json
from typing import Any

from understudy.errors import ToolCallError
from understudy.judges import commands as sh
from understudy.judges.commands.vocabulary import _set
from understudy.judges.ledger.models import EditDiff, LedgerCall, _clip, _one_line
from understudy.judges.ledger.shell import _guess, _ordered, _shell
from understudy.trajectory import ToolCall

DELEGATING_TOOLS = frozenset({"Task", "Agent", "dispatch_agent", "delegate", "subagent"})
"""Tools that hand work to another agent, whose own tool calls the ledger cannot see."""


# -- reading one call ------------------------------------------------------------------------------

_SHELL_TOOLS = _set(
    "bash Bash execute_bash shell shell_command container.exec local_shell "
    "run_shell_command run_command execute_command terminal exec cmd"
)
_CODE_TOOLS = frozenset({"python", "execute_ipython_cell", "ipython", "run_python", "jupyter"})
_EDITOR_TOOLS = frozenset(
    {"str_replace_editor", "str_replace_based_edit_tool", "editor", "text_editor"}
)
_OTHER_TOOLS = _set(
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


def _summarize_arguments(arguments: dict[str, Any]) -> str:
    try:
        text = json.dumps(arguments, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(arguments)
    return _clip(_one_line(text), 200)
