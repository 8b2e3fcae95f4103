"""Describers: what a logged call does, by family of logged tools (see :class:`CallFacts`).

Each describer reads the argument shapes its tools were logged with, from every harness that
logged them, and never raises for arguments it cannot read: it says so (``unreadable``). The
adapters describe their calls with these, and the tools that replay treats as opaque are listed
with theirs in :data:`~understudy.tools.adapters.DESCRIBERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from understudy.tools.adapters.arguments import apply_patch_files, shell_text
from understudy.tools.adapters.facts import (
    CallFacts,
    EditDiff,
    Unreadable,
    clip,
    one_line,
    required_text,
)

Describe = Callable[[str, dict[str, Any]], CallFacts | None]
"""A describer: the facts of a call to a tool name with arguments, or None when the call is not
one the name's tools make (so that only the name can be guessed from)."""

UNCHECKED_NAMES = frozenset(
    {
        "create_file",
        "write",
        "search",
        "google_search",
        "brave_search",
        "fetch",
        "browse",
        "web_read",
        "web_browser_go",
    }
)
"""Logged names whose harnesses are not known to check arguments: a call to one of them whose
arguments cannot be read may still have done something."""


def unreadable(name: str, **known: Any) -> CallFacts:
    """A call to ``name`` whose arguments could not be read; ``known`` holds what the name alone
    tells (its canonical tool, a search's scope)."""
    reason: Unreadable = "unclear" if name in UNCHECKED_NAMES else "refused"
    return CallFacts(unreadable=reason, **known)


# -- scripts ---------------------------------------------------------------------------------------


def describe_shell(name: str, arguments: dict[str, Any]) -> CallFacts:
    """A shell ``{command}`` (a string or an argv list) or ``{cmd}``."""
    script = shell_text(arguments.get("command")) or shell_text(arguments.get("cmd"))
    if script is None and name in ("bash", "Bash") and arguments.get("restart"):
        # Anthropic's bash tool restarts its shell: nothing runs.
        return CallFacts(canonical="shell", changes_state=False)
    if script is None:
        return unreadable(name)
    facts = CallFacts.of_script(script, background=bool(arguments.get("run_in_background")))
    workdir = arguments.get("workdir")
    return facts.model_copy(update={"workdir": workdir}) if isinstance(workdir, str) else facts


def describe_code(name: str, arguments: dict[str, Any]) -> CallFacts:
    """Python code ``{code}`` (or ``{input}``), run as a script; IPython's ``!`` lines are
    shell commands, and when there are any they are what the judges read."""
    code = (
        arguments.get("code") if isinstance(arguments.get("code"), str) else arguments.get("input")
    )
    if not isinstance(code, str):
        return unreadable(name)
    bangs = [line.strip()[1:] for line in code.splitlines() if line.strip().startswith("!")]
    script = "\n".join(bangs) if bangs else f"python3 - <<'PY'\n{code}\nPY"
    return CallFacts.of_script(script, summary=clip(one_line(code), 200))


# -- files -----------------------------------------------------------------------------------------


def describe_editor(name: str, arguments: dict[str, Any]) -> CallFacts:
    """``str_replace_editor``-style ``{command, path, file_text?, old_str?, new_str?}``."""
    path = required_text(arguments, "path")
    if path is None:
        return unreadable(name)
    command = arguments.get("command")
    facts = CallFacts(canonical="editor", paths=[path], summary=f"{command} {path}".strip())
    if command == "view":
        facts.kinds, facts.changes_state = ["read"], False
    elif command == "create":
        facts.kinds, facts.changes_state = ["write"], True
        text = str(arguments.get("file_text") or "")
        facts.edits = [EditDiff(path=path, new=text, whole_file=True)]
    elif command in ("str_replace", "insert", "undo_edit"):
        facts.kinds, facts.changes_state = ["edit"], True
        old, new = arguments.get("old_str"), arguments.get("new_str")
        facts.edits = [EditDiff(path=path, old=str(old or ""), new=str(new or ""))]
    return facts


def describe_text_edits(name: str, arguments: dict[str, Any]) -> CallFacts:
    """Claude Code ``Edit`` ``{file_path, old_string, new_string}``, ``MultiEdit`` ``{file_path,
    edits: [...]}`` and ``NotebookEdit`` ``{notebook_path, old_source?, new_source}``."""
    path = required_text(arguments, "file_path", "notebook_path")
    if path is None:
        return unreadable(name)
    listed = arguments.get("edits") if name == "MultiEdit" else [arguments]
    edits = [
        EditDiff(
            path=path,
            old=str(edit.get("old_string", edit.get("old_source", "")) or ""),
            new=str(edit.get("new_string", edit.get("new_source", "")) or ""),
        )
        for edit in (listed if isinstance(listed, list) else [])
        if isinstance(edit, dict)
    ]
    return CallFacts(
        canonical="editor",
        kinds=["edit"],
        changes_state=True,
        paths=[path],
        edits=edits,
        summary=f"{name.lower()} {path}",
    )


def describe_write(name: str, arguments: dict[str, Any]) -> CallFacts:
    """A whole file written: ``{file_path or path, content or file_text or text}``."""
    path = required_text(arguments, "file_path", "path")
    if path is None:
        return unreadable(name)
    get = arguments.get
    content = get("content", get("file_text", get("text", "")))
    return CallFacts(
        canonical="write_file",
        kinds=["write"],
        changes_state=True,
        paths=[path],
        edits=[EditDiff(path=path, new=str(content or ""), whole_file=True)],
        summary=f"write {path}",
    )


def describe_read(name: str, arguments: dict[str, Any]) -> CallFacts:
    """A file read or viewed: ``{file_path or path or notebook_path}``; SWE-agent's viewer
    (``open``, ``goto``, ``scroll_*``) shows its open file when given none."""
    get = arguments.get
    path = str(get("file_path") or get("path") or get("notebook_path") or "")
    return CallFacts(
        canonical="read_file" if name in ("Read", "read_file") else None,
        kinds=["read"],
        changes_state=False,
        paths=[path] if path else [],
        summary=f"read {path}".strip(),
        on_open_file=True,
        opens_file=name == "open",
    )


def describe_create(name: str, arguments: dict[str, Any]) -> CallFacts | None:
    """SWE-agent ``create {filename}``: a new file, opened in the viewer."""
    target = arguments.get("filename") or arguments.get("path")
    if not target:
        return None
    path = str(target)
    return CallFacts(
        kinds=["write"], changes_state=True, paths=[path], summary=f"create {path}", opens_file=True
    )


def describe_windowed_edit(name: str, arguments: dict[str, Any]) -> CallFacts:
    """SWE-agent ``edit`` (lines of the open file) and OpenHands-style ``edit_file {path}``."""
    get = arguments.get
    path = str(get("path")) if get("path") else ""
    new = get("new_content", get("content", get("replacement_text", get("text", ""))))
    old = get("old_content", "")
    return CallFacts(
        kinds=["edit"],
        changes_state=True,
        paths=[path] if path else [],
        edits=[EditDiff(path=path, old=str(old or ""), new=str(new or ""))],
        summary=f"edit {path}".strip(),
        on_open_file=True,
    )


def describe_patch(name: str, arguments: dict[str, Any]) -> CallFacts:
    """Codex ``apply_patch`` ``{input}`` (or ``{patch}``, ``{content}``)."""
    get = arguments.get
    patch = str(get("input") or get("patch") or get("content") or "")
    paths = [path for path, _ in apply_patch_files(patch)]
    return CallFacts(
        kinds=["edit"],
        changes_state=True,
        paths=paths,
        edits=[EditDiff(path=path, new=patch) for path in paths],
        summary="apply_patch " + ", ".join(paths),
    )


# -- searches and the web --------------------------------------------------------------------------


def describe_code_search(name: str, arguments: dict[str, Any]) -> CallFacts:
    """A search of the code: Claude Code ``Grep``/``Glob`` ``{pattern, path?}``, SWE-agent
    ``find_file``/``search_dir``/``search_file`` ``{file_name or search_term, dir or file}``."""
    get = arguments.get
    pattern = get("pattern", get("file_name", get("search_term", get("query", ""))))
    where = get("path", get("dir", get("file", "")))
    query = str(pattern or "")
    return CallFacts(
        canonical="shell" if name in ("Grep", "Glob") else None,
        kinds=["search"],
        changes_state=False,
        scope="code",
        query=query,
        paths=[str(where)] if where and name == "search_file" else [],
        summary=f"{name} {query!r}" + (f" in {where}" if where else ""),
    )


def describe_web_search(name: str, arguments: dict[str, Any]) -> CallFacts:
    """A web search ``{query}`` (or ``{q}``)."""
    query = required_text(arguments, "query", "q")
    if query is None:
        return unreadable(name, canonical="browser", scope="web")
    return CallFacts(
        canonical="browser",
        kinds=["search"],
        changes_state=False,
        scope="web",
        query=query,
        summary=f"search {query!r}",
    )


def describe_web_fetch(name: str, arguments: dict[str, Any]) -> CallFacts:
    """A page fetched ``{url}``."""
    url = required_text(arguments, "url")
    if url is None:
        return unreadable(name, canonical="browser")
    return CallFacts(
        canonical="browser", kinds=["fetch"], changes_state=False, url=url, summary=f"open {url}"
    )


def describe_browser(name: str, arguments: dict[str, Any]) -> CallFacts:
    """The canonical ``browser`` ``{action: search|open, query?, url?}``."""
    get = arguments.get
    facts = CallFacts(canonical="browser", kinds=["fetch"], changes_state=False)
    if get("action") == "search":
        facts.kinds, facts.scope, facts.query = ["search"], "web", str(get("query", ""))
        facts.summary = f"search {facts.query!r}"
    elif get("action") == "open" or get("url"):
        facts.url = str(get("url", ""))
        facts.summary = f"open {facts.url}"
    return facts


# -- the rest --------------------------------------------------------------------------------------


def describe_no_effect(name: str, arguments: dict[str, Any]) -> CallFacts:
    """Plans, notes, questions, the agent saying it is done, the calculator: nothing in the sandbox
    changes."""
    if name == "calculator":
        summary = f"calculator {one_line(str(arguments.get('expression', '')))}"
        return CallFacts(canonical="calculator", changes_state=False, summary=summary)
    return CallFacts(changes_state=False)


def describe_delegation(name: str, arguments: dict[str, Any]) -> CallFacts:
    """Work handed to another agent ``{description?, prompt?}``."""
    what = one_line(str(arguments.get("description") or arguments.get("prompt") or ""))
    return CallFacts(delegated=True, summary=f"{name}: {clip(what, 100)}")
