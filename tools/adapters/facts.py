"""What a logged tool call does, as far as its name and arguments tell: :class:`CallFacts`.

Replay translates a call onto a canonical tool; judging needs to know what the call did (read,
wrote, edited, searched, fetched, ran a script, ...). Both read the same vocabulary of logged
tool names, so an adapter answers both questions (``translate`` and ``describe``), and the names
that replay treats as opaque are described here too (:mod:`understudy.tools.adapters.describers`).

A fact that needs more than the call itself is left open: whether a shell script changes
anything is for the reader of the script to tell (``changes_state`` is None), and the file a
windowed call acts on when it names none is the one the viewer has open (``on_open_file``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CallKind = Literal["read", "write", "edit", "search", "fetch", "run", "other"]
"""What a call does: ``run`` is running a script (see ``CallFacts.script``)."""

_OTHER: list[CallKind] = ["other"]

Unreadable = Literal["refused", "unclear"]
"""What arguments that cannot be read mean: ``refused`` when the tool's harness checks its
arguments (so the call did nothing), ``unclear`` when it is not known to."""


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines too) as one space."""
    # str.split() splits where ``\s+`` matches (both use str.isspace), in a fraction of the time.
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ``...`` marking a cut."""
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


class EditDiff(BaseModel):
    """Text an edit replaced: ``old`` became ``new`` in ``path`` (whole file when
    ``whole_file``)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    path: str
    """The file edited (empty while it is the viewer's open file, not yet known)."""
    old: str = ""
    """The text replaced (empty for an insertion or a whole file)."""
    new: str = ""
    """The text put in its place (for a patch: the whole patch)."""
    whole_file: bool = False
    """``new`` is the whole content of the file."""


class CallFacts(BaseModel):
    """What one logged call does, as far as its name and arguments tell."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    canonical: str | None = None
    """The canonical tool the call is read as (shell, editor, read_file, write_file, browser,
    calculator), or None for a tool read on its own terms."""
    kinds: list[CallKind] = Field(default_factory=lambda: _OTHER.copy())
    """What the call does, in no particular order."""
    changes_state: bool | None = None
    """True: it changes files or state; False: it does not; None: the call alone cannot tell
    (a script, a tool with no known effects)."""
    paths: list[str] = Field(default_factory=list)
    """Files the call reads, edits or writes, as named in the call."""
    edits: list[EditDiff] = Field(default_factory=list)
    """The text edits of editor, write and patch calls."""
    query: str | None = None
    """For searches: the query or pattern."""
    scope: Literal["web", "code"] | None = None
    """For searches: the web, or the code at hand."""
    url: str | None = None
    """For fetches: the URL."""
    script: str | None = None
    """The shell script the call runs, if it runs one."""
    workdir: str | None = None
    """The directory the call runs in when the call names one (Codex's ``workdir``; relative
    paths of the call are relative to it); None: the session's working directory."""
    background: bool = False
    """The call asks for its script to run in the background (``run_in_background``)."""
    delegated: bool = False
    """The call hands work to another agent, whose own calls are not in the log."""
    summary: str = ""
    """The arguments in one line (empty: nothing shorter than the arguments themselves)."""
    on_open_file: bool = False
    """When it names no file, the call acts on the file open in SWE-agent's viewer."""
    opens_file: bool = False
    """The call opens its file in SWE-agent's viewer, for later windowed calls to act on."""
    unreadable: Unreadable | None = None
    """Set when the arguments could not be read (a required one missing or not text): the other
    facts then hold only what the name tells (see ``describers.unreadable``)."""

    @classmethod
    def of_script(
        cls,
        script: str,
        canonical: str | None = "shell",
        background: bool = False,
        summary: str | None = None,
    ) -> CallFacts:
        """A call that runs ``script`` (summarized as the script in one line, by default)."""
        return cls(
            canonical=canonical,
            kinds=["run"],
            script=script,
            background=background,
            summary=clip(one_line(script), 300) if summary is None else summary,
        )

    def with_open_file(self, open_file: str | None) -> CallFacts | None:
        """These facts with the viewer's open file as the file acted on, when the call names
        none and acts on it; None when the call would change a file and none is open (nothing
        tells which)."""
        if not self.on_open_file or self.paths:
            return self
        if open_file is None:
            return self if self.changes_state is False else None
        edits = [edit.model_copy(update={"path": open_file}) for edit in self.edits]
        summary = f"{self.summary} {open_file}".strip()
        return self.model_copy(update={"paths": [open_file], "edits": edits, "summary": summary})


def required_text(arguments: dict[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-empty string, or None when none does."""
    for key in keys:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value
    return None
