"""Placeholders of redacted values (``<USER_1>``) made literal in shell commands run live.

The unit tests read :func:`quote_placeholders` alone; the docker ones run commands through the
real ``shell`` tool, where bash would otherwise read ``<USER_1>`` as a redirection.
"""

from __future__ import annotations

import subprocess

import pytest

from understudy.protocols import Sandbox
from understudy.tools import get_tool
from understudy.tools.shell_placeholders import quote_placeholders

DOCKER_ONLY = pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker)])


# -- the scanner -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "quoted"),
    [
        ("cat /Users/<USER_1>/x.py", "cat /Users/'<USER_1>'/x.py"),
        ("ls <USER_1>", "ls '<USER_1>'"),
        (
            "cp /home/<USER_1>/a <EMAIL_2> && cd /Users/<USER_12>/repo",
            "cp /home/'<USER_1>'/a '<EMAIL_2>' && cd /Users/'<USER_12>'/repo",
        ),
        (
            "cd /Users/<USER_1>/repo\nls /home/<USER_1>",
            "cd /Users/'<USER_1>'/repo\nls /home/'<USER_1>'",
        ),
        # Inside $(...), even within double quotes, the text is shell syntax again.
        ('echo "$(ls /Users/<USER_1>)"', "echo \"$(ls /Users/'<USER_1>')\""),
        ('x="$(dirname "/a")" && ls /b/<USER_1>', 'x="$(dirname "/a")" && ls /b/\'<USER_1>\''),
        ("echo $(cat <USER_1>) ok", "echo $(cat '<USER_1>') ok"),
        # A comment with an apostrophe opens no quote.
        ("ls # don't\nls <USER_1>", "ls # don't\nls '<USER_1>'"),
        ("echo $'it\\'s' <USER_1>", "echo $'it\\'s' '<USER_1>'"),
        ("cat <<< <USER_1>", "cat <<< '<USER_1>'"),
        # In arithmetic ``<<`` shifts: it opens no here-document.
        ("echo $((1 << 2)) <USER_1>\nls <USER_2>", "echo $((1 << 2)) '<USER_1>'\nls '<USER_2>'"),
        ('x="$((1<<2))"\nls <USER_1>', "x=\"$((1<<2))\"\nls '<USER_1>'"),
    ],
)
def test_placeholders_in_shell_syntax_are_quoted(script: str, quoted: str) -> None:
    assert quote_placeholders(script) == quoted
    assert quote_placeholders(quoted) == quoted  # quoting again changes nothing


@pytest.mark.parametrize(
    "script",
    [
        "echo 'in /Users/<USER_1>/x'",
        'echo "in /Users/<USER_1>/x"',
        'echo "a \\"<USER_1>\\" b"',
        "echo \\<USER_1\\>",
        "echo $'<USER_1>'",
        "ls # a comment about <USER_1>",
        "cat < input.txt > out.txt",
        "sort <file 2>/dev/null <<<'x'",
        "grep -c '<' f && echo <USER",  # no placeholder
        "diff <(ls a) <(ls b)",
    ],
)
def test_literal_placeholders_and_real_redirections_are_left_alone(script: str) -> None:
    assert quote_placeholders(script) == script


@pytest.mark.parametrize(
    "operator", ["<<EOF", "<< EOF", "<<'EOF'", '<<"EOF"', "<<\\EOF", "<<'E'OF", "<<-EOF"]
)
def test_here_document_bodies_are_left_alone(operator: str) -> None:
    script = f"cat /u/<USER_1>/x {operator} > f\nhome: /Users/<USER_1>\n'it's'\nEOF\nls <USER_2>"
    assert quote_placeholders(script) == (
        f"cat /u/'<USER_1>'/x {operator} > f\nhome: /Users/<USER_1>\n'it's'\nEOF\nls '<USER_2>'"
    )


def test_a_dash_here_document_ends_at_a_tab_indented_delimiter() -> None:
    script = "if true; then\n\tcat <<-END\n\t<USER_1>\n\tEND\n\tls <USER_1>\nfi"
    assert quote_placeholders(script) == (
        "if true; then\n\tcat <<-END\n\t<USER_1>\n\tEND\n\tls '<USER_1>'\nfi"
    )
    # Without the dash the indented line does not end the body, which runs to the end.
    plain = script.replace("<<-", "<<")
    assert quote_placeholders(plain) == plain


def test_two_here_documents_on_one_line_and_commands_after_them() -> None:
    script = "cat <<A; cat <<'B' # <USER_3>\n<USER_1>\nA\n<USER_2>\nB\necho <USER_4> 'A'"
    assert quote_placeholders(script) == (
        "cat <<A; cat <<'B' # <USER_3>\n<USER_1>\nA\n<USER_2>\nB\necho '<USER_4>' 'A'"
    )


def test_a_here_document_inside_a_substitution() -> None:
    script = 'x="$(cat <<EOF\n<USER_1>\nEOF\n)"; ls <USER_1>'
    assert quote_placeholders(script) == "x=\"$(cat <<EOF\n<USER_1>\nEOF\n)\"; ls '<USER_1>'"


@pytest.mark.parametrize(
    ("script", "printed"),
    [
        ("echo /h/<USER_1>/x <EMAIL_2>", "/h/<USER_1>/x <EMAIL_2>\n"),
        ("echo 'q <USER_2>' \"d <EMAIL_1>\" \\<USER_3\\>", "q <USER_2> d <EMAIL_1> <USER_3>\n"),
        (
            "cat <<'EOF'\n'<USER_1>' \"<USER_2>\"\nEOF\necho <USER_1>",
            "'<USER_1>' \"<USER_2>\"\n<USER_1>\n",
        ),
        ("cat <<-EOF\n\t<USER_1> $((1+1))\n\tEOF", "<USER_1> 2\n"),
        ('echo "$(echo "<USER_1>") $(echo <USER_2>)"', "<USER_1> <USER_2>\n"),
        ("echo $((1<<2)) <USER_1>\n((x = 1 << 3)); echo $x <USER_2>", "4 <USER_1>\n8 <USER_2>\n"),
    ],
)
def test_bash_reads_the_placeholders_as_the_text_they_stand_for(script: str, printed: str) -> None:
    """Run by this machine's bash (the scripts only print): each placeholder is literal text."""
    done = subprocess.run(
        ["bash", "-c", quote_placeholders(script)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert (done.stdout, done.stderr, done.returncode) == (printed, "", 0)


# -- through the shell tool, in a docker sandbox -----------------------------------------------


@DOCKER_ONLY
async def test_a_missing_path_with_a_placeholder_fails_as_the_logged_command_did(
    sandbox: Sandbox,
) -> None:
    outcome = await get_tool("shell").run({"command": "cat /nonexistent/<USER_1>/x"}, sandbox)
    # cat's message, not bash's ("bash: line 1: USER_1: No such file or directory"). GNU cat
    # quotes a name holding "<" in its messages; a BSD cat (macOS, where the log came from)
    # does not.
    assert outcome.content in (
        "cat: /nonexistent/<USER_1>/x: No such file or directory\n",
        "cat: '/nonexistent/<USER_1>/x': No such file or directory\n",
    )
    assert outcome.meta["exit_code"] == 1


@DOCKER_ONLY
async def test_placeholders_in_paths_and_here_documents_are_written_verbatim(
    sandbox: Sandbox,
) -> None:
    shell = get_tool("shell")
    script = (
        "mkdir -p /tmp/<USER_1>/docs && cat > /tmp/<USER_1>/docs/a.txt <<EOF\n"
        "owner: <USER_1> '<EMAIL_1>'\nEOF\n"
        "cat <<'END' >> /tmp/<USER_1>/docs/a.txt\n\"<USER_2>\"\nEND\n"
        "ls /tmp/<USER_1> && cat /tmp/'<USER_1>'/docs/a.txt"
    )
    outcome = await shell.run({"command": script, "persistent": True}, sandbox)
    assert outcome.content == "docs\nowner: <USER_1> '<EMAIL_1>'\n\"<USER_2>\"\n"
    assert outcome.meta["exit_code"] == 0
    # Run on a terminal, the command is quoted the same way.
    on_tty = await shell.run(
        {"command": "cat /tmp/<USER_1>/docs/a.txt", "terminal": {"columns": 80, "rows": 24}},
        sandbox,
    )
    assert on_tty.content.startswith("owner: <USER_1>")
