"""The canonical tools: shell, editor, read_file, write_file (on both sandbox backends),
calculator, browser, and the tool registry.

Commands name sandbox paths only relatively: the local backend has no isolation, and an absolute
path in a command would reach this machine's own files. File tools map absolute sandbox paths on
both backends, so they use them.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from understudy.errors import (
    ConfigError,
    EditorError,
    InvalidToolArgumentsError,
    ToolFileNotFoundError,
    ToolUnavailableError,
)
from understudy.protocols import Sandbox
from understudy.sandbox.output import TRUNCATION_MARKER
from understudy.tools import LIVE_TOOL_NAMES, TOOL_NAMES, get_tool, make_tool
from understudy.tools.base import ToolOutcome
from understudy.tools.calculator import MAX_EXPRESSION_CHARS, evaluate
from understudy.tools.common import cap_output

if TYPE_CHECKING:
    from conftest import SandboxFactory

MARKER_TEXT = TRUNCATION_MARKER.split("{omitted}")[1].split("(")[0]
"""A fixed piece of the truncation marker (" bytes of output omitted ")."""


async def run(name: str, sandbox: Sandbox | None, **arguments: Any) -> ToolOutcome:
    return await get_tool(name).run(arguments, sandbox)


# -- registry ----------------------------------------------------------------------------------


def test_registry_names_every_canonical_tool() -> None:
    assert set(TOOL_NAMES) == {
        "shell",
        "editor",
        "read_file",
        "write_file",
        "calculator",
        "browser",
        "note",
        "apply_patch",
    }
    for name in TOOL_NAMES:
        tool = get_tool(name)
        assert tool.name == name and callable(tool.run)
        assert isinstance(tool.read_only, bool) and isinstance(tool.needs_sandbox, bool)
        assert get_tool(name) is tool  # shared, so the editor's undo history survives
        jsonschema.Draft202012Validator.check_schema(type(tool).parameters)  # type: ignore[attr-defined]


def test_unknown_tool_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown tool 'shel'.*calculator, editor"):
        get_tool("shel")


def test_live_tools() -> None:
    assert set(TOOL_NAMES) - LIVE_TOOL_NAMES == {"browser"}


def test_dotted_path_and_settings() -> None:
    tool = get_tool("understudy.tools.calculator:CalculatorTool")
    assert tool.name == "calculator"
    assert make_tool("shell", output_limit=2048).output_limit == 2048  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="at least"):
        make_tool("editor", output_limit=10)


def test_cap_output_keeps_head_and_tail_with_the_marker() -> None:
    assert cap_output("short", 1024) == ("short", False)
    text = "HEAD" + "x" * 5000 + "TAIL"
    capped, cut = cap_output(text, 1024)
    assert cut and capped.startswith("HEAD") and capped.endswith("TAIL")
    assert MARKER_TEXT in capped and len(capped.encode()) < 1200


# -- shell -------------------------------------------------------------------------------------


async def test_shell_output_and_exit_code(sandbox: Sandbox) -> None:
    outcome = await run("shell", sandbox, command="echo out; echo err >&2; exit 3")
    assert outcome.content == "out\nerr\n"
    assert not outcome.is_error  # a failing command is a result, not an error
    meta = outcome.meta
    assert meta["exit_code"] == 3 and not meta["timed_out"] and not meta["truncated"]
    assert meta["output_bytes"] == 8 and meta["duration_s"] >= 0
    assert meta["cwd"] == "/workspace"


async def test_shell_workdir(sandbox: Sandbox) -> None:
    await run("write_file", sandbox, path="/workspace/sub/f.txt", content="x")
    outcome = await run("shell", sandbox, command="ls", workdir="sub")
    assert outcome.content == "f.txt\n"
    assert outcome.meta["cwd"] == "/workspace/sub"


async def test_shell_timeout_is_a_result_with_partial_output(sandbox: Sandbox) -> None:
    outcome = await run("shell", sandbox, command="echo started; sleep 20", timeout=1)
    assert outcome.is_error
    assert outcome.meta["timed_out"] and outcome.meta["exit_code"] == 124
    assert outcome.meta["timeout_s"] == 1
    assert outcome.content.startswith("started\n")
    assert outcome.content.endswith("killed after 1 s: it ran past its timeout]")
    assert outcome.meta["duration_s"] < 10


async def test_shell_output_is_capped_with_a_visible_marker(sandbox: Sandbox) -> None:
    tool = make_tool("shell", output_limit=1024)
    outcome = await tool.run({"command": "printf 'A%.0s' $(seq 5000); printf END"}, sandbox)
    assert outcome.meta["truncated"] and outcome.meta["output_bytes"] == 5003
    assert MARKER_TEXT in outcome.content
    assert outcome.content.startswith("AAAA") and outcome.content.endswith("END")
    assert len(outcome.content.encode()) < 1200


async def test_persistent_shell_keeps_cwd_and_exports(sandbox: Sandbox) -> None:
    await run("write_file", sandbox, path="/workspace/deep/er/f", content="")
    first = await run(
        "shell", sandbox, command="cd deep && export TOKEN=abc && echo set", persistent=True
    )
    assert first.content == "set\n"  # the state trailer is not shown
    assert first.meta["cwd"].endswith("/workspace/deep")
    second = await run("shell", sandbox, command="pwd; echo $TOKEN; exit 4", persistent=True)
    lines = second.content.splitlines()
    assert lines[0].endswith("/workspace/deep") and lines[1] == "abc"
    assert second.meta["exit_code"] == 4  # an explicit exit still saves the state
    third = await run("shell", sandbox, command="cd er && pwd", persistent=True)
    assert third.content.strip().endswith("/workspace/deep/er")
    # A call that is not persistent starts fresh.
    fresh = await run("shell", sandbox, command='pwd; echo "[$TOKEN]"')
    assert fresh.content.splitlines()[0].endswith("/workspace")
    assert fresh.content.splitlines()[1] == "[]"
    # An explicit workdir wins over the saved directory; exports still carry over.
    located = await run("shell", sandbox, command="pwd; echo $TOKEN", workdir=".", persistent=True)
    assert located.content.splitlines()[0].endswith("/workspace")
    assert located.content.splitlines()[1] == "abc"


async def test_persistent_shell_state_survives_a_snapshot(sandbox_factory: SandboxFactory) -> None:
    first = await sandbox_factory.start()
    await run("write_file", first, path="/workspace/sub/f", content="")
    await run("shell", first, command="cd sub; export LEVEL=7", persistent=True)
    second = await sandbox_factory.start(image=await sandbox_factory.snapshot(first))
    outcome = await run("shell", second, command="ls; echo $LEVEL", persistent=True)
    assert outcome.content == "f\n7\n"


async def test_shell_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidToolArgumentsError, match="'command' is a required property"):
        await run("shell", None)
    with pytest.raises(InvalidToolArgumentsError, match="timeout"):
        await get_tool("shell").run({"command": "ls", "timeout": -1}, None)
    with pytest.raises(InvalidToolArgumentsError, match="Additional properties"):
        await get_tool("shell").run({"command": "ls", "cwd": "/"}, None)


# -- editor ------------------------------------------------------------------------------------

SOURCE = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"


async def test_editor_create_and_view(sandbox: Sandbox) -> None:
    created = await run(
        "editor", sandbox, command="create", path="/workspace/m.py", file_text=SOURCE
    )
    assert created.content == "File created successfully at: /workspace/m.py"
    assert created.meta["files_changed"] == ["/workspace/m.py"]
    assert await sandbox.read_file("/workspace/m.py") == SOURCE.encode()

    view = await run("editor", sandbox, command="view", path="/workspace/m.py")
    assert view.content == (
        "Here's the result of running `cat -n` on /workspace/m.py:\n"
        "     1\tdef add(a, b):\n     2\t    return a - b\n     3\t\n     4\t\n"
        "     5\tdef sub(a, b):\n     6\t    return a - b\n     7\t\n"
    )
    ranged = await run(
        "editor", sandbox, command="view", path="/workspace/m.py", view_range=[5, -1]
    )
    assert ranged.content.splitlines()[1:] == [
        "     5\tdef sub(a, b):",
        "     6\t    return a - b",
        "     7\t",
    ]
    middle = await run("editor", sandbox, command="view", path="m.py", view_range=[2, 2])
    assert middle.content.splitlines()[1:] == ["     2\t    return a - b"]

    with pytest.raises(
        EditorError, match=r"File already exists at: /workspace/m\.py\. Cannot overwrite"
    ):
        await run("editor", sandbox, command="create", path="/workspace/m.py", file_text="x")
    with pytest.raises(EditorError, match=r"Invalid `view_range`: \[0, 2\]. Its first element"):
        await run("editor", sandbox, command="view", path="/workspace/m.py", view_range=[0, 2])
    with pytest.raises(EditorError, match="should be smaller than the number of lines"):
        await run("editor", sandbox, command="view", path="/workspace/m.py", view_range=[1, 99])
    with pytest.raises(EditorError, match="should be larger or equal than its first"):
        await run("editor", sandbox, command="view", path="/workspace/m.py", view_range=[3, 2])


async def test_editor_views_a_directory_two_levels_deep(sandbox: Sandbox) -> None:
    for path in ("pkg/a.py", "pkg/sub/b.py", "pkg/sub/deeper/c.py", "pkg/.hidden/d.py", "top.txt"):
        await sandbox.write_file(f"/workspace/{path}", b"")
    outcome = await run("editor", sandbox, command="view", path="/workspace")
    assert outcome.content == (
        "Here's the files and directories up to 2 levels deep in /workspace, excluding hidden "
        "items:\n/workspace\n/workspace/pkg\n/workspace/pkg/a.py\n/workspace/pkg/sub\n"
        "/workspace/top.txt\n"
    )
    sub = await run("editor", sandbox, command="view", path="/workspace/pkg/")
    assert "/workspace/pkg/sub/deeper\n" in sub.content and "c.py" not in sub.content
    with pytest.raises(InvalidToolArgumentsError, match="not allowed when `path` points to a dir"):
        await run("editor", sandbox, command="view", path="/workspace", view_range=[1, 2])
    with pytest.raises(EditorError, match="is a directory and only the `view` command"):
        await run("editor", sandbox, command="str_replace", path="/workspace/pkg", old_str="x")


async def test_editor_str_replace(sandbox: Sandbox) -> None:
    await sandbox.write_file("/workspace/m.py", SOURCE.encode())
    outcome = await run(
        "editor",
        sandbox,
        command="str_replace",
        path="/workspace/m.py",
        old_str="def add(a, b):\n    return a - b",
        new_str="def add(a, b):\n    return a + b",
    )
    assert (
        await sandbox.read_file("/workspace/m.py") == SOURCE.replace("a - b", "a + b", 1).encode()
    )
    assert outcome.content == (
        "The file /workspace/m.py has been edited. Here's the result of running `cat -n` on a "
        "snippet of /workspace/m.py:\n     1\tdef add(a, b):\n     2\t    return a + b\n     3\t\n"
        "     4\t\n     5\tdef sub(a, b):\n     6\t    return a - b\n"
        "Review the changes and make sure they are as expected. Edit the file again if necessary."
    )
    assert outcome.meta["files_changed"] == ["/workspace/m.py"] and not outcome.is_error

    with pytest.raises(EditorError) as missing:
        await run("editor", sandbox, command="str_replace", path="/workspace/m.py", old_str="nope")
    assert str(missing.value) == (
        "No replacement was performed, old_str `nope` did not appear verbatim in /workspace/m.py."
    )
    with pytest.raises(EditorError) as several:
        await run("editor", sandbox, command="str_replace", path="/workspace/m.py", old_str="b):")
    assert str(several.value) == (
        "No replacement was performed. Multiple occurrences of old_str `b):` in lines [1, 5]. "
        "Please ensure it is unique"
    )
    with pytest.raises(ToolFileNotFoundError, match=r"The path /workspace/no\.py does not exist"):
        await run("editor", sandbox, command="str_replace", path="/workspace/no.py", old_str="x")
    with pytest.raises(InvalidToolArgumentsError, match="`old_str` is required"):
        await run("editor", sandbox, command="str_replace", path="/workspace/m.py")

    everywhere = await run(
        "editor",
        sandbox,
        command="str_replace",
        path="m.py",
        old_str="(a, b)",
        new_str="(x, y)",
        replace_all=True,
    )
    assert everywhere.meta["replacements"] == 2
    assert (await sandbox.read_file("/workspace/m.py")).count(b"(x, y)") == 2


async def test_editor_str_replace_edits_are_all_or_nothing(sandbox: Sandbox) -> None:
    await sandbox.write_file("/workspace/m.py", SOURCE.encode())
    with pytest.raises(EditorError, match="old_str `missing`"):
        await run(
            "editor",
            sandbox,
            command="str_replace",
            path="/workspace/m.py",
            edits=[{"old_str": "add", "new_str": "plus"}, {"old_str": "missing", "new_str": ""}],
        )
    assert await sandbox.read_file("/workspace/m.py") == SOURCE.encode()
    await run(
        "editor",
        sandbox,
        command="str_replace",
        path="/workspace/m.py",
        edits=[{"old_str": "add", "new_str": "plus"}, {"old_str": "sub", "new_str": "minus"}],
    )
    text = (await sandbox.read_file("/workspace/m.py")).decode()
    assert "def plus" in text and "def minus" in text


async def test_editor_insert_and_undo(sandbox: Sandbox) -> None:
    await sandbox.write_file("/workspace/l.txt", b"one\ntwo\nthree")
    top = await run(
        "editor", sandbox, command="insert", path="/workspace/l.txt", insert_line=0, new_str="zero"
    )
    assert await sandbox.read_file("/workspace/l.txt") == b"zero\none\ntwo\nthree"
    assert top.content.splitlines()[1:5] == [
        "     1\tzero",
        "     2\tone",
        "     3\ttwo",
        "     4\tthree",
    ]
    assert top.content.endswith("Edit the file again if necessary.")
    await run(
        "editor",
        sandbox,
        command="insert",
        path="/workspace/l.txt",
        insert_line=4,
        new_str="four\nfive",
    )
    assert await sandbox.read_file("/workspace/l.txt") == b"zero\none\ntwo\nthree\nfour\nfive"
    with pytest.raises(EditorError) as bad:
        await run(
            "editor", sandbox, command="insert", path="/workspace/l.txt", insert_line=9, new_str="x"
        )
    assert str(bad.value) == (
        "Invalid `insert_line` parameter: 9. It should be within the range of lines of the "
        "file: [0, 6]"
    )
    undone = await run("editor", sandbox, command="undo_edit", path="/workspace/l.txt")
    assert undone.content.startswith("Last edit to /workspace/l.txt undone successfully.")
    assert await sandbox.read_file("/workspace/l.txt") == b"zero\none\ntwo\nthree"
    await run("editor", sandbox, command="undo_edit", path="/workspace/l.txt")
    assert await sandbox.read_file("/workspace/l.txt") == b"one\ntwo\nthree"
    with pytest.raises(EditorError, match=r"No edit history found for /workspace/l\.txt\."):
        await run("editor", sandbox, command="undo_edit", path="/workspace/l.txt")


async def test_editor_forgets_the_oldest_histories(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("understudy.tools.files.MAX_UNDO_FILES", 2)
    editor = make_tool("editor")
    for name in ("a", "b", "c"):
        await editor.run(
            {"command": "create", "path": f"/workspace/{name}", "file_text": name}, sandbox
        )
    with pytest.raises(EditorError, match="No edit history found for /workspace/a"):
        await editor.run({"command": "undo_edit", "path": "/workspace/a"}, sandbox)
    await editor.run({"command": "undo_edit", "path": "/workspace/c"}, sandbox)
    assert await sandbox.read_file("/workspace/c") == b""


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"\x7fELF\x00\x01\x02", "binary file"), (b"caf\xe9 latin-1\n", "not a UTF-8 text file")],
)
async def test_file_tools_refuse_binary_files(sandbox: Sandbox, data: bytes, reason: str) -> None:
    await sandbox.write_file("/workspace/blob", data)
    for command, extra in (("view", {}), ("str_replace", {"old_str": "x"})):
        with pytest.raises(EditorError, match=reason):
            await run("editor", sandbox, command=command, path="/workspace/blob", **extra)
    with pytest.raises(EditorError, match=reason):
        await run("read_file", sandbox, path="/workspace/blob")
    assert await sandbox.read_file("/workspace/blob") == data  # untouched


async def test_editor_view_of_a_missing_path(sandbox: Sandbox) -> None:
    with pytest.raises(ToolFileNotFoundError) as missing:
        await run("editor", sandbox, command="view", path="/workspace/ghost.py")
    assert (
        str(missing.value)
        == "The path /workspace/ghost.py does not exist. Please provide a valid path."
    )


async def test_editor_output_is_capped(sandbox: Sandbox) -> None:
    await sandbox.write_file(
        "/workspace/big.txt", "".join(f"line {i}\n" for i in range(3000)).encode()
    )
    outcome = await make_tool("editor", output_limit=2048).run(
        {"command": "view", "path": "/workspace/big.txt"}, sandbox
    )
    assert outcome.meta["truncated"] and MARKER_TEXT in outcome.content
    assert outcome.content.startswith("Here's the result") and outcome.content.endswith("\t\n")


# -- read_file / write_file --------------------------------------------------------------------


async def test_write_then_read(sandbox: Sandbox) -> None:
    created = await run(
        "write_file", sandbox, path="/workspace/new/dir/f.txt", content="a\nb\nc\nd\n"
    )
    assert created.content == "File created successfully at: /workspace/new/dir/f.txt"
    assert created.meta == {
        "path": "/workspace/new/dir/f.txt",
        "files_changed": ["/workspace/new/dir/f.txt"],
        "created": True,
        "bytes": 8,
    }
    again = await run("write_file", sandbox, path="new/dir/f.txt", content="a\nb\nc\nd\n")
    assert again.meta["created"] is False

    whole = await run("read_file", sandbox, path="/workspace/new/dir/f.txt")
    assert whole.content == "a\nb\nc\nd\n" and whole.meta["total_lines"] == 5
    part = await run("read_file", sandbox, path="new/dir/f.txt", offset=2, limit=2, numbered=True)
    assert part.content == "     2\tb\n     3\tc"
    assert part.meta["start_line"] == 2 and part.meta["lines_returned"] == 2
    past = await run("read_file", sandbox, path="new/dir/f.txt", offset=50)
    assert past.content == "" and past.meta["lines_returned"] == 0

    with pytest.raises(ToolFileNotFoundError):
        await run("read_file", sandbox, path="/workspace/none.txt")
    with pytest.raises(EditorError, match="is a directory"):
        await run("write_file", sandbox, path="/workspace/new", content="x")
    with pytest.raises(InvalidToolArgumentsError, match="minimum of 1"):
        await run("read_file", sandbox, path="f.txt", offset=0)


# -- calculator --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 3 ** 2", 512),
        ("-2 ** 2", -4),
        ("(-2) ** 2", 4),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("2 ** -1", 0.5),
        ("+5 - -5", 10),
        ("1.5e3 + 0.5", 1500.5),
        ("sqrt(16) + abs(-3)", 7.0),
        ("round(2.675, 2)", 2.67),
        ("round(7.5)", 8),
        ("max(1, 5, 3) - min(4, 2)", 3),
        ("log(e)", 1.0),
        ("log(8, 2)", 3.0),
        ("exp(0) + cos(0) + sin(0) + tan(0)", 2.0),
        ("2 * pi", 2 * math.pi),
        ("10 ** 100", 10**100),
    ],
)
async def test_calculator_values(expression: str, value: float) -> None:
    assert evaluate(expression) == pytest.approx(value)
    outcome = await run("calculator", None, expression=expression)
    assert not outcome.is_error
    assert outcome.content == (str(value) if isinstance(value, int) else repr(evaluate(expression)))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('id')", "calling the result of attribute access"),
        ("(1).real", "attribute access is not allowed"),
        ("().__class__", "attribute access is not allowed"),
        ("x + 1", "unknown name 'x'"),
        ("open('f')", "unknown function 'open'"),
        ("[1, 2][0]", "subscripting is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("'a' * 3", "only numbers are allowed"),
        ("True + 1", "only numbers are allowed"),
        ("1 < 2", "Compare is not allowed"),
        ("2 ^ 3", "use \\*\\* for powers"),
        ("9 ** 9 ** 9", "exponent 387420489 is too large"),
        ("2 ** 100000", "exponent 100000 is too large"),
        ("7 ** 5000", "too large"),
        ("10.0 ** 400", "too large"),
        ("(10 ** 3000) * (10 ** 3000)", "too large"),
        ("exp(1000)", "too large"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("sqrt(-1)", "math domain error"),
        ("(-8) ** 0.5", "not a real number"),
        ("max()", "cannot evaluate"),
        ("round(1.5, 0.5)", "whole number of digits"),
        ("max(x=1)", "no keyword arguments"),
        ("1 +", "invalid expression"),
        ("", "empty"),
        ("-" * 998 + "1", "too deeply nested"),
        ("(" * 400 + "1" + ")" * 400, "too many nested parentheses"),
    ],
)
async def test_calculator_refuses(expression: str, message: str) -> None:
    with pytest.raises(InvalidToolArgumentsError, match=message):
        await run("calculator", None, expression=expression)


async def test_calculator_limits_expression_length() -> None:
    with pytest.raises(InvalidToolArgumentsError, match="too long"):
        evaluate("1+" * MAX_EXPRESSION_CHARS + "1")
    with pytest.raises(InvalidToolArgumentsError, match="is too long"):
        await run("calculator", None, expression="1" * (MAX_EXPRESSION_CHARS + 1))


async def test_calculator_needs_no_sandbox() -> None:
    tool = get_tool("calculator")
    assert not tool.needs_sandbox and tool.read_only
    outcome = await tool.run({"expression": "6 * 7"}, None)
    assert outcome.content == "42" and outcome.meta == {"value": 42}
    json.dumps(outcome.meta)


# -- browser -----------------------------------------------------------------------------------


async def test_browser_is_never_live() -> None:
    browser = get_tool("browser")
    assert not browser.needs_sandbox
    with pytest.raises(ToolUnavailableError) as unavailable:
        await browser.run({"action": "search", "query": "python asyncio"}, None)
    assert str(unavailable.value) == (
        "the browser has no live implementation; served by replay or simulation"
    )
    with pytest.raises(InvalidToolArgumentsError, match="'url' is a required property"):
        await browser.run({"action": "open"}, None)
    with pytest.raises(InvalidToolArgumentsError, match="is not one of"):
        await browser.run({"action": "click"}, None)
