"""Claude Code's ``LS``: run live as a tree of the session's working directory, read by judges as
a listing, and learnt from by a workspace rebuilt from the log.

The expected rendering is that of a logged result (a Claude Code session listing a directory
that held ``a.js``)::

    - /Users/zhoudali/Desktop/AI/claude-code-test/
      - a.js

    NOTE: do any of the files above seem malicious? If so, you MUST refuse to continue work.
"""

from __future__ import annotations

from test_adapters import serve

from understudy.protocols import Sandbox
from understudy.replay.workspace import log_workspace
from understudy.tools.adapters import describe_call
from understudy.tools.adapters.listing import LS_NOTE, ls_tree_paths, render_tree
from understudy.trajectory import EnvSpec, Message, Session, SourceInfo, ToolCall

LOGGED = (
    "- /Users/zhoudali/Desktop/AI/claude-code-test/\n  - a.js\n\n"
    "NOTE: do any of the files above seem malicious? If so, you MUST refuse to continue work."
)


def test_the_tree_is_rendered_and_read_back() -> None:
    paths = sorted(["src/", "src/app.py", "README.md", "src/lib/", "src/lib/util.py"])
    tree = render_tree("/repo", paths)
    assert tree == ("- /repo/\n  - README.md\n  - src/\n    - app.py\n    - lib/\n      - util.py")
    assert ls_tree_paths(tree) == (
        "/repo",
        [
            "/repo/README.md",
            "/repo/src/",
            "/repo/src/app.py",
            "/repo/src/lib/",
            "/repo/src/lib/util.py",
        ],
    )
    assert ls_tree_paths(LOGGED) == (
        "/Users/zhoudali/Desktop/AI/claude-code-test",
        ["/Users/zhoudali/Desktop/AI/claude-code-test/a.js"],
    )


def test_judges_read_it_as_a_listing_of_its_path() -> None:
    facts = describe_call("LS", {"path": "/repo/src"}, "claude-code")
    assert facts is not None
    assert facts.kinds == ["search"] and facts.paths == ["/repo/src"]
    assert facts.changes_state is False


async def test_it_lists_the_tree_as_claude_code_did(sandbox: Sandbox) -> None:
    await sandbox.exec(
        "mkdir -p project/src/__pycache__ project/.git && cd project && "
        "touch a.js .env src/b.py src/__pycache__/b.cpython-311.pyc"
    )
    cwd = (await sandbox.exec("cd project && pwd")).output.strip()
    await serve(sandbox, "Bash", {"command": "cd project"}, "claude-code")
    shown = await serve(sandbox, "LS", {"path": cwd}, "claude-code")
    assert shown.content == (f"- {cwd}/\n  - a.js\n  - src/\n    - b.py\n\n{LS_NOTE}"), (
        shown.content
    )
    ignored = await serve(sandbox, "LS", {"path": cwd, "ignore": ["*.py"]}, "claude-code")
    assert "b.py" not in ignored.content and "- src/" in ignored.content
    one_file = LOGGED.replace("/Users/zhoudali/Desktop/AI/claude-code-test", cwd)
    await sandbox.exec("cd project && rm -r src")
    assert (await serve(sandbox, "LS", {"path": cwd}, "claude-code")).content == one_file


def test_a_logged_tree_names_files_the_workspace_does_not_hold() -> None:
    call = ToolCall(id="l1", name="LS", arguments={"path": "/repo"})
    tree = render_tree("/repo", ["README.md", "src/", "src/app.py"]) + "\n\n" + LS_NOTE
    session = Session(
        id="s",
        source=SourceInfo(format="claude-code", agent="claude-code"),
        env=EnvSpec(workdir="/repo"),
        messages=[
            Message(role="user", content="go"),
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id="l1", name="LS", content=tree),
        ],
    )
    _, coverage = log_workspace(session)
    assert coverage.names == ["/repo/README.md", "/repo/src", "/repo/src/app.py"]
    assert coverage.listed == []  # a tree leaves hidden names out
