"""Which shell scripts need a network: :func:`network_need`.

A sandbox has no network (its container runs with ``network_mode=none``); the machine a session
was logged on had one. A logged ``pip install requests``, ``git clone https://...`` or ``curl
https://...`` cannot do live what it did then: it fails or hangs, and the model sees an outcome
the session never saw. The router (:class:`~understudy.tools.router.ToolRouter`) asks about every
shell script and serves one that needs a network through the policy's ``network`` chain
(:mod:`understudy.tools.policy`).

A script is read command by command (pipelines, ``&&``, ``;``, lines, ``$(...)``) by the word
each command runs, never by substring: ``echo "pip install"`` runs echo. Redirections and
here-document bodies are set aside first, then
:func:`~understudy.tools.shell_words.simple_commands` splits the script. Wrappers (``sudo``,
``env VAR=x``, ``timeout 60``), runners (``python -m pip``, ``uv pip``) and ``bash -c SCRIPT``
are seen through.
:data:`NETWORK_USES` is the vocabulary (command -> the subcommands that reach out);
:data:`STAYS_LOCAL` holds the checks that find such a use local after all (``pip install
--no-deps ./pkg``, ``git clone ../repo``, ``curl localhost:8000``), and a command given an
:data:`OFFLINE_FLAGS` flag is local. A script that cannot be read needs no network as far as
this module can tell: it runs live, as before.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from understudy.tools.shell_words import simple_commands

__all__ = ["NETWORK_USES", "OFFLINE_FLAGS", "STAYS_LOCAL", "network_need"]

ANY = "*"
"""A subcommand that stands for every use of the command; ``""`` is the command alone."""


def _uses(subcommands: str, what: str) -> tuple[frozenset[str], str]:
    return frozenset(subcommands.split(",")), what


_PACKAGES = "fetches packages"
_HOSTS = "reaches another host"
NETWORK_USES: dict[str, tuple[frozenset[str], str]] = {
    "pip": _uses("install,download,wheel,index,search", _PACKAGES),
    "pipx": _uses("install,run,upgrade,inject", _PACKAGES),
    "uv": _uses("add,sync,lock,tool install,tool run,python install", _PACKAGES),
    "poetry": _uses("install,add,update,lock", _PACKAGES),
    **dict.fromkeys(("conda", "mamba"), _uses("install,create,update,env create", _PACKAGES)),
    "npm": _uses("install,i,ci,add,update,publish,view,info,audit,outdated", _PACKAGES),
    "yarn": _uses(",install,add,upgrade,up,dlx", _PACKAGES),
    "pnpm": _uses("install,i,add,update,up,dlx", _PACKAGES),
    "bun": _uses("install,i,add,update", _PACKAGES),
    "cargo": _uses("install,fetch,update,add,search,publish", _PACKAGES),
    "gem": _uses("install,update,fetch", _PACKAGES),
    **dict.fromkeys(("apt", "apt-get"), _uses("install,update,upgrade,download", _PACKAGES)),
    **dict.fromkeys(("yum", "dnf"), _uses("install,update,upgrade", _PACKAGES)),
    "apk": _uses("add,update,upgrade", _PACKAGES),
    "brew": _uses("install,reinstall,update,upgrade,tap,fetch,search", _PACKAGES),
    "go": _uses("get,install,mod download,mod tidy", "fetches modules"),
    "git": _uses(
        "clone,fetch,pull,push,ls-remote,submodule update,remote update", "talks to a remote"
    ),
    "gh": _uses(ANY, "talks to GitHub"),
    **dict.fromkeys(("docker", "podman"), _uses("pull,push,login,search", "talks to a registry")),
    **{name: _uses(ANY, "reaches a server") for name in ("curl", "wget", "http", "https", "xh")},
    **{name: _uses(ANY, _HOSTS) for name in ("ssh", "scp", "sftp", "rsync", "ping", "nc")},
    **{name: _uses(ANY, _HOSTS) for name in ("ncat", "telnet", "ftp", "dig", "nslookup")},
}
"""Command -> (the subcommands that need a network, what they do with it)."""

OFFLINE_FLAGS = frozenset({"--offline", "--no-index"})
"""Flags that keep any command of the vocabulary off the network."""

WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "sudo": (frozenset({"-u", "-g", "-h", "-p", "-C"}), 0),
    "env": (frozenset({"-u", "-C", "-S"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "nice": (frozenset({"-n"}), 0),
    "xargs": (frozenset({"-n", "-I", "-L", "-P", "-d", "-a", "-s", "-E"}), 0),
    **dict.fromkeys(("time", "nohup", "command", "exec", "then", "do", "else", "if", "while",
                     "until", "!", "{"), (frozenset[str](), 0)),
}  # fmt: skip
"""Words that run the command after them: their options that take a value, and how many
operands they take before it (``timeout 60 ...``)."""

RUNS_NEXT: dict[tuple[str, str], int] = {("python", "-m"): 2, ("uv", "pip"): 1}
"""Two words that hand the command on -> how many of them to skip (``python -m pip`` is pip)."""

SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
"""Shells whose ``-c SCRIPT`` (``-lc``, ...) is read as a script of its own."""

GLOBAL_VALUED: dict[str, frozenset[str]] = {"git": frozenset({"-C", "-c"})}
"""Options before a subcommand that take a value (``git -C dir clone ...``)."""

_HEREDOC = re.compile(r"(?<!<)<<-?[ \t]*(['\"]?)([\w.-]+)\1")
_SHELL_PIECE = re.compile(
    r"""(?P<quoted>'[^']*'|"(?:[^"\\]|\\.)*")"""
    r"""|(?P<redirect>\d*(?:&>|[<>]{1,3})&?[ \t]*(?:'[^']*'|"(?:[^"\\]|\\.)*"|[^\s;&|()<>]+))"""
    r"""|(?P<separator>\$\(|[`()\n]|(?<!&)&(?!&))"""
)
"""What ``simple_commands`` refuses: quoted text (kept, with what would trip it neutralized),
redirections (dropped) and what starts or ends a command (made ``;``)."""
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_LOCAL_HOST = r"(?:localhost|127(?:\.\d+){3}|0\.0\.0\.0|\[::1\]|::1)"
_LOCAL_URL = re.compile(
    rf"^(?:file:|(?:[a-z][\w+.-]*://)?(?:[^@/\s]*@)?{_LOCAL_HOST}(?::\d+)?(?:/|$))"
)
_URL = re.compile(r"^[a-z][\w+.-]*://")
_REMOTE_PATH = re.compile(r"^[\w.-]+(?:@[\w.-]+)?:(?!//)")
"""An scp-style remote place: ``host:path``, ``user@host:path``."""


_ANY_COMMAND = re.compile(
    r"(?<![\w.-])(?:" + "|".join(sorted(map(re.escape, NETWORK_USES), key=len, reverse=True)) + ")"
)
"""Where a command of the vocabulary may start: at the start of a word or of a path's last part
(``/usr/bin/pip3``). Searched for in the script without its quotes and backslashes, which the
shell removes from words (``p"ip"`` runs pip): a script in which no such command starts needs
no network, whatever its commands -- most scripts, for a search instead of a parse."""
_QUOTING = str.maketrans("", "", "'\"\\")


def network_need(script: str) -> str | None:
    """Why ``script`` needs a network (``"pip install fetches packages"``), or None."""
    if _ANY_COMMAND.search(script.translate(_QUOTING)) is None:
        return None
    splittable = _SHELL_PIECE.sub(_plain_piece, _without_heredoc_bodies(script))
    for words in simple_commands(splittable) or []:
        reason = _command_need(_unwrapped(words))
        if reason is not None:
            return reason
    return None


def _without_heredoc_bodies(script: str) -> str:
    """``script`` with line continuations joined and here-document bodies (text) left out."""
    lines = iter(script.replace("\\\n", " ").split("\n"))
    kept = []
    for line in lines:
        kept.append(line)
        for heredoc in _HEREDOC.finditer(line):
            for body in lines:  # consumes the body from the shared iterator
                if body.lstrip("\t") == heredoc.group(2):
                    break
    return "\n".join(kept)


def _plain_piece(piece: re.Match[str]) -> str:
    """A piece of ``_SHELL_PIECE`` as ``simple_commands`` can split it."""
    quoted = piece.group("quoted")
    if quoted is not None:
        return quoted.replace("\n", " ").replace("$(", "$ (").replace("`", " ")
    return " " if piece.group("redirect") is not None else " ; "


def _command_name(word: str) -> str:
    """``/usr/bin/pip3.11`` -> ``pip``: versioned names are their command's."""
    return re.sub(r"(?<=[a-z])\d[\d.]*$", "", posixpath.basename(word))


def _unwrapped(words: list[str]) -> list[str]:
    """The words of the command that actually runs, past assignments, wrappers and runners."""
    at = 0
    while at < len(words):
        name = _command_name(words[at])
        following = _command_name(words[at + 1]) if at + 1 < len(words) else ""
        if _ASSIGNMENT.match(words[at]):
            at += 1
        elif name in WRAPPERS:
            valued, operands = WRAPPERS[name]
            at = _past_options(words, at + 1, valued) + operands
        elif (name, following) in RUNS_NEXT:
            at += RUNS_NEXT[name, following]
        else:
            break
    return words[at:]


def _past_options(words: list[str], at: int, valued: frozenset[str]) -> int:
    """The index of the first word from ``at`` on that is not an option or an option's value."""
    while at < len(words) and (words[at].startswith("-") or _ASSIGNMENT.match(words[at])):
        at += 2 if words[at] in valued else 1
    return at


def _command_need(words: list[str]) -> str | None:
    """Why the command of ``words`` (unwrapped) needs a network, or None."""
    if not words:
        return None
    command, operands = _command_name(words[0]), words[1:]
    if command in SHELLS and len(operands) > 1 and re.match(r"^-\w*c$", operands[0]):
        return network_need(operands[1])
    if command not in NETWORK_USES or OFFLINE_FLAGS.intersection(operands):
        return None
    subcommands, what = NETWORK_USES[command]
    start = _past_options(operands, 0, GLOBAL_VALUED.get(command, frozenset()))
    use = _use(subcommands, operands[start:])
    if use is None:
        return None
    rest = operands[start + len(use.split()) :] if use != ANY else operands
    stays_local = STAYS_LOCAL.get(f"{command} {use}") or STAYS_LOCAL.get(command)
    if stays_local is not None and stays_local(rest):
        return None
    return " ".join(part for part in (command, use.strip(ANY), what) if part)


def _use(subcommands: frozenset[str], words: list[str]) -> str | None:
    """The entry of ``subcommands`` that ``words`` (after the command) start with, or None."""
    if ANY in subcommands:
        return ANY
    if not words:
        return "" if "" in subcommands else None
    for length in (2, 1):
        key = " ".join(words[:length])
        if key in subcommands:
            return key
    return None


_PIP_VALUED = frozenset({"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t",
                         "--target", "--prefix", "--root", "--src", "--python-version",
                         "--platform", "--only-binary", "--no-binary", "-d", "--dest"})  # fmt: skip
_PIP_FILES = frozenset({"-r", "--requirement", "-c", "--constraint"})


def _pip_stays_local(words: list[str]) -> bool:
    """Installs nothing from an index: only local paths and wheels, with ``--no-deps`` (a
    local project's dependencies are fetched; ``xargs`` may bring requirements none names)."""
    requirements: list[str] = []
    operands = iter(words)
    for word in operands:
        option, has_value, value = word.partition("=")
        if option in _PIP_FILES:
            return False  # what the file asks for is not known
        if option in ("-e", "--editable"):
            requirements.append(value if has_value else next(operands, ""))
        elif option in _PIP_VALUED and not has_value:
            next(operands, None)
        elif not word.startswith("-"):
            requirements.append(word)
    local = bool(requirements) and all(_is_local_path(word) for word in requirements)
    return local and "--no-deps" in words


def _is_local_path(word: str) -> bool:
    """A requirement that names a directory, an archive or a wheel here, not a package."""
    if _URL.match(word):
        return word.startswith("file:")
    return word.startswith(("/", ".", "~")) or word.endswith((".whl", ".tar.gz", ".zip"))


def _first_operand(words: list[str]) -> str | None:
    """The repository or remote a git command names, past its options."""
    valued = frozenset({"-b", "--branch", "--depth", "-o", "--origin", "-c", "--config", "-j",
                        "--jobs", "--reference", "--filter", "--template", "-u"})  # fmt: skip
    at = _past_options(words, 0, valued)
    return words[at] if at < len(words) else None


def _clone_source_local(words: list[str]) -> bool:
    """The repository cloned is a path here (``../x``, ``/srv/x.git``), not a URL or host."""
    source = _first_operand(words)
    if source is None or _URL.match(source):
        return source is not None and source.startswith("file:")
    return not _REMOTE_PATH.match(source)


def _remote_is_path(words: list[str]) -> bool:
    """A remote named as a path; none named is the default remote, taken to be elsewhere."""
    remote = _first_operand(words)
    return remote is not None and remote.startswith(("/", ".", "~", "file:"))


def _only_local_urls(words: list[str]) -> bool:
    """A local URL is named (localhost, 127.0.0.1, file:) and no other URL; a URL in a
    variable (``$URL``) is taken to be elsewhere."""
    operands = [word for word in words if not word.startswith("-")]
    local = [word for word in operands if _LOCAL_URL.match(word)]
    return bool(local) and not any(_URL.match(word) for word in operands if word not in local)


def _only_local_hosts(words: list[str]) -> bool:
    """Every host named is this machine (numbers are ports or counts), or it listens."""
    hosts = [word for word in words if not word.startswith("-") and not word.isdigit()]
    listens = any(re.fullmatch(r"-[a-z]*l[a-z]*", word) for word in words)  # nc -l: a server
    return listens or (bool(hosts) and all(re.fullmatch(_LOCAL_HOST, h) for h in hosts))


def _copies_locally(words: list[str]) -> bool:
    """No place copied from or to is on another host (``host:path``, ``rsync://``)."""
    operands = [word for word in words if not word.startswith("-")]
    return not any(_URL.match(word) or _REMOTE_PATH.match(word) for word in operands)


STAYS_LOCAL: dict[str, Callable[[list[str]], bool]] = {
    **dict.fromkeys(("pip install", "pip download", "pip wheel"), _pip_stays_local),
    "git clone": _clone_source_local,
    **dict.fromkeys(("git fetch", "git pull", "git push"), _remote_is_path),
    "go install": lambda words: not any("@" in word for word in words),
    **dict.fromkeys(("curl", "wget", "http", "https", "xh"), _only_local_urls),
    **dict.fromkeys(("ping", "nc", "ncat", "telnet"), _only_local_hosts),
    **dict.fromkeys(("rsync", "scp"), _copies_locally),
}
"""``command subcommand`` (or ``command``) -> whether that use, given the words after it,
stays on this machine."""
