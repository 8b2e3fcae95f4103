"""What a log tells of its workspace besides file contents: where it was, whether it was a git
repository, which files were executable.

A workspace rebuilt from a log (:mod:`understudy.replay.workspace`) is only as faithful as its
paths and its metadata: a traceback prints absolute paths, ``git diff`` needs a repository and
shows file modes, ``ls -l`` shows permission bits. The importers give a working directory even
when the log names none (a harness default such as ``/workspace``); these readers find the one
the log's own outputs show instead.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter

from understudy.tools.adapters import describe_call, logged_output
from understudy.tools.shell_words import simple_commands
from understudy.trajectory import Session

__all__ = [
    "GIT_BASELINE",
    "IMAGE_ROOT",
    "LONG_LISTING",
    "executable_in_diffs",
    "git_baseline",
    "logged_workdir",
    "shows_git_repository",
]

GIT_BASELINE = (
    "git init -q -b {branch} && printf '__pycache__/\\n*.py[cod]\\n' >> .git/info/exclude && "
    "git add -A && git -c user.name=understudy -c user.email=understudy@localhost "
    "commit -q --allow-empty -m 'The workspace as the log shows it'"
)
"""Setup of a workspace whose log used git (see :func:`git_baseline`)."""


def git_baseline(branch: str | None) -> str:
    """The setup command of a workspace whose log used git: its files as the first commit on the
    branch the log names (``master`` when it names none), so that ``git diff``, ``git status``
    and ``git status -sb`` show the session's changes as they did. The repository's own ignore
    file is rarely shown whole, and Python's bytecode (which nearly every one ignores) would
    otherwise fill ``git status`` and ``git add -A``: it is ignored in ``.git/info/exclude``,
    which no listing shows."""
    return GIT_BASELINE.format(branch=shlex.quote(branch or "master"))


LONG_LISTING = re.compile(
    r"^(?P<type>[-dlbcps])(?P<mode>[rwxsStT-]{9})[.@+]?\s+\d+\s+\S+\s+\S+\s+\d+(?:,\s*\d+)?\s+"
    r"\w{3}\s+\d{1,2}\s+(?:\d{4}|\d{1,2}:\d{2})\s+(?P<name>.+)$"
)
"""One entry of ``ls -l`` (GNU or BSD): its type, permission bits and name."""
_PATH_CHARS = r"[\w.+@<>-]"
MOST_TEXT = 2_000_000
"""Most characters of tool output searched for absolute paths (the log's start is enough)."""
NOT_A_REPOSITORY = "not a git repository"
GIT_DIFF = re.compile(r"^diff --git a/", re.M)
_DIFF_MODE = re.compile(
    r"^diff --git a/(?P<path>\S+) b/\S+\n(?:(?:old|new|deleted file|new file) mode \d+\n)*"
    r"index [0-9a-f]+\.\.[0-9a-f]+ (?P<mode>\d{6})$",
    re.M,
)
MISSING = "No such file or directory"
"""A path a message says is missing is no evidence of where the session was."""


def logged_workdir(session: Session) -> str:
    """The working directory the log's outputs show, when they disagree with the recorded one.

    Relative paths the calls use (``tests/x.py``) appear absolute in outputs (tracebacks,
    ``pwd``, ``git`` messages): the common prefix of those appearances is where the session
    worked. The recorded working directory stands unless the log never mentions it and shows
    another one.
    """
    workdir = session.env.workdir
    if _lists_a_root_filesystem(session):
        return "/"
    text = _outputs(session)
    if workdir in text or any(workdir in str(m.tool_calls) for m in session.messages):
        return workdir
    found: Counter[str] = Counter()
    for relative in _relative_paths(session):
        pattern = rf"(/{_PATH_CHARS}+(?:/{_PATH_CHARS}+)*)/{re.escape(relative)}(?![\w/.])(.*)"
        for match in re.finditer(pattern, text):
            if MISSING not in match.group(2):
                found[match.group(1)] += 1
    if not found:
        return workdir
    return max(sorted(found), key=found.__getitem__)


def shows_git_repository(session: Session, workdir: str) -> bool:
    """Whether the log shows its working directory was a git repository: a ``.git`` entry in a
    listing of it, a ``git`` command that answered without "not a git repository", or a diff
    in git's format (what SWE-agent's ``submit`` shows)."""
    if any(GIT_DIFF.search(m.content) for m in session.messages if m.role == "tool"):
        return True
    agent = session.source.agent or session.source.format
    for _, call, result in session.answered_calls():
        facts = describe_call(call.name, call.arguments, agent)
        if facts is None or not facts.script:
            continue
        output = logged_output(call.name, call.arguments, result.content, agent) or ""
        commands = simple_commands(facts.script) or []
        if any(words[0] == "git" for words in commands) and NOT_A_REPOSITORY not in output:
            return True
        listing = any(words[0] == "ls" for words in commands)
        if listing and re.search(r"(?:^|\s)\.git/?(?:\s|$)", output):
            return True
    return False


def executable_in_diffs(session: Session, workdir: str) -> set[str]:
    """Files that git diffs in the log's outputs show with mode 100755 (``index A..B 100755``
    after ``diff --git a/PATH b/PATH``), as absolute paths under ``workdir``."""
    found: set[str] = set()
    for message in session.messages:
        if message.role != "tool" or "diff --git" not in message.content:
            continue
        for match in _DIFF_MODE.finditer(message.content.replace("\r\n", "\n")):
            if match.group("mode") == "100755":
                found.add(workdir.rstrip("/") + "/" + match.group("path"))
    return found


IMAGE_ROOT = frozenset(
    {"bin", "boot", "dev", "etc", "home", "lib", "lib64", "media", "mnt", "opt", "proc", "root"}
    | {"run", "sbin", "srv", "sys", "tmp", "usr", "var"}
)
"""The top-level directories of a Linux image: a listing that shows them is of ``/``."""


def _lists_a_root_filesystem(session: Session) -> bool:
    """Whether a plain ``ls`` of the working directory showed a root filesystem (inspect's
    sandboxes start at ``/`` unless told otherwise)."""
    agent = session.source.agent or session.source.format
    for _, call, result in session.answered_calls():
        facts = describe_call(call.name, call.arguments, agent)
        if facts is None or (facts.script or "").strip() != "ls":
            continue
        shown = logged_output(call.name, call.arguments, result.content, agent) or ""
        if len(IMAGE_ROOT.intersection(shown.split())) >= len(IMAGE_ROOT) - 3:
            return True
    return False


def _outputs(session: Session) -> str:
    text = "\n".join(m.content for m in session.messages if m.role == "tool")
    return text[:MOST_TEXT]


def _relative_paths(session: Session) -> set[str]:
    """Relative file paths the session's calls name (``./`` dropped), at least one ``/`` deep
    so that a bare name does not match anywhere."""
    agent = session.source.agent or session.source.format
    paths: set[str] = set()
    for message in session.messages:
        for call in message.tool_calls:
            facts = describe_call(call.name, call.arguments, agent)
            commands = simple_commands(facts.script) if facts and facts.script else None
            named = list(facts.paths) if facts else []
            named += [word for words in commands or [] for word in words[1:]]
            for path in named:
                path = path.removeprefix("./").rstrip("/")
                if "/" in path and not path.startswith(("/", "-", "~", "$")):
                    paths.add(path)
    return paths
