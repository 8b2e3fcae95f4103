"""What stands in front of a command's program and is stripped before it is read: environment
assignments (``FOO=1``) and wrappers (``sudo``, ``env``, ``timeout``, ``nohup``, ``uv run``,
``poetry run``, ``npx``, ...) with their own flags, so that ``timeout 60 python -m pytest`` is a
python run.
"""

from __future__ import annotations

import posixpath
import re

ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
"""An environment assignment in front of a command (``FOO=1``)."""

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


def strip_wrappers(words: list[str], env: dict[str, str], wrappers: list[str]) -> list[str]:
    """``words`` without the assignments and wrappers in front of the program: the assignments
    are added to ``env``, the wrappers' names to ``wrappers``."""
    words = list(words)
    for _ in range(12):
        if not words:
            break
        head = posixpath.basename(words[0])
        if ASSIGNMENT.match(words[0]):
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
            if head == "env" and all(ASSIGNMENT.match(w) for w in rest):
                break  # plain ``env``: prints the environment
            wrappers.append(head)
            if head == "env":
                while rest and ASSIGNMENT.match(rest[0]):
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
