"""Codex's ``apply_patch`` envelope: parsing it, and working out what it makes of a file.

Pure text work, no sandbox (the canonical ``apply_patch`` tool, :mod:`understudy.tools.patch`,
reads and writes the files). It follows Codex CLI's own implementation, the ``codex-apply-patch``
crate of openai/codex (``codex-rs/apply-patch/src/parser.rs``, ``lib.rs`` and
``seek_sequence.rs``), with its wording, so a replayed call fails the way Codex failed it::

    *** Begin Patch
    *** Add File: path            then "+" lines: the whole new file
    *** Delete File: path
    *** Update File: path
    *** Move to: other/path       (optional) the updated file moves there
    @@ def f():                   a chunk, optionally anchored on a line at or before it
     context                      " " kept, "-" removed, "+" added
    *** End of File               (optional) the chunk's old lines end the file
    *** End Patch

Lenient as Codex is: markers may carry surrounding whitespace, a patch may be wrapped in a
``<<'EOF'`` ... ``EOF`` heredoc, the first chunk of an update may omit its ``@@``, and old lines
are looked for exactly, then ignoring trailing whitespace, then ignoring surrounding whitespace,
then with typographic punctuation read as ASCII.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

BEGIN_PATCH = "*** Begin Patch"
END_PATCH = "*** End Patch"
ADD_FILE = "*** Add File: "
DELETE_FILE = "*** Delete File: "
UPDATE_FILE = "*** Update File: "
MOVE_TO = "*** Move to: "
END_OF_FILE = "*** End of File"
CONTEXT_MARK = "@@ "
EMPTY_CONTEXT_MARK = "@@"
PATCH_COMMANDS = ("apply_patch", "applypatch")
"""The names Codex recognises as the patch command in an argv or a shell script."""
SUCCESS_HEADER = "Success. Updated the following files:"
NOTHING_MODIFIED = "No files were modified."
"""What Codex's ``apply_patch`` printed (on stderr, exit code 1) for a patch without hunks."""

_HEREDOC_OPENERS = ("<<EOF", "<<'EOF'", '<<"EOF"')
_SCRIPT = re.compile(
    r"\A(?:cd[ \t]+(?P<cd>'[^'\n]*'|\"[^\"\n]*\"|[^\s'\"&;|<>]+)[ \t]*&&[ \t]*)?"
    r"(?:apply_patch|applypatch)[ \t]*<<[ \t]*(?P<quote>['\"]?)(?P<tag>[A-Za-z_][\w.-]*)"
    r"(?P=quote)[ \t]*\n(?P<rest>.*)\Z",
    re.DOTALL,
)
_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys(
            "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "
        ),
    }
)


class PatchParseError(ValueError):
    """An envelope Codex would not parse; ``str()`` is Codex's ``ParseError`` text."""

    def __init__(self, message: str, line_number: int | None = None) -> None:
        self.message = message
        self.line_number = line_number
        shown = (
            f"invalid patch: {message}"
            if line_number is None
            else f"invalid hunk at line {line_number}, {message}"
        )
        super().__init__(shown)


class PatchApplyError(ValueError):
    """An update whose lines (or anchor) are not in the file; ``str()`` is Codex's text."""


@dataclass(frozen=True)
class Chunk:
    """Old lines of a file to replace with new ones, after an optional anchor line."""

    context: str | None
    old_lines: list[str] = field(default_factory=list)
    new_lines: list[str] = field(default_factory=list)
    end_of_file: bool = False


@dataclass(frozen=True)
class AddFile:
    path: str
    contents: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class UpdateFile:
    path: str
    move_to: str | None
    chunks: list[Chunk]


Hunk = AddFile | DeleteFile | UpdateFile


# -- parsing ---------------------------------------------------------------------------------------


def parse_patch(text: str) -> list[Hunk]:
    """The hunks of an envelope, in order; PatchParseError with Codex's message otherwise."""
    lines = [line.removesuffix("\r") for line in text.strip().split("\n")] if text.strip() else []
    body = _body_lines(lines)
    hunks: list[Hunk] = []
    line_number = 2
    while body:
        hunk, used = _parse_hunk(body, line_number)
        hunks.append(hunk)
        line_number += used
        body = body[used:]
    return hunks


def _body_lines(lines: list[str]) -> list[str]:
    """The lines between the markers; a ``<<'EOF'`` heredoc around them is taken off (Codex's
    lenient mode, for models that put the heredoc inside an argv)."""
    try:
        return _check_markers(lines)
    except PatchParseError:
        if len(lines) >= 4 and lines[0] in _HEREDOC_OPENERS and lines[-1].endswith("EOF"):
            return _check_markers(lines[1:-1])
        raise


def _check_markers(lines: list[str]) -> list[str]:
    first = lines[0].strip() if lines else None
    last = lines[-1].strip() if lines else None
    if first == BEGIN_PATCH and last == END_PATCH:
        return lines[1:-1]
    if first is not None and first != BEGIN_PATCH:
        raise PatchParseError("The first line of the patch must be '*** Begin Patch'")
    raise PatchParseError("The last line of the patch must be '*** End Patch'")


def _parse_hunk(lines: list[str], line_number: int) -> tuple[Hunk, int]:
    first = lines[0].strip()
    if first.startswith(ADD_FILE):
        added = []
        for line in lines[1:]:
            if not line.startswith("+"):
                break
            added.append(line[1:] + "\n")
        return AddFile(first[len(ADD_FILE) :], "".join(added)), 1 + len(added)
    if first.startswith(DELETE_FILE):
        return DeleteFile(first[len(DELETE_FILE) :]), 1
    if first.startswith(UPDATE_FILE):
        return _parse_update(first[len(UPDATE_FILE) :], lines, line_number)
    raise PatchParseError(
        f"'{first}' is not a valid hunk header. Valid hunk headers: '*** Add File: {{path}}', "
        "'*** Delete File: {path}', '*** Update File: {path}'",
        line_number,
    )


def _parse_update(path: str, lines: list[str], line_number: int) -> tuple[UpdateFile, int]:
    used = 1
    move_to = None
    if len(lines) > 1 and lines[1].startswith(MOVE_TO):
        move_to = lines[1][len(MOVE_TO) :]
        used += 1
    chunks: list[Chunk] = []
    while used < len(lines):
        line = lines[used]
        if not line.strip():  # blank lines may separate chunks
            used += 1
            continue
        if line.startswith("*"):
            break
        chunk, chunk_lines = _parse_chunk(lines[used:], line_number + used, not chunks)
        chunks.append(chunk)
        used += chunk_lines
    if not chunks:
        raise PatchParseError(f"Update file hunk for path '{path}' is empty", line_number)
    return UpdateFile(path, move_to, chunks), used


def _parse_chunk(lines: list[str], line_number: int, first: bool) -> tuple[Chunk, int]:
    context: str | None = None
    start = 1
    if lines[0] == EMPTY_CONTEXT_MARK:
        pass
    elif lines[0].startswith(CONTEXT_MARK):
        context = lines[0][len(CONTEXT_MARK) :]
    elif first:
        start = 0
    else:
        raise PatchParseError(
            f"Expected update hunk to start with a @@ context marker, got: '{lines[0]}'",
            line_number,
        )
    if start >= len(lines):
        raise PatchParseError("Update hunk does not contain any lines", line_number + 1)
    old: list[str] = []
    new: list[str] = []
    parsed = 0
    end_of_file = False
    for line in lines[start:]:
        if line == END_OF_FILE:
            if parsed == 0:
                raise PatchParseError("Update hunk does not contain any lines", line_number + 1)
            end_of_file = True
            parsed += 1
            break
        kind, text = line[:1], line[1:]
        if kind in ("", " "):
            old.append(text)
            new.append(text)
        elif kind == "+":
            new.append(text)
        elif kind == "-":
            old.append(text)
        elif parsed == 0:
            raise PatchParseError(
                f"Unexpected line found in update hunk: '{line}'. Every line should start with "
                "' ' (context line), '+' (added line), or '-' (removed line)",
                line_number + 1,
            )
        else:
            break  # the next chunk starts
        parsed += 1
    return Chunk(context, old, new, end_of_file), parsed + start


# -- applying --------------------------------------------------------------------------------------


def seek_sequence(lines: list[str], pattern: list[str], start: int, eof: bool) -> int | None:
    """Where ``pattern`` first occurs in ``lines`` at or after ``start`` (from the end of the
    file first, when ``eof``): exactly, else ignoring trailing whitespace, else surrounding
    whitespace, else typographic punctuation and spaces too."""
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    first = len(lines) - len(pattern) if eof else start
    last = len(lines) - len(pattern)
    for normalize in (_exact, str.rstrip, str.strip, _ascii_punctuation):
        wanted = [normalize(line) for line in pattern]
        for index in range(first, last + 1):
            if all(normalize(lines[index + k]) == wanted[k] for k in range(len(pattern))):
                return index
    return None


def _exact(line: str) -> str:
    return line


def _ascii_punctuation(line: str) -> str:
    return line.strip().translate(_PUNCTUATION)


def updated_text(original: str, chunks: list[Chunk], shown_path: str) -> str:
    """The file's text once ``chunks`` are applied (always ending with a newline);
    PatchApplyError naming ``shown_path`` when a chunk's lines are not found."""
    lines = original.split("\n")
    if lines[-1] == "":
        lines.pop()
    replacements = _replacements(lines, chunks, shown_path)
    for start, length, new in sorted(replacements, key=lambda r: r[0], reverse=True):
        lines[start : start + length] = new
    if not lines or lines[-1] != "":
        lines.append("")
    return "\n".join(lines)


def _replacements(
    lines: list[str], chunks: list[Chunk], shown_path: str
) -> list[tuple[int, int, list[str]]]:
    found: list[tuple[int, int, list[str]]] = []
    index = 0
    for chunk in chunks:
        if chunk.context is not None:
            at = seek_sequence(lines, [chunk.context], index, False)
            if at is None:
                raise PatchApplyError(f"Failed to find context '{chunk.context}' in {shown_path}")
            index = at + 1
        if not chunk.old_lines:  # a pure addition goes at the end
            end = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
            found.append((end, 0, list(chunk.new_lines)))
            continue
        pattern, new = chunk.old_lines, chunk.new_lines
        at = seek_sequence(lines, pattern, index, chunk.end_of_file)
        if at is None and pattern[-1] == "":
            # The trailing empty line stands for the file's final newline: retry without it.
            pattern = pattern[:-1]
            new = new[:-1] if new and new[-1] == "" else new
            at = seek_sequence(lines, pattern, index, chunk.end_of_file)
        if at is None:
            raise PatchApplyError(
                f"Failed to find expected lines in {shown_path}:\n" + "\n".join(chunk.old_lines)
            )
        found.append((at, len(pattern), list(new)))
        index = at + len(pattern)
    return found


def summary(added: list[str], modified: list[str], deleted: list[str]) -> str:
    """What Codex's ``apply_patch`` printed once it had applied a patch."""
    lines = [SUCCESS_HEADER]
    lines += [f"A {path}" for path in added]
    lines += [f"M {path}" for path in modified]
    lines += [f"D {path}" for path in deleted]
    return "\n".join(lines) + "\n"


# -- invocations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchInvocation:
    """A patch found in an argv: the envelope, and the directory a ``cd DIR &&`` moved to."""

    patch: str
    cd: str | None = None


def patch_invocation(argv: object) -> PatchInvocation | None:
    """The patch an argv applies, as Codex read it: ``["apply_patch", PATCH]``, or a shell
    (``bash``/``sh``/``zsh`` with ``-c``/``-lc``) running ``apply_patch <<'EOF'`` (optionally
    after ``cd DIR &&``) as its whole script; None for any other argv."""
    if not isinstance(argv, list) or not all(isinstance(word, str) for word in argv):
        return None
    if len(argv) == 2 and argv[0] in PATCH_COMMANDS:
        return PatchInvocation(argv[1])
    if len(argv) != 3 or argv[0].rsplit("/", 1)[-1] not in ("bash", "sh", "zsh"):
        return None
    if argv[1] not in ("-c", "-lc"):
        return None
    return script_patch(argv[2])


def script_patch(script: str) -> PatchInvocation | None:
    """The patch of a shell script that is only ``[cd DIR &&] apply_patch <<'TAG' ... TAG``."""
    matched = _SCRIPT.match(script.strip())
    if matched is None:
        return None
    rest = matched.group("rest").split("\n")
    if rest[-1].strip() != matched.group("tag"):
        return None
    cd = matched.group("cd")
    if cd is not None:
        cd = shlex.split(cd)[0] if cd[0] in "'\"" else cd
    return PatchInvocation("\n".join(rest[:-1]).rstrip("\n"), cd)
