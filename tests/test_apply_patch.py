"""Codex's ``apply_patch``: the envelope parser, the canonical tool in a sandbox, the adapters.

The wording under test is Codex CLI's: ``codex-rs/apply-patch`` (``parser.rs``, ``lib.rs``,
``seek_sequence.rs``) and ``codex-rs/core``'s ``apply_patch verification failed: {error}`` in
openai/codex. The rendering is compared with a real Codex CLI 0.40.0 rollout: jnarowski/agentcmd
@ 9ce12c67, packages/agent-cli-sdk/tests/fixtures/codex/full/
rollout-2025-09-24T19-22-20-01997e76-d124-7592-9cac-2ec05abbca08.jsonl (the shared Codex sample of
tests/data/trajectories is another session of that fixture set).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import InvalidToolArgumentsError, ToolCallError
from understudy.jsonl import read_models, write_models
from understudy.protocols import Sandbox
from understudy.replay.demo import make_repo
from understudy.tools import TOOL_NAMES, get_tool
from understudy.tools.adapters import describe_call, find_adapter, is_read_only
from understudy.tools.adapters.base import BaseAdapter
from understudy.tools.adapters.describers import describe_patch
from understudy.tools.adapters.patch import CodexApplyPatchAdapter
from understudy.tools.adapters.shell import CodexShellAdapter
from understudy.tools.base import CanonicalCall, ToolOutcome
from understudy.tools.patch import ApplyPatchTool, PatchError
from understudy.tools.patch_format import (
    AddFile,
    Chunk,
    DeleteFile,
    PatchApplyError,
    PatchInvocation,
    PatchParseError,
    UpdateFile,
    parse_patch,
    patch_invocation,
    seek_sequence,
    summary,
    updated_text,
)
from understudy.trajectory import RepoSpec, Session

# The last apply_patch call of the Codex CLI 0.40.0 rollout named above (line 734) and the
# function_call_output Codex recorded for it (line 735), verbatim.
RECORDED_ARGUMENTS = (
    '{"command":["bash","-lc","apply_patch <<\'PATCH\'\\n*** Begin Patch\\n*** Update File: '
    "apps/spectora-labs/src/domain/teams/services/getTeamsWithStats.ts\\n@@\\n-import { ok, err } "
    'from \\"@repo/result\\";\\n+import { ok, err, type Result } from \\"@repo/result\\";\\n*** '
    'End Patch\\nPATCH\\n"]}'
)
RECORDED_OUTPUT = (
    '{"output":"Success. Updated the following files:\\nM apps/spectora-labs/src/domain/teams/'
    'services/getTeamsWithStats.ts\\n","metadata":{"exit_code":0,"duration_seconds":0.0}}'
)
RECORDED_FILE = "apps/spectora-labs/src/domain/teams/services/getTeamsWithStats.ts"


def envelope(*lines: str) -> str:
    return "\n".join(["*** Begin Patch", *lines, "*** End Patch"])


def update(original: str, *lines: str) -> str:
    (hunk,) = parse_patch(envelope("*** Update File: f.txt", *lines))
    assert isinstance(hunk, UpdateFile)
    return updated_text(original, hunk.chunks, "/w/f.txt")


# -- the envelope ----------------------------------------------------------------------------------


def test_parse_add_delete_update_and_move() -> None:
    # Codex's own example (parser.rs, test_parse_patch).
    hunks = parse_patch(
        envelope(
            "*** Add File: path/add.py",
            "+abc",
            "+def",
            "*** Delete File: path/delete.py",
            "*** Update File: path/update.py",
            "*** Move to: path/update2.py",
            "@@ def f():",
            "-    pass",
            "+    return 123",
        )
    )
    assert hunks == [
        AddFile("path/add.py", "abc\ndef\n"),
        DeleteFile("path/delete.py"),
        UpdateFile(
            "path/update.py",
            "path/update2.py",
            [Chunk("def f():", ["    pass"], ["    return 123"])],
        ),
    ]


def test_parse_is_lenient_where_codex_is() -> None:
    # The first chunk may omit its @@; markers may carry whitespace; a heredoc around the
    # envelope (a model's argv ["apply_patch", "<<'EOF'\n...EOF\n"]) is taken off.
    assert parse_patch(envelope("*** Update File: file2.py", " import foo", "+bar")) == [
        UpdateFile("file2.py", None, [Chunk(None, ["import foo"], ["import foo", "bar"])])
    ]
    padded = "  *** Begin Patch \n*** Add File: foo\n+hi\n *** End Patch  \n"
    assert parse_patch(padded) == [AddFile("foo", "hi\n")]
    wrapped = "<<'EOF'\n" + envelope("*** Add File: foo", "+hi") + "\nEOF\n"
    assert parse_patch(wrapped) == [AddFile("foo", "hi\n")]
    assert parse_patch(envelope()) == []
    (hunk,) = parse_patch(envelope("*** Update File: f", "@@", "-a", "+b", "*** End of File"))
    assert isinstance(hunk, UpdateFile) and hunk.chunks[0].end_of_file


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("bad", "invalid patch: The first line of the patch must be '*** Begin Patch'"),
        ("", "invalid patch: The last line of the patch must be '*** End Patch'"),
        (
            "*** Begin Patch\nbad",
            "invalid patch: The last line of the patch must be '*** End Patch'",
        ),
        (
            envelope("*** Update File: test.py"),
            "invalid hunk at line 2, Update file hunk for path 'test.py' is empty",
        ),
        (
            envelope("*** Frobnicate File: foo"),
            "invalid hunk at line 2, '*** Frobnicate File: foo' is not a valid hunk header. Valid "
            "hunk headers: '*** Add File: {path}', '*** Delete File: {path}', "
            "'*** Update File: {path}'",
        ),
        (
            envelope("*** Update File: a", "@@", "oops"),
            "invalid hunk at line 4, Unexpected line found in update hunk: 'oops'. Every line "
            "should start with ' ' (context line), '+' (added line), or '-' (removed line)",
        ),
        (
            envelope("*** Update File: a", "@@", "-x", "+y", "nope"),
            "invalid hunk at line 6, Expected update hunk to start with a @@ context marker, got: "
            "'nope'",
        ),
        (
            envelope("*** Update File: a", "@@", "*** End of File"),
            "invalid hunk at line 4, Update hunk does not contain any lines",
        ),
    ],
)
def test_invalid_envelopes_fail_with_codex_wording(patch: str, message: str) -> None:
    with pytest.raises(PatchParseError) as raised:
        parse_patch(patch)
    assert str(raised.value) == message


# -- working out the new text ----------------------------------------------------------------------


def test_update_with_context_and_several_chunks() -> None:
    assert update(
        "foo\nbar\nbaz\nqux\n", "@@", " foo", "-bar", "+BAR", "@@", " baz", "-qux", "+QUX"
    ) == ("foo\nBAR\nbaz\nQUX\n")
    # An @@ anchor picks the occurrence after it.
    source = "def f():\n    pass\n\ndef g():\n    pass\n"
    assert update(source, "@@ def g():", "-    pass", "+    return 1") == (
        "def f():\n    pass\n\ndef g():\n    return 1\n"
    )


def test_pure_addition_end_of_file_and_final_newline() -> None:
    # Codex's scenarios 016 (a chunk of only "+" lines goes at the end), 022 (*** End of File)
    # and 014 (the result always ends with a newline).
    assert update("line1\nline2\n", "@@", "+added line 1", "+added line 2") == (
        "line1\nline2\nadded line 1\nadded line 2\n"
    )
    eof = update(
        "x\nsecond\nfirst\nsecond\n", "@@", "-second", "+second updated", "*** End of File"
    )
    assert eof == "x\nsecond\nfirst\nsecond updated\n"
    assert update("no newline", "@@", "-no newline", "+now one") == "now one\n"


def test_old_lines_are_found_with_codex_fuzz() -> None:
    lines = ["foo   ", "    bar\t", "a \u2013 b \u201cq\u201d"]
    assert seek_sequence(lines, ["foo"], 0, False) == 0  # trailing whitespace
    assert seek_sequence(lines, ["bar"], 0, False) == 1  # surrounding whitespace
    assert seek_sequence(lines, ['a - b "q"'], 0, False) == 2  # typographic punctuation
    assert seek_sequence(lines, ["missing"], 0, False) is None
    assert seek_sequence(["a", "b", "a"], ["a"], 0, True) == 2  # from the end first
    assert update("  x = 1  \n", "@@", "-x = 1", "+x = 2") == "x = 2\n"


def test_unmatched_lines_and_context_fail_with_codex_wording() -> None:
    with pytest.raises(PatchApplyError) as lines:
        update("a\nb\n", "@@", " a", "-c", "+d")
    assert str(lines.value) == "Failed to find expected lines in /w/f.txt:\na\nc"
    with pytest.raises(PatchApplyError) as context:
        update("a\nb\n", "@@ def nowhere():", "-a", "+b")
    assert str(context.value) == "Failed to find context 'def nowhere():' in /w/f.txt"


def test_summary_lists_added_modified_deleted() -> None:
    assert summary(["n.txt"], ["m.txt", "moved/to.txt"], ["d.txt"]) == (
        "Success. Updated the following files:\nA n.txt\nM m.txt\nM moved/to.txt\nD d.txt\n"
    )


@pytest.mark.parametrize(
    ("argv", "found"),
    [
        (["apply_patch", "*** Begin Patch"], PatchInvocation("*** Begin Patch")),
        (["applypatch", "P"], PatchInvocation("P")),
        (
            ["bash", "-lc", "apply_patch <<'PATCH'\n*** Begin Patch\n*** End Patch\nPATCH\n"],
            PatchInvocation("*** Begin Patch\n*** End Patch"),
        ),
        (["/bin/zsh", "-c", 'applypatch <<"EOF"\nP\nEOF'], PatchInvocation("P")),
        (
            ["bash", "-lc", "cd 'my dir' && apply_patch <<EOF\nP\nEOF"],
            PatchInvocation("P", "my dir"),
        ),
        (["bash", "-lc", "cd sub && apply_patch <<'EOF'\nP\nEOF"], PatchInvocation("P", "sub")),
        (["bash", "-lc", "echo hi && apply_patch <<'EOF'\nP\nEOF"], None),
        (["bash", "-lc", "apply_patch <<'EOF'\nP\nEOF\necho done"], None),
        (["bash", "-lc", "ls"], None),
        (["apply_patch"], None),
        ("apply_patch", None),
    ],
)
def test_patch_invocations_are_found_as_codex_found_them(
    argv: object, found: PatchInvocation | None
) -> None:
    assert patch_invocation(argv) == found


# -- the tool in a sandbox -------------------------------------------------------------------------


async def apply(sandbox: Sandbox, patch: str, **arguments: Any) -> ToolOutcome:
    return await ApplyPatchTool().run({"patch": patch, **arguments}, sandbox)


async def text(sandbox: Sandbox, path: str) -> str:
    return (await sandbox.read_file(path)).decode()


async def exists(sandbox: Sandbox, path: str) -> bool:
    return (await sandbox.exec(f"test -e {path}")).exit_code == 0


async def test_tool_adds_updates_deletes_and_moves(sandbox: Sandbox) -> None:
    await sandbox.write_file("/workspace/calc.py", b"def add(a, b):\n    return a - b\n")
    await sandbox.write_file("/workspace/old.txt", b"gone soon\n")
    await sandbox.write_file("/workspace/src/name.txt", b"line\n")
    outcome = await apply(
        sandbox,
        envelope(
            "*** Add File: docs/new/notes.md",
            "+# Notes",
            "+",
            "*** Update File: calc.py",
            "@@ def add(a, b):",
            "-    return a - b",
            "+    return a + b",
            "*** Delete File: old.txt",
            "*** Update File: src/name.txt",
            "*** Move to: renamed/dir/name.txt",
            "@@",
            "-line",
            "+line2",
        ),
    )
    assert outcome.content == (
        "Success. Updated the following files:\nA docs/new/notes.md\nM calc.py\n"
        "M renamed/dir/name.txt\nD old.txt\n"
    )
    assert not outcome.is_error and outcome.meta["exit_code"] == 0
    assert await text(sandbox, "/workspace/docs/new/notes.md") == "# Notes\n\n"
    assert await text(sandbox, "/workspace/calc.py") == "def add(a, b):\n    return a + b\n"
    assert await text(sandbox, "/workspace/renamed/dir/name.txt") == "line2\n"
    assert not await exists(sandbox, "old.txt") and not await exists(sandbox, "src/name.txt")
    assert "/workspace/calc.py" in outcome.meta["files_changed"]


async def test_tool_paths_start_at_workdir(sandbox: Sandbox) -> None:
    await sandbox.write_file("/workspace/pkg/mod.py", b"x = 1\n")
    outcome = await apply(
        sandbox, envelope("*** Update File: mod.py", "-x = 1", "+x = 2"), workdir="pkg"
    )
    assert outcome.content == "Success. Updated the following files:\nM mod.py\n"
    assert await text(sandbox, "/workspace/pkg/mod.py") == "x = 2\n"


async def test_a_failing_patch_changes_nothing(sandbox: Sandbox) -> None:
    await sandbox.write_file("/workspace/calc.py", b"def add(a, b):\n    return a - b\n")
    bad = envelope(
        "*** Add File: created.txt",
        "+never",
        "*** Update File: calc.py",
        "@@",
        "-    return a * b",
        "+    return a + b",
    )
    with pytest.raises(PatchError) as raised:
        await apply(sandbox, bad)
    assert str(raised.value) == (
        f"apply_patch verification failed: Failed to find expected lines in "
        f"{sandbox.workdir}/calc.py:\n    return a * b"
    )
    assert isinstance(raised.value, ToolCallError)
    assert not await exists(sandbox, "created.txt")
    assert await text(sandbox, "/workspace/calc.py") == "def add(a, b):\n    return a - b\n"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            envelope("*** Update File: missing.py", "@@", "-a", "+b"),
            "apply_patch verification failed: Failed to read file to update {w}/missing.py: "
            "No such file or directory (os error 2)",
        ),
        (
            envelope("*** Delete File: missing.py"),
            "apply_patch verification failed: Failed to read {w}/missing.py: "
            "No such file or directory (os error 2)",
        ),
        (
            envelope("*** Delete File: adir"),
            "apply_patch verification failed: Failed to read {w}/adir: "
            "Is a directory (os error 21)",
        ),
        (
            "*** Add File: x\n+y",
            "apply_patch verification failed: invalid patch: The first line of the patch must "
            "be '*** Begin Patch'",
        ),
    ],
)
async def test_refused_patches_have_codex_messages(
    sandbox: Sandbox, patch: str, message: str
) -> None:
    await sandbox.write_file("/workspace/adir/keep.txt", b"")
    with pytest.raises(PatchError) as raised:
        await apply(sandbox, patch)
    assert str(raised.value) == message.format(w=sandbox.workdir)


async def test_a_patch_without_hunks_modifies_nothing(sandbox: Sandbox) -> None:
    outcome = await apply(sandbox, envelope())
    assert (outcome.content, outcome.is_error, outcome.meta["exit_code"]) == (
        "No files were modified.\n",
        True,
        1,
    )


async def test_tool_arguments_are_checked() -> None:
    with pytest.raises(InvalidToolArgumentsError):
        await ApplyPatchTool().run({"input": "x"}, None)


# -- the adapters ----------------------------------------------------------------------------------


async def serve(
    sandbox: Sandbox, adapter: BaseAdapter, name: str, arguments: dict[str, Any]
) -> ToolOutcome:
    """What the router does with a live call: translate, run, render (errors rendered too)."""
    canonical = adapter.translate(name, arguments)
    assert canonical.tool == "apply_patch"
    try:
        outcome = await ApplyPatchTool().run(canonical.arguments, sandbox)
    except ToolCallError as error:
        outcome = ToolOutcome(
            content=str(error), is_error=True, meta={"error_type": type(error).__name__}
        )
    return adapter.render(name, arguments, outcome)


def test_codex_calls_translate_onto_apply_patch() -> None:
    adapter = CodexApplyPatchAdapter()
    patch = envelope("*** Add File: a", "+x")
    for arguments in ({"input": patch}, {"patch": patch}, {"command": ["apply_patch", patch]}):
        assert adapter.translate("apply_patch", arguments) == CanonicalCall(
            tool="apply_patch", arguments={"patch": patch}
        )
    assert adapter.translate("apply_patch", {"input": patch, "workdir": "/w"}).arguments == {
        "patch": patch,
        "workdir": "/w",
    }
    with pytest.raises(InvalidToolArgumentsError):
        adapter.translate("apply_patch", {"command": "ls"})
    shell = CodexShellAdapter()
    assert shell.translate("shell", json.loads(RECORDED_ARGUMENTS)).tool == "apply_patch"
    heredoc = f"cd pkg && apply_patch <<'EOF'\n{patch}\nEOF\n"
    assert shell.translate(
        "shell", {"command": ["bash", "-lc", heredoc], "workdir": "/repo"}
    ) == CanonicalCall(tool="apply_patch", arguments={"patch": patch, "workdir": "/repo/pkg"})
    assert shell.translate("shell", {"command": ["apply_patch", patch]}).arguments == {
        "patch": patch
    }
    assert shell.translate("shell", {"command": ["bash", "-lc", "ls"]}).tool == "shell"


def test_judges_read_apply_patch_as_before() -> None:
    arguments = {"input": envelope("*** Update File: a.py", "@@", "-x", "+y")}
    adapter = CodexApplyPatchAdapter()
    assert adapter.describe("apply_patch", arguments) == describe_patch("apply_patch", arguments)
    assert describe_call("apply_patch", arguments) == describe_patch("apply_patch", arguments)
    assert not adapter.read_only("apply_patch", arguments)


def test_apply_patch_is_registered() -> None:
    assert "apply_patch" in TOOL_NAMES
    tool = get_tool("apply_patch")
    assert (tool.name, tool.read_only, tool.needs_sandbox) == ("apply_patch", False, True)
    for agent in (None, "codex"):
        for name in ("apply_patch", "applypatch"):
            assert isinstance(find_adapter(name, agent), CodexApplyPatchAdapter)
    assert not is_read_only("apply_patch", {"input": envelope("*** Delete File: a")})


def test_rendering_wraps_results_as_codex_did() -> None:
    adapter = CodexApplyPatchAdapter()
    done = ToolOutcome(
        content="Success. Updated the following files:\nA a\n",
        meta={"exit_code": 0, "duration_s": 0.01},
    )
    assert json.loads(adapter.render("apply_patch", {}, done).content) == {
        "output": "Success. Updated the following files:\nA a\n",
        "metadata": {"exit_code": 0, "duration_seconds": 0.0},
    }
    refused = ToolOutcome(
        content="apply_patch verification failed: x",
        is_error=True,
        meta={"error_type": "PatchError"},
    )
    assert adapter.render("apply_patch", {}, refused) == refused  # the bare text, as Codex sent it
    assert adapter.unwrap("apply_patch", {}, RECORDED_OUTPUT) == (
        f"Success. Updated the following files:\nM {RECORDED_FILE}\n"
    )


async def test_the_recorded_codex_call_gives_the_recorded_output(sandbox: Sandbox) -> None:
    source = (
        'import { ok, err } from "@repo/result";\n'
        'import type { ServiceParams } from "@repo/services";\n'
    )
    await sandbox.write_file(f"/workspace/{RECORDED_FILE}", source.encode())
    shown = await serve(sandbox, CodexShellAdapter(), "shell", json.loads(RECORDED_ARGUMENTS))
    assert shown.content == RECORDED_OUTPUT
    assert await text(sandbox, f"/workspace/{RECORDED_FILE}") == source.replace(
        "ok, err }", "ok, err, type Result }"
    )
    # The same edit as Codex's custom tool is rendered alike.
    patch = json.loads(RECORDED_ARGUMENTS)["command"][2].split("\n", 1)[1].rsplit("PATCH", 1)[0]
    reverted = patch.replace("-import { ok, err }", "-import { ok, err, type Result }", 1)
    reverted = reverted.replace("+import { ok, err, type Result }", "+import { ok, err }", 1)
    again = await serve(sandbox, CodexApplyPatchAdapter(), "apply_patch", {"input": reverted})
    assert again.content == RECORDED_OUTPUT
    assert await text(sandbox, f"/workspace/{RECORDED_FILE}") == source
    failed = await serve(sandbox, CodexApplyPatchAdapter(), "apply_patch", {"input": reverted})
    assert failed.is_error and failed.content == (
        "apply_patch verification failed: Failed to find expected lines in "
        f"{sandbox.workdir}/{RECORDED_FILE}:\n"
        'import { ok, err, type Result } from "@repo/result";'
    )


# -- fidelity --------------------------------------------------------------------------------------


def rollout_line(timestamp: str, kind: str, payload: dict[str, Any]) -> str:
    return json.dumps(
        {"timestamp": f"2025-09-25T01:{timestamp}Z", "type": kind, "payload": payload}
    )


def codex_output(output: str) -> str:
    return json.dumps(
        {"output": output, "metadata": {"exit_code": 0, "duration_seconds": 0.0}},
        separators=(",", ":"),
    )


def codex_rollout() -> str:
    """A Codex CLI 0.40 rollout that fixes calc.py with a shell heredoc patch, adds a file with
    the custom tool, and reads the result back; outputs as Codex recorded them."""
    fix = envelope(
        "*** Update File: calc.py", "@@ def add(a, b):", "-    return a - b", "+    return a + b"
    )
    add = envelope("*** Add File: notes/todo.md", "+- check add")
    item = "response_item"
    lines = [
        rollout_line(
            "00:00.000",
            "session_meta",
            {
                "id": "codex-patch",
                "cwd": "/workspace",
                "originator": "codex_cli_rs",
                "cli_version": "0.40.0",
            },
        ),
        rollout_line(
            "00:01.000",
            item,
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Fix add."}],
            },
        ),
        rollout_line(
            "00:02.000",
            item,
            {
                "type": "function_call",
                "name": "shell",
                "arguments": json.dumps(
                    {
                        "command": ["bash", "-lc", f"apply_patch <<'PATCH'\n{fix}\nPATCH\n"],
                        "workdir": "/workspace",
                    }
                ),
                "call_id": "call_fix",
            },
        ),
        rollout_line(
            "00:02.500",
            item,
            {
                "type": "function_call_output",
                "call_id": "call_fix",
                "output": codex_output("Success. Updated the following files:\nM calc.py\n"),
            },
        ),
        rollout_line(
            "00:03.000",
            item,
            {
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": "call_add",
                "name": "apply_patch",
                "input": add,
            },
        ),
        rollout_line(
            "00:03.500",
            item,
            {
                "type": "custom_tool_call_output",
                "call_id": "call_add",
                "output": codex_output("Success. Updated the following files:\nA notes/todo.md\n"),
            },
        ),
        rollout_line(
            "00:04.000",
            item,
            {
                "type": "function_call",
                "name": "shell",
                "arguments": json.dumps({"command": ["bash", "-lc", "cat calc.py notes/todo.md"]}),
                "call_id": "call_cat",
            },
        ),
        rollout_line(
            "00:04.500",
            item,
            {
                "type": "function_call_output",
                "call_id": "call_cat",
                "output": codex_output("def add(a, b):\n    return a + b\n- check add\n"),
            },
        ),
        rollout_line(
            "00:05.000",
            item,
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Fixed."}],
            },
        ),
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.docker
def test_fidelity_counts_codex_patches_as_matched(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    rollout = tmp_path / "rollout-2025-09-25T01-00-00-codex-patch.jsonl"
    rollout.write_text(codex_rollout())
    imported = tmp_path / "imported.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["import", "auto", str(rollout), "-o", str(imported)])
    assert result.exit_code == 0, result.output
    (session,) = read_models(imported, Session)
    session.env.repo = RepoSpec(path=str(make_repo(tmp_path / "repos", "calc")))
    sessions = tmp_path / "sessions.jsonl"
    with sessions.open("w") as handle:
        write_models(handle, [session])
    measured = runner.invoke(app, ["fidelity", str(sessions), "--json", "--run-id", run_id])
    assert measured.exit_code == 0, measured.output
    (report,) = json.loads(measured.stdout)["sessions"]
    assert report["error"] is None, report
    assert (report["compared"], report["matched"]) == (3, 3), report["mismatches"]
