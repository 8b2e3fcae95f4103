"""What a command line touches: the pattern it searches for, the URLs it names, the files it
writes, edits or deletes, and whether it changes anything at all.
"""

from __future__ import annotations

import re

from understudy.judges.commands.parsing import ParsedCommand, Segment
from understudy.judges.commands.runs import framework_of, git_subcommand
from understudy.judges.commands.vocabulary import (
    DISK_DEVICE,
    GIT_READ_SUBCOMMANDS,
    HARMLESS_DEVICES,
    INERT_PROGRAMS,
    MUTATING_PROGRAMS,
    READ_PROGRAMS,
    SEARCH_PROGRAMS,
)
from understudy.tools.adapters.arguments import PATCH_MARK, apply_patch_files


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


_SHORT_IN_PLACE = re.compile(r"^-[a-zA-Z]*i")
"""``-i``, ``-i.bak``, ``-ni``: short flags that edit in place."""
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
        a.startswith("--in-place") or _SHORT_IN_PLACE.match(a) is not None
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


_NAMING_FILES = frozenset({"tee", "touch", "rm", "mv", "cp"})
"""The programs :func:`written_files` reads the plain arguments of (the files they write)."""


def written_files(parsed: ParsedCommand) -> list[tuple[str, str]]:
    """``(path, kind)`` for the files a command line visibly writes, edits or deletes."""
    found: list[tuple[str, str]] = []
    if PATCH_MARK in parsed.text:
        found.extend(apply_patch_files(parsed.text))
    for segment in parsed.segments:
        for operator, target in segment.redirects:
            if operator in (">", ">>", "&>", "&>>", ">|") and _is_file_target(target):
                found.append((target, "modified" if operator.endswith(">>") else "written"))
        program, args = segment.program, segment.args
        plain = [a for a in args if not a.startswith("-")] if program in _NAMING_FILES else []
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


_GENERATOR_SUBCOMMANDS = frozenset(
    {"init", "new", "create", "generate", "g", "startproject", "startapp", "scaffold"}
)
"""First words that make a command a project or code generator: ``uv init``, ``poetry new``,
``cargo new``, ``npm create``, ``rails generate``, ``ng g``, ``django-admin startproject``."""
_GENERATORS = frozenset({"cookiecutter", "copier", "yo", "degit", "sphinx-quickstart"})
_FILE_UTILITIES = frozenset(
    {"rm", "rmdir", "mv", "cp", "touch", "mkdir", "ln", "chmod", "chown", "chgrp", "dd"}
)


def generates_files(segment: Segment) -> bool:
    """Whether a segment generates files it does not name: a scaffolder (``create-react-app``,
    ``cookiecutter``), an init (``uv init``, ``tsc --init``, ``go mod init``) or a code generator
    (``rails generate model``). What it wrote is unknown, so a claim about any file may hold."""
    program = segment.program
    if not program or program in _FILE_UTILITIES or program in READ_PROGRAMS:
        return False
    if program in INERT_PROGRAMS or program in SEARCH_PROGRAMS:
        return False
    if program in _GENERATORS or program.startswith("create-") or "--init" in segment.args:
        return True
    words = [word for word in segment.args if not word.startswith("-")]
    if words[:1] == ["mod"] or words[:1] == ["dlx"]:  # go mod init, pnpm dlx create-vite
        words = words[1:]
    return bool(words) and (words[0] in _GENERATOR_SUBCOMMANDS or words[0].startswith("create-"))


def _is_file_target(target: str) -> bool:
    return (
        bool(target)
        and not target.startswith("&")
        and target not in HARMLESS_DEVICES
        and (not target.startswith("/dev/") or DISK_DEVICE.match(target) is not None)
    )


def _clean_path(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def mutating(parsed: ParsedCommand, written: list[tuple[str, str]] | None = None) -> bool | None:
    """True when the command line visibly changes files or state, False when it visibly does
    not (reads, searches, test runs, inert builtins), None when it cannot be told.
    ``written``: its :func:`written_files`, when the caller has them already."""
    if written is None:
        written = written_files(parsed)
    if written:
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
