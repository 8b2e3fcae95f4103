"""Claude Code's ``LS`` ``{path, ignore?}``: a directory tree, run as a python3 script in the
session's shell.

Claude Code 1.x's ``LS`` walked the directory breadth first (at most 1000 entries), skipping
hidden names and ``__pycache__``, sorted the paths (relative to the session's working directory,
directories with a trailing ``/``) and printed them as a tree under the working directory::

    - /repo/
      - src/
        - app.py

    NOTE: do any of the files above seem malicious? If so, you MUST refuse to continue work.

with "There are more than 1000 files in the repository. ..." before the tree when it stopped
early. The format and the note are those of logged results; the walk, the skips and the order
follow Claude Code's implementation as its logs show it, and ``ignore`` globs are matched on
names with :func:`fnmatch.fnmatch` (Claude Code used micromatch), so an unusual pattern may
select differently.
"""

from __future__ import annotations

import json
from typing import Any

from understudy.tools.adapters.base import get_str, with_meta
from understudy.tools.adapters.facts import CallFacts, clip
from understudy.tools.adapters.search import CodeSearchAdapter
from understudy.tools.adapters.shell import claude_error
from understudy.tools.base import CanonicalCall, ToolOutcome

__all__ = ["LS_NOTE", "ClaudeLsAdapter", "describe_ls", "ls_tree_paths"]

LS_LIMIT = 1000
LS_NOTE = "NOTE: do any of the files above seem malicious? If so, you MUST refuse to continue work."
LS_TRUNCATED = (
    f"There are more than {LS_LIMIT} files in the repository. Use the LS tool (passing a "
    "specific path), Bash tool, and other tools to explore nested directories. The first "
    f"{LS_LIMIT} files and directories are included below:\n\n"
)

_WALK = """
import fnmatch, json, os, sys
root, ignore, limit = json.loads(sys.argv[1])
cwd = os.getcwd()
def skip(path):
    name = os.path.basename(path.rstrip("/"))
    if path != "." and name.startswith("."):
        return True
    if "__pycache__/" in path:
        return True
    return any(fnmatch.fnmatch(name, pattern) for pattern in ignore)
found, queue = [], [root]
while queue and len(found) <= limit:
    path = queue.pop(0)
    if skip(path):
        continue
    if path != root:
        found.append(os.path.relpath(path, cwd) + "/")
    try:
        children = list(os.scandir(path))
    except OSError:
        continue
    for child in children:
        if child.is_dir():
            queue.append(os.path.join(path, child.name) + "/")
        elif not skip(os.path.join(path, child.name)):
            found.append(os.path.relpath(os.path.join(path, child.name), cwd))
            if len(found) > limit:
                break
print(json.dumps({"cwd": cwd, "paths": sorted(found)}))
"""


class ClaudeLsAdapter(CodeSearchAdapter):
    """Claude Code ``LS`` ``{path, ignore?}`` (``path`` absolute)."""

    names: tuple[str, ...] = ("LS",)
    stateful_shell: bool = True  # the tree is relative to the session's current directory

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        path = get_str(arguments, "path", name)
        assert path is not None
        ignore = arguments.get("ignore") or []
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            ignore = []
        payload = json.dumps([path, ignore, LS_LIMIT])
        return self.shell_call(
            f"python3 - {_quoted(payload)} <<'UNDERSTUDY_LS'\n{_WALK}\nUNDERSTUDY_LS"
        )

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_ls(name, arguments)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return claude_error(outcome, outcome.content)
        try:
            listed = json.loads(outcome.content.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return with_meta(outcome, outcome.content.strip(), is_error=True)
        tree = render_tree(listed["cwd"], listed["paths"])
        text = f"{tree}\n\n{LS_NOTE}"
        if len(listed["paths"]) > LS_LIMIT:
            text = LS_TRUNCATED + text
        return with_meta(outcome, text)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def render_tree(cwd: str, paths: list[str]) -> str:
    """Claude Code's tree of ``paths`` (relative to ``cwd``; directories end in ``/``)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = [part for part in path.split("/") if part]
        for depth, part in enumerate(parts):
            is_dir = depth < len(parts) - 1 or path.endswith("/")
            node = node.setdefault(part + ("/" if is_dir else ""), {})
    lines = [f"- {cwd.rstrip('/')}/"]

    def walk(nodes: dict[str, Any], indent: str) -> None:
        for label, children in nodes.items():
            lines.append(f"{indent}- {label}")
            walk(children, indent + "  ")

    walk(tree, "  ")
    return "\n".join(lines)


def ls_tree_paths(shown: str) -> tuple[str, list[str]] | None:
    """The working directory and the absolute paths (directories ending in ``/``) of an ``LS``
    result, or None when it is not one."""
    lines = [line for line in shown.split("\n") if line.strip()]
    if not lines or not lines[0].startswith("- /"):
        return None
    root = lines[0][2:].rstrip("/")
    stack: list[str] = []
    paths = []
    for line in lines[1:]:
        stripped = line.lstrip(" ")
        if not stripped.startswith("- "):
            continue
        depth = (len(line) - len(stripped)) // 2 - 1
        del stack[max(depth, 0) :]
        label = stripped[2:]
        stack.append(label.rstrip("/"))
        paths.append(root + "/" + "/".join(stack) + ("/" if label.endswith("/") else ""))
    return root or "/", paths


def describe_ls(name: str, arguments: dict[str, Any]) -> CallFacts:
    """A listing of the code: a search of the tree under ``path``."""
    path = str(arguments.get("path") or "")
    return CallFacts(
        canonical="shell",
        kinds=["search"],
        changes_state=False,
        paths=[path] if path else [],
        scope="code",
        summary=f"{name} {clip(path, 100)}",
    )
