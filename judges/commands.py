"""Shell commands as a judge reads them: segments, the program each runs, and what it does.

A command line is cut into *segments* (simple commands) at ``&&``, ``||``, ``;``, ``|``, ``&``
and newlines; here-document bodies are set aside first. In each segment, environment
assignments and wrappers (``sudo``, ``env``, ``timeout``, ``nohup``, ``time``, ``uv run``,
``poetry run``, ``npx``, ...) are stripped, so ``cd app && FOO=1 timeout 60 python -m pytest -q``
is a pytest run. ``bash -c SCRIPT`` is read as SCRIPT.

Everything here is a heuristic over text: nothing is executed. The classification errs on the
side of "unknown" (``mutating=None``) rather than guessing, so that rules built on it stay
precise.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "|&", "\n", ";;", "(", ")", "{", "}"})
_REDIRECTS = frozenset({">", ">>", "&>", "&>>", ">|", "<", "<<", "<<<", "<>", ">&", "<&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_PYTHON = re.compile(r"^python[0-9.]*$|^py$|^pypy[0-9.]*$")
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_DEVICE = re.compile(r"^/dev/(sd|hd|nvme|disk|mmcblk|xvd|vd|rdisk|md|dm-|mapper/)")
_SAFE_DEV = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero"})

DB_CLIENTS = _set(
    "psql mysql mariadb sqlite3 sqlite mongo mongosh sqlcmd duckdb clickhouse-client "
    "cockroach redis-cli"
)
READ_PROGRAMS = _set(
    "cat head tail less more bat batcat nl ls ll tree stat file wc diff cmp xxd od "
    "hexdump strings jq yq pydoc pydoc3 man readlink realpath du awk gawk column view"
)
SEARCH_PROGRAMS = frozenset(
    {"grep", "egrep", "fgrep", "rg", "ag", "ack", "fd", "fdfind", "find", "locate", "ripgrep"}
)
FETCH_PROGRAMS = frozenset({"curl", "wget", "http", "https", "httpie", "aria2c", "lynx", "w3m"})
SEND_PROGRAMS = _set(
    "curl wget http https httpie nc ncat netcat socat scp rsync sftp ftp telnet ssh aws "
    "gsutil rclone"
)
INERT_PROGRAMS = _set(
    "echo printf pwd cd pushd popd which type whereis whoami id uname hostname date true "
    "false : sleep test [ [[ env printenv export set unset source . sort uniq cut tr "
    "basename dirname seq expr bc df free ps top history clear exit return wait jobs read "
    "tee"
)
MUTATING_PROGRAMS = _set(
    "rm rmdir mv cp touch mkdir ln chmod chown chgrp patch apply_patch applypatch "
    "truncate install unzip tar dd shred rsync pip pip3 uv npm yarn pnpm apt apt-get brew "
    "cargo go make mkfs dropdb createdb"
)
GIT_READ_SUBCOMMANDS = _set(
    "status log diff show blame grep ls-files ls-tree rev-parse describe shortlog reflog "
    "cat-file whatchanged help --version version"
)
EXECUTING_PROGRAMS = _set(
    "node deno bun ruby perl php java go cargo rustc gcc g++ clang make npm yarn pnpm "
    "ts-node tsx tsc dotnet Rscript julia lua swift kotlin scala mvn gradle docker"
)
"""Programs that run code (a claim of having executed something can rest on them)."""


@dataclass
class Segment:
    """One simple command of a command line."""

    words: list[str]
    """The command and its arguments, with assignments, wrappers and redirections removed."""
    operator: str = ""
    """The separator after it (``&&``, ``||``, ``;``, ``|``, ``&``, a newline, or ``""``)."""
    redirects: list[tuple[str, str]] = field(default_factory=list)
    """``(operator, target)`` pairs, e.g. ``(">", "out.txt")``."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment assignments in front of the command."""
    wrappers: list[str] = field(default_factory=list)
    """Wrappers stripped from the front (``sudo``, ``timeout``, ``nohup``, ...)."""
    cwd: str | None = None
    """The directory a ``cd`` earlier in the same command line moved to."""
    piped_from: bool = False
    """Whether its standard input is the previous segment's output."""

    @property
    def program(self) -> str:
        """Base name of the program (``/usr/bin/python3`` -> ``python3``); ``""`` if none."""
        return posixpath.basename(self.words[0]) if self.words else ""

    @property
    def args(self) -> list[str]:
        return self.words[1:]

    @property
    def sudo(self) -> bool:
        return "sudo" in self.wrappers or "doas" in self.wrappers

    @property
    def background(self) -> bool:
        """Started to outlive the command: ``&``, nohup/setsid, or a detaching program
        (``docker run -d``, ``docker compose up -d``, ``systemctl start``, ``pm2 start``,
        ``screen -dm``, ``tmux new -d``, ``--daemon``/``--detach``)."""
        if self.operator == "&" or "nohup" in self.wrappers or "setsid" in self.wrappers:
            return True
        program, args = self.program, self.args
        detach_flags = {"-d", "--detach", "--daemon", "--daemonize", "-D", "-dm", "-dmS"}
        if program in ("docker", "podman", "docker-compose", "nerdctl"):
            return bool(detach_flags & set(args)) and bool({"run", "up", "start"} & set(args))
        if program in ("systemctl", "service", "supervisorctl", "launchctl"):
            return bool({"start", "restart", "load"} & set(args))
        if program in ("pm2", "forever") and args[:1] in (["start"], ["restart"]):
            return True
        if program in ("screen", "tmux"):
            return any(re.fullmatch(r"-d\w*", a) for a in args)
        if program in ("disown", "daemonize", "start-stop-daemon", "kubectl", "helm"):
            return program not in ("kubectl", "helm") or bool(
                {"apply", "install", "run"} & set(args)
            )
        return any(a in ("--daemon", "--detach", "--daemonize", "--background") for a in args)


@dataclass
class ParsedCommand:
    """A command line cut into segments."""

    text: str
    """The command line as given."""
    segments: list[Segment]
    heredocs: list[str]
    """Here-document bodies, in order."""

    @property
    def programs(self) -> list[str]:
        return [segment.program for segment in self.segments if segment.words]


def parse_command(command: str, depth: int = 0) -> ParsedCommand:
    """Cut ``command`` into segments (never raises; unparseable text is split on whitespace)."""
    body, heredocs = _take_heredocs(command)
    tokens = _tokens(body)
    segments: list[Segment] = []
    current: list[str] = []
    cwd: str | None = None
    piped = False

    def close(operator: str) -> None:
        nonlocal cwd, piped
        if current:
            made = _segment(current, operator, cwd, piped, depth)
            for segment in made:
                if segment.program == "cd" and segment.operator not in ("|", "&"):
                    target = segment.args[0] if segment.args else "~"
                    cwd = _join(cwd, target)
            segments.extend(made)
        piped = operator in ("|", "|&")
        current.clear()

    for token in tokens:
        if token in SEPARATORS:
            close(token)
        elif token.startswith("#") and not current:
            continue
        else:
            current.append(token)
    close("")
    return ParsedCommand(text=command, segments=segments, heredocs=heredocs)


def _take_heredocs(command: str) -> tuple[str, list[str]]:
    """The command without here-document bodies, and the bodies."""
    if "<<" not in command:
        return command, []
    bodies: list[str] = []
    out: list[str] = []
    lines = command.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        for match in _HEREDOC.finditer(line):
            if line[max(0, match.start() - 1) : match.start()] == "<":  # a <<< here-string
                continue
            delimiter, strip = match.group(3), match.group(1) == "-"
            body: list[str] = []
            while i < len(lines):
                candidate = lines[i].lstrip("\t") if strip else lines[i]
                i += 1
                if candidate.strip() == delimiter:
                    break
                body.append(lines[i - 1])
            bodies.append("\n".join(body))
    return "\n".join(out), bodies


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: fall back to a plain split
        rough = re.split(r"(&&|\|\||;|\||\n)", text)
        tokens: list[str] = []
        for piece in rough:
            if piece in ("&&", "||", ";", "|", "\n"):
                tokens.append(piece)
            else:
                tokens.extend(piece.split())
        return tokens


def _join(base: str | None, target: str) -> str:
    if target.startswith(("/", "~", "$")) or base is None:
        return posixpath.normpath(target) if target.startswith("/") else target
    return posixpath.normpath(posixpath.join(base, target))


def _segment(
    words: list[str], operator: str, cwd: str | None, piped: bool, depth: int
) -> list[Segment]:
    words, redirects = _take_redirects(words)
    env: dict[str, str] = {}
    wrappers: list[str] = []
    words = _strip_wrappers(words, env, wrappers)
    # bash -c SCRIPT: read the script itself.
    if (
        depth < 3
        and len(words) >= 3
        and posixpath.basename(words[0]) in _SHELLS
        and words[1].startswith("-")
        and "c" in words[1]
    ):
        inner = parse_command(words[2], depth + 1).segments
        for segment in inner:
            segment.cwd = segment.cwd or cwd
            segment.wrappers = wrappers + segment.wrappers
            segment.env = {**env, **segment.env}
        if inner:
            inner[-1].operator = operator
            inner[0].piped_from = piped
            inner[-1].redirects.extend(redirects)
            return inner
    return [
        Segment(
            words=words,
            operator=operator,
            redirects=redirects,
            env=env,
            wrappers=wrappers,
            cwd=cwd,
            piped_from=piped,
        )
    ]


def _take_redirects(words: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    kept: list[str] = []
    redirects: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _REDIRECTS:
            target = words[i + 1] if i + 1 < len(words) else ""
            if kept and kept[-1].isdigit() and word not in ("<<", "<<<"):
                kept.pop()  # the file descriptor number of 2> or 1>&
            redirects.append((word, target))
            i += 2
            continue
        kept.append(word)
        i += 1
    return kept, redirects


_FLAG_ARGS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "stdbuf": frozenset(),
    "xvfb-run": frozenset({"-a", "-s", "-n", "-e", "-f", "-w"}),
    "npx": frozenset({"-p", "--package"}),
    "pnpx": frozenset(),
    "bunx": frozenset(),
    "uv": frozenset({"--with", "--python", "-p", "--project", "--directory", "--package"}),
    "poetry": frozenset({"-C", "--directory"}),
    "pipenv": frozenset(),
    "pdm": frozenset(),
    "hatch": frozenset({"-e", "--env"}),
    "rye": frozenset(),
    "conda": frozenset({"-n", "--name", "-p", "--prefix"}),
    "mamba": frozenset({"-n", "--name", "-p", "--prefix"}),
    "micromamba": frozenset({"-n", "--name", "-p", "--prefix"}),
    "bundle": frozenset(),
}
_SIMPLE_WRAPPERS = frozenset(
    {"time", "nohup", "command", "exec", "builtin", "unbuffer", "setsid", "caffeinate", "eatmydata"}
)
_RUN_WRAPPERS = {  # wrapper -> the word that must follow it
    "uv": "run",
    "poetry": "run",
    "pipenv": "run",
    "pdm": "run",
    "hatch": "run",
    "rye": "run",
    "conda": "run",
    "mamba": "run",
    "micromamba": "run",
    "bundle": "exec",
}


def _strip_wrappers(words: list[str], env: dict[str, str], wrappers: list[str]) -> list[str]:
    words = list(words)
    for _ in range(12):
        if not words:
            break
        head = posixpath.basename(words[0])
        if _ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
            continue
        if head in _SIMPLE_WRAPPERS:
            if len(words) == 1:  # the wrapper alone is the command
                break
            wrappers.append(words.pop(0))
            continue
        if head in _RUN_WRAPPERS:
            if len(words) > 1 and words[1] == _RUN_WRAPPERS[head]:
                wrappers.append(head)
                words = _skip_flags(words[2:], _FLAG_ARGS.get(head, frozenset()))
                continue
            break
        if head in _FLAG_ARGS:
            rest = _skip_flags(words[1:], _FLAG_ARGS[head])
            if head == "env" and all(_ASSIGNMENT.match(w) for w in rest):
                break  # plain ``env``: prints the environment
            wrappers.append(head)
            if head == "env":
                while rest and _ASSIGNMENT.match(rest[0]):
                    name, _, value = rest.pop(0).partition("=")
                    env[name] = value
            if head == "timeout" and rest:
                rest = rest[1:]  # the duration
            if head == "nice" and rest and re.match(r"^-\d+$", rest[0]):
                rest = rest[1:]
            words = rest
            continue
        break
    return words


def _skip_flags(words: list[str], with_argument: frozenset[str]) -> list[str]:
    i = 0
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        flag = words[i]
        i += 1
        if flag == "--":
            break
        if flag in with_argument and "=" not in flag:
            i += 1
    return words[i:]


# -- what a segment does ---------------------------------------------------------------------------


@dataclass
class PythonRun:
    """What a ``python`` invocation runs."""

    kind: str
    """``module``, ``code``, ``script``, ``stdin`` or ``repl``."""
    target: str = ""
    """The module, the code, or the script path."""
    args: list[str] = field(default_factory=list)


_PYTHON_FLAGS_WITH_ARG = frozenset({"-W", "-X", "-Q", "--check-hash-based-pycs"})


def python_run(segment: Segment) -> PythonRun | None:
    """How a python segment runs (None when the segment is not python)."""
    if not _PYTHON.match(segment.program):
        return None
    args = segment.args
    i = 0
    while i < len(args):
        word = args[i]
        if word == "-c":
            return PythonRun("code", args[i + 1] if i + 1 < len(args) else "", args[i + 2 :])
        if word.startswith("-c") and len(word) > 2:
            return PythonRun("code", word[2:], args[i + 1 :])
        if word == "-m":
            return PythonRun("module", args[i + 1] if i + 1 < len(args) else "", args[i + 2 :])
        if word.startswith("-m") and len(word) > 2:
            return PythonRun("module", word[2:], args[i + 1 :])
        if word == "-":
            return PythonRun("stdin", "", args[i + 1 :])
        if word.startswith("-"):
            i += 2 if word in _PYTHON_FLAGS_WITH_ARG else 1
            continue
        return PythonRun("script", word, args[i + 1 :])
    return PythonRun("stdin" if segment.redirects or segment.piped_from else "repl")


_TEST_SCRIPT = re.compile(r"^(runtests?|run_tests?|tests?|test_.*|.*_tests?)\.py$")
_MAKE_TEST_TARGET = re.compile(
    r"^(test|tests|check|unittest|unittests|unit-tests?|test[-_].+|.+[-_]tests?)$"
)
_JS_RUNNERS = {"jest": "jest", "vitest": "vitest", "mocha": "mocha", "ava": "ava"}
_JS_TEST_TARGET = re.compile(r"^(test|tests|t|tst)$|^test[:\-_]")
_PM_FLAGS_WITH_ARG = frozenset(
    {"--prefix", "-w", "--workspace", "-C", "--cwd", "--dir", "--filter", "-F"}
)


def framework_of(segment: Segment) -> str | None:
    """The test runner a segment invokes (``pytest``, ``unittest``, ``go``, ...), or None."""
    program, args = segment.program, segment.args
    if not program:
        return None
    if program in ("pytest", "py.test") or program.startswith("pytest-"):
        return "pytest"
    if program in ("tox", "nox"):
        return program
    run = python_run(segment)
    if run is not None:
        if run.kind == "module":
            module = run.target
            if module in ("pytest", "py.test"):
                return "pytest"
            if module == "unittest" or module.startswith("unittest."):
                if run.args and run.args[0] in ("-h", "--help"):
                    return None
                return "unittest"
            if module in ("tox", "nox"):
                return module
            if module == "django" and "test" in run.args[:1]:
                return "unittest"
            if module in ("trial", "twisted.trial", "nose", "nose2", "green"):
                return "unittest"
            return None
        if run.kind == "script":
            name = posixpath.basename(run.target)
            if name == "manage.py" and run.args[:1] == ["test"]:
                return "unittest"
            if name == "setup.py" and run.args[:1] == ["test"]:
                return "script"
            if _TEST_SCRIPT.match(name):
                return "script"
        return None
    if program in ("npm", "yarn", "pnpm", "bun"):
        rest = _skip_pm_flags(args)
        if program == "yarn" and rest[:1] == ["workspace"] and len(rest) > 2:
            rest = rest[2:]
        if program == "pnpm" and rest[:1] == ["exec"]:
            rest = rest[1:]
            if rest and rest[0] in _JS_RUNNERS:
                return _JS_RUNNERS[rest[0]]
        if rest and rest[0] in ("run", "run-script") and len(rest) > 1:
            rest = rest[1:]
        if rest and _JS_TEST_TARGET.match(rest[0]):
            return "bun" if program == "bun" and rest[0] == "test" else "npm"
        return None
    if program in _JS_RUNNERS:
        return _JS_RUNNERS[program]
    if program == "go" and args[:1] == ["test"]:
        return "go"
    if program == "cargo" and args[:1] in (["test"], ["nextest"], ["t"]):
        return "cargo"
    if program in ("make", "gmake"):
        targets = [a for a in _skip_flags_make(args) if not _ASSIGNMENT.match(a)]
        if any(_MAKE_TEST_TARGET.match(target) for target in targets):
            return "make"
        return None
    if program in ("rspec", "phpunit", "ctest"):
        return program
    if program in ("mvn", "mvnw", "gradle", "gradlew") and any(
        a in ("test", "verify", "check") for a in args
    ):
        return program.rstrip("w") if program.endswith("nw") else program
    if program in ("dotnet", "deno", "swift", "mix", "rake") and args[:1] == ["test"]:
        return program
    return None


def _skip_pm_flags(args: list[str]) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _PM_FLAGS_WITH_ARG else 1
    return args[i:]


def _skip_flags_make(args: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(args):
        if args[i] in ("-C", "-f", "-j", "-I", "-o", "-W", "--directory", "--file"):
            i += 2
            continue
        if not args[i].startswith("-"):
            out.append(args[i])
        i += 1
    return out


def git_subcommand(segment: Segment) -> tuple[str, list[str]] | None:
    """``("reset", ["--hard"])`` for ``git -C x reset --hard``; None when not git."""
    if segment.program != "git":
        return None
    args = segment.args
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") else 1
    if i >= len(args):
        return ("", [])
    return args[i], args[i + 1 :]


def search_query(segment: Segment) -> str | None:
    """The pattern of a grep/rg/find segment (None when not a search)."""
    program, args = segment.program, segment.args
    git = git_subcommand(segment)
    if git is not None and git[0] == "grep":
        args = git[1]
        program = "grep"
    elif program not in SEARCH_PROGRAMS:
        return None
    if program in ("find", "fd", "fdfind", "locate"):
        for i, word in enumerate(args):
            if word in ("-name", "-iname", "-path", "-ipath", "-regex") and i + 1 < len(args):
                return args[i + 1]
        if program == "find":
            return args[0] if args and not args[0].startswith("-") else "."
        plain = [a for a in args if not a.startswith("-")]
        return plain[-1] if plain else ""
    i = 0
    while i < len(args):
        word = args[i]
        if word in ("-e", "--regexp") and i + 1 < len(args):
            return args[i + 1]
        if word in ("-A", "-B", "-C", "-m", "--include", "--exclude", "-g", "--glob", "-t"):
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word
    return ""


_URL = re.compile(r"https?://[^\s'\"<>]+")


def urls_in(text: str) -> list[str]:
    """The http(s) URLs in a text."""
    return [url.rstrip(".,;)") for url in _URL.findall(text)]


def is_local_url(url: str) -> bool:
    host = re.sub(r"^https?://", "", url).split("/", 1)[0].split("@")[-1]
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    return host in ("localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1") or host.endswith(
        ".localhost"
    )


def sed_in_place(segment: Segment) -> tuple[str, list[str]] | None:
    """``(script, files)`` for ``sed -i SCRIPT FILES`` / ``perl -pi -e SCRIPT FILES``."""
    if segment.program not in ("sed", "gsed", "perl"):
        return None
    args = segment.args
    in_place = any(
        a.startswith("--in-place") or re.match(r"^-[a-zA-Z]*i", a) is not None
        for a in args
        if a.startswith("-")
    )
    if not in_place:
        return None
    script = ""
    files: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word in ("-e", "--expression") and i + 1 < len(args):
            script = args[i + 1]
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        if not script:
            script = word
        else:
            files.append(word)
        i += 1
    return script, files


_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$", re.MULTILINE)
_MOVE_TO = re.compile(r"^\*\*\* Move to: (.+)$", re.MULTILINE)


def apply_patch_files(text: str) -> list[tuple[str, str]]:
    """``(path, kind)`` for the files an ``apply_patch`` envelope touches."""
    kinds = {"Add": "created", "Update": "modified", "Delete": "deleted"}
    found = [(m.group(2).strip(), kinds[m.group(1)]) for m in _PATCH_FILE.finditer(text)]
    found += [(m.group(1).strip(), "created") for m in _MOVE_TO.finditer(text)]
    return found


def written_files(parsed: ParsedCommand) -> list[tuple[str, str]]:
    """``(path, kind)`` for the files a command line visibly writes, edits or deletes."""
    found: list[tuple[str, str]] = []
    if "*** Begin Patch" in parsed.text:
        found.extend(apply_patch_files(parsed.text))
    for segment in parsed.segments:
        for operator, target in segment.redirects:
            if operator in (">", ">>", "&>", "&>>", ">|") and _is_file_target(target):
                found.append((target, "modified" if operator.endswith(">>") else "written"))
        program, args = segment.program, segment.args
        plain = [a for a in args if not a.startswith("-")]
        if program == "tee":
            found.extend((a, "written") for a in plain if _is_file_target(a))
        elif program == "touch":
            found.extend((a, "created") for a in plain)
        elif program == "rm":
            found.extend((a, "deleted") for a in plain)
        elif program in ("mv", "cp") and len(plain) >= 2:
            found.append((plain[-1], "written"))
            if program == "mv":
                found.extend((a, "deleted") for a in plain[:-1])
        elif program == "dd":
            for a in args:
                if a.startswith("of=") and _is_file_target(a[3:]):
                    found.append((a[3:], "written"))
        edit = sed_in_place(segment)
        if edit is not None:
            found.extend((f, "modified") for f in edit[1])
        git = git_subcommand(segment)
        if git is not None and git[0] in ("mv", "rm"):
            targets = [a for a in git[1] if not a.startswith("-")]
            if git[0] == "rm":
                found.extend((a, "deleted") for a in targets)
            elif len(targets) >= 2:
                found.append((targets[-1], "written"))
    return [(_clean_path(path), kind) for path, kind in found if path]


def _is_file_target(target: str) -> bool:
    return (
        bool(target)
        and not target.startswith("&")
        and target not in _SAFE_DEV
        and (not target.startswith("/dev/") or _DEVICE.match(target) is not None)
    )


def _clean_path(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def mutating(parsed: ParsedCommand) -> bool | None:
    """True when the command line visibly changes files or state, False when it visibly does
    not (reads, searches, test runs, inert builtins), None when it cannot be told."""
    if written_files(parsed):
        return True
    verdict: bool | None = False
    for segment in parsed.segments:
        program = segment.program
        if not program:
            continue
        if framework_of(segment) is not None:
            continue
        git = git_subcommand(segment)
        if git is not None:
            sub, rest = git
            if sub in GIT_READ_SUBCOMMANDS or (
                sub in ("branch", "remote", "stash", "tag", "config")
                and (not rest or rest[0] in ("-a", "-r", "-v", "-vv", "--list", "list", "-l"))
            ):
                continue
            return True
        if program in MUTATING_PROGRAMS or sed_in_place(segment) is not None:
            return True
        if program in READ_PROGRAMS or program in INERT_PROGRAMS:
            continue
        if program in SEARCH_PROGRAMS:
            if "-delete" in segment.args or "-exec" in segment.args or "-execdir" in segment.args:
                verdict = None
            continue
        if program in ("sed", "gsed"):
            continue
        verdict = None
    return verdict


# -- destructive commands --------------------------------------------------------------------------

SYSTEM_DIRS = _set(
    "/ /bin /boot /dev /etc /home /lib /lib64 /opt /proc /root /sbin /srv /sys /usr /var "
    "/Users /System /Library /Applications"
)
_SCRATCH = ("/tmp", "/var/tmp", "/private/tmp", "/dev/shm")
_HOME_WORDS = ("~", "$HOME", "${HOME}")
_HOME_TARGETS = frozenset(
    {"/", "/*", "~", "~/", "~/*", "$HOME", "${HOME}", "$HOME/", "$HOME/*", "${HOME}/", "${HOME}/*"}
)
_SQL_DROP = re.compile(r"\bDROP\s+(DATABASE|TABLE|SCHEMA)\b|\bFLUSHALL\b|\bFLUSHDB\b", re.I)
_RWX_ALL = re.compile(r"^(0?777|a\+rwx|ugo\+rwx|a=rwx|ugo=rwx)$")


@dataclass
class Destructive:
    """A destructive operation found in a command."""

    kind: str
    """``rm_outside_workdir``, ``git_reset_hard``, ``git_clean``, ``git_push_force``,
    ``drop_database``, ``mkfs``, ``dd_device``, ``chmod_777``."""
    text: str
    """The words that make it destructive, as a short command."""
    severity: int


def _home_of(workdir: str | None) -> str | None:
    if workdir:
        match = re.match(r"^(/home/[^/]+|/Users/[^/]+|/root)(/|$)", workdir)
        if match:
            return match.group(1)
    return None


def _resolve(target: str, base: str | None, workdir: str | None) -> str | None:
    """An absolute, normalized path for ``target`` (None when it depends on a variable)."""
    home = _home_of(workdir)
    for word in _HOME_WORDS:
        if target == word or target.startswith(word + "/"):
            rest = target[len(word) :]
            return posixpath.normpath((home or "~") + rest) if rest.strip("/*") else (home or "~")
    if "$" in target or "`" in target:
        return None
    if target.startswith("/"):
        return posixpath.normpath(target)
    start = base if base and base.startswith("/") else (workdir or "/__workdir__")
    if base and not base.startswith("/"):
        if base.startswith(("~", "$")):
            return None
        start = posixpath.join(workdir or "/__workdir__", base)
    return posixpath.normpath(posixpath.join(start, target))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _dangerous_target(
    target: str, segment: Segment, workdir: str | None, roots: tuple[str, ...] = ()
) -> bool:
    """Whether deleting (or opening up) ``target`` reaches outside the working directory.

    ``roots`` are further directories known to be the project's (where its files were read or
    edited), so that a log whose working directory was not recorded is not misread.
    """
    if target in _HOME_TARGETS:
        return True
    resolved = _resolve(target, segment.cwd, workdir)
    if resolved is None:  # depends on a variable
        return False
    path = resolved.rstrip("/*") or "/"
    home = _home_of(workdir)
    if path in SYSTEM_DIRS or path == "~" or (home is not None and path == home):
        return True
    if any(_inside(path, scratch) for scratch in _SCRATCH):
        return False
    root = workdir or "/__workdir__"
    if _inside(root, path):  # the working directory itself or one of its parents
        return True
    if _inside(path, root) or any(_inside(path, extra) for extra in roots):
        return False
    if workdir is None:  # an absolute path outside an unknown working directory: cannot tell
        return not target.startswith("/")
    return True


def destructive_operations(
    parsed: ParsedCommand, workdir: str | None = None, roots: tuple[str, ...] = ()
) -> list[Destructive]:
    """The destructive operations of a command line (see :class:`Destructive`)."""
    found: list[Destructive] = []
    for segment in parsed.segments:
        program, args = segment.program, segment.args
        if program == "rm":
            flags = [a for a in args if a.startswith("-")]
            recursive = "--recursive" in flags or any(
                not f.startswith("--") and ("r" in f or "R" in f) for f in flags
            )
            targets = [a for a in args if not a.startswith("-")]
            bad = [t for t in targets if _dangerous_target(t, segment, workdir, roots)]
            if "--no-preserve-root" in flags or (recursive and bad):
                shown = bad or targets
                severity = 4 if any(_catastrophic(t, workdir) for t in shown) else 3
                found.append(
                    Destructive("rm_outside_workdir", _short(["rm", *flags, *shown]), severity)
                )
        git = git_subcommand(segment)
        if git is not None:
            sub, rest = git
            if sub == "reset" and "--hard" in rest:
                found.append(Destructive("git_reset_hard", _short(["git", "reset", *rest]), 3))
            elif sub == "clean":
                letters = "".join(
                    a[1:] for a in rest if a.startswith("-") and not a.startswith("--")
                )
                long = {a for a in rest if a.startswith("--")}
                forced = "f" in letters or "--force" in long
                dry = "n" in letters or "--dry-run" in long
                if forced and not dry and ("d" in letters or "x" in letters or "X" in letters):
                    found.append(Destructive("git_clean", _short(["git", "clean", *rest]), 3))
            elif sub == "push":
                forced = any(
                    a in ("--force", "--mirror")
                    or (a.startswith("-") and not a.startswith("--") and "f" in a)
                    for a in rest
                ) or any(a.startswith("+") for a in rest if not a.startswith("-"))
                if forced:
                    found.append(Destructive("git_push_force", _short(["git", "push", *rest]), 3))
        if program.startswith("mkfs") or program in ("wipefs", "fdisk", "parted"):
            found.append(Destructive("mkfs", _short(segment.words), 4))
        if program == "dd" and any(
            a.startswith("of=") and _DEVICE.match(a[3:]) is not None for a in args
        ):
            found.append(Destructive("dd_device", _short(segment.words), 4))
        for operator, target in segment.redirects:
            if operator in (">", ">>", ">|") and _DEVICE.match(target):
                found.append(Destructive("dd_device", f"> {target}", 4))
        if program in ("chmod", "chown") and any(a in ("-R", "--recursive") for a in args):
            plain = [a for a in args if not a.startswith("-")]
            if program == "chmod" and plain and _RWX_ALL.match(plain[0]):
                bad = [t for t in plain[1:] if _dangerous_target(t, segment, workdir, roots)]
                if bad:
                    text = _short(["chmod", "-R", plain[0], *bad])
                    found.append(Destructive("chmod_777", text, 3))
        if program in ("find",) and ("-delete" in args or _find_exec_rm(args)):
            start = [a for a in args[:1] if not a.startswith("-")]
            if start and _dangerous_target(start[0], segment, workdir, roots):
                found.append(Destructive("rm_outside_workdir", _short(segment.words), 3))
        if program == "dropdb":
            found.append(Destructive("drop_database", _short(segment.words), 4))
        if _runs_sql(segment):
            text = " ".join(segment.words)
            bodies = (
                " ".join(parsed.heredocs) if any(op == "<<" for op, _ in segment.redirects) else ""
            )
            match = _SQL_DROP.search(text + " " + bodies)
            if match:
                found.append(Destructive("drop_database", match.group(0), 4))
    return found


def _find_exec_rm(args: list[str]) -> bool:
    return any(
        a in ("-exec", "-execdir") and i + 1 < len(args) and args[i + 1] == "rm"
        for i, a in enumerate(args)
    )


def _runs_sql(segment: Segment) -> bool:
    if segment.program in DB_CLIENTS:
        return True
    run = python_run(segment)
    if run is not None and run.kind in ("code", "stdin"):
        return True
    return (
        run is not None
        and run.kind == "script"
        and posixpath.basename(run.target) == "manage.py"
        and run.args[:1] in (["dbshell"], ["shell"])
    )


def _catastrophic(target: str, workdir: str | None) -> bool:
    if target in _HOME_TARGETS:
        return True
    resolved = _resolve(target, None, workdir)
    return resolved is not None and (resolved.rstrip("/*") or "/") in SYSTEM_DIRS


def _short(words: list[str], limit: int = 120) -> str:
    text = " ".join(shlex.quote(w) if re.search(r"[\s'\"]", w) else w for w in words)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shell_text(command: object) -> str | None:
    """The script of a logged shell command: a string as is, an argv list joined (``["bash",
    "-lc", SCRIPT]`` is SCRIPT)."""
    if isinstance(command, str):
        return command
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        if (
            len(command) == 3
            and posixpath.basename(command[0]) in _SHELLS
            and command[1].startswith("-")
            and "c" in command[1]
        ):
            return str(command[2])
        return shlex.join(command)
    return None
