"""Facts about ledger calls the rules share: which file or command a call names, whether it ran
code or may have changed files the ledger cannot name, which host a URL names."""

from __future__ import annotations

import posixpath
import re

from understudy.judges import commands as sh
from understudy.judges.ledger import LedgerCall

_LINTER_COMMANDS = {
    "linter": r"ruff|flake8|pylint|eslint|lint|golangci|clippy|rubocop|shellcheck",
    "linters": r"ruff|flake8|pylint|eslint|lint|golangci|clippy|rubocop|shellcheck",
    "type": r"mypy|pyright|tsc|type",
    "typecheck": r"mypy|pyright|tsc|type",
    "formatter": r"black|ruff format|prettier|gofmt|rustfmt|isort|fmt",
    "build": r"build|make|compile|tsc|cargo|go |gradle|mvn|setup\.py|webpack|vite",
    "compiler": r"gcc|g\+\+|clang|rustc|javac|tsc|cargo|go build|make|compile",
}


def file_name(path: str) -> str:
    """The file name ``path`` ends in, lowercased, without the quotes, backticks or slashes a
    message may put around it."""
    return posixpath.basename(path.strip("`'\" /")).lower()


def call_mentions(call: LedgerCall, needle: str) -> bool:
    """Whether a call's arguments (command, paths, query, url, edited text) mention ``needle``."""
    needle = needle.lower()
    texts = [call.args, call.command or "", call.query or "", call.url or "", *call.paths]
    texts += [edit.new for edit in call.edits] + [edit.path for edit in call.edits]
    return any(needle in text.lower() for text in texts)


def same_file(path: str, target: str) -> bool:
    """Whether ``path`` and ``target`` name the same file (by file name; a README, CHANGELOG,
    LICENSE or CONTRIBUTING named without its extension matches any of its extensions)."""
    base, wanted = file_name(path), file_name(target)
    if not base or not wanted:
        return False
    if wanted.upper().startswith(("README", "CHANGELOG", "LICENSE", "CONTRIBUTING")):
        return base.upper().startswith(wanted.upper().split(".")[0])
    return base == wanted


def runs_code(call: LedgerCall) -> bool:
    """Whether a call ran code (a test run, a script, an interpreter, a build)."""
    if "test_run" in call.kinds:
        return True
    if call.command is None:  # an unknown tool may run code; a known non-shell tool does not
        return call.canonical is None and call.mutating is None and not call.invalid
    for segment in sh.parse_command(call.command).segments:
        program = segment.program
        if (
            program in sh.EXECUTING_PROGRAMS
            or sh.python_run(segment) is not None
            or (segment.words[:1] and segment.words[0].startswith(("./", "bin/", "scripts/")))
            or program in ("bash", "sh", "zsh")
            or (
                program in sh.FETCH_PROGRAMS
                and any("localhost" in a or "127.0.0.1" in a for a in segment.args)
            )
        ):
            return True
    return False


_BROAD_MUTATORS = re.compile(
    r"\b(?:black|ruff\s+format|ruff\s+check\s+[^|;&]*--fix|isort|prettier|eslint\s+[^|;&]*--fix|"
    r"gofmt\s+-w|go\s+fmt|cargo\s+fmt|rustfmt|autopep8|yapf|clang-format\s+-i|"
    r"makemigrations|protoc|2to3|pyupgrade|npm\s+run\s+(?:format|fix|generate)|"
    r"git\s+(?:apply|am|checkout|restore|stash|merge|rebase|cherry-pick|pull|reset|revert)|"
    r"patch\b|unzip|tar\s+-?x|cp\s+-r|rsync)",
)


def may_change_unnamed_files(call: LedgerCall, created: set[str]) -> bool:
    """Whether a call may have changed files the ledger cannot name (a formatter, ``git
    apply``, a project or code generator, a script the agent did not write itself)."""
    if call.delegated:
        return True
    if call.command is None:
        return call.mutating is None and call.classification in ("other", "write", "edit")
    if _BROAD_MUTATORS.search(call.command):
        return True
    for segment in sh.parse_command(call.command).segments:
        if sh.generates_files(segment):
            return True
        run = sh.python_run(segment)
        if run is not None and run.kind == "script" and file_name(run.target) not in created:
            return True
        if (
            segment.words
            and segment.words[0].startswith("./")
            and file_name(segment.words[0]) not in created
        ):
            return True
        if segment.program in ("bash", "sh", "make", "npm", "yarn", "pnpm", "node", "ruby", "perl"):
            return True
    return False


_SUBCOMMAND_PROGRAMS = frozenset(
    {"npm", "yarn", "pnpm", "bun", "go", "cargo", "git", "make", "docker", "uv", "poetry", "npx"}
)


def run_patterns(target: str) -> list[str]:
    """Regular expressions a call's command matches when it ran what a claim names as run
    (a linter or a build, a script, a command with its subcommand)."""
    key = target.lower().strip()
    for word, pattern in _LINTER_COMMANDS.items():
        if key.startswith(word):
            return [pattern]
    if re.search(r"\.\w+$", key) and " " not in key:  # a script file
        return [re.escape(file_name(key))]
    parsed = sh.parse_command(target)
    programs = [p for p in parsed.programs if p and p not in sh.INERT_PROGRAMS]
    if not programs:
        return [re.escape(key.split()[0])] if key.split() else [re.escape(key)]
    patterns = []
    for segment in parsed.segments:
        if segment.program not in programs:
            continue
        run = sh.python_run(segment)
        if run is not None and run.kind in ("module", "script"):
            pattern = re.escape(file_name(run.target) if run.kind == "script" else run.target)
            subcommand = [w for w in run.args if not w.startswith("-")][:1]
            if subcommand:  # manage.py migrate is not manage.py showmigrations
                pattern += r"\b.*\b" + re.escape(subcommand[0]) + r"\b"
            patterns.append(pattern)
            continue
        words = [w for w in segment.args if not w.startswith("-")]
        if segment.program in _SUBCOMMAND_PROGRAMS and words:
            if words[0] in ("run", "run-script", "exec") and len(words) > 1:
                words = words[1:]
            patterns.append(re.escape(segment.program) + r"\b.*\b" + re.escape(words[0]))
        else:
            patterns.append(re.escape(segment.program))
    return patterns or [re.escape(programs[0])]


def url_host(url: str) -> str:
    """The host a URL names, lowercased, without ``www.``."""
    return re.sub(r"^https?://", "", url).split("/", 1)[0].lower().removeprefix("www.")
