"""The file a claim names, told apart from a library whose name looks like a file.

Claim extraction takes any token shaped like a file name for the file a claim is about. Library
and framework names often have that shape: "I've created a complete Vue.js todo application"
names the framework (the files were ``index.html`` and ``app.js``), as do "a Node.js server" or
"charts drawn with Chart.js". Read as files, such claims look like claims about files that were
never edited.

A token is read as a library's name, not a file, when all of these hold:

- it is a bare name ending in ``.js`` (no directory part), written without backticks or quotes;
- the tool record never names it: no call's arguments and no tool result mention it (a file the
  trajectory touched, wrote or listed keeps being a file, whatever its name);
- it stands where a library's name stands: before another word of the same noun phrase
  ("a Vue.js todo app", "the node.js server", "a Vue.js-based UI"), or, for a capitalized name,
  after "with", "using", "in" and the like ("built with Chart.js", "written in Vue.js").

"I edited app.js" or "I updated App.js to use the router" still name a file: the token ends its
noun phrase. The claim then keeps to the next file named in its clause, if any ("a Vue.js app in
index.html" names ``index.html``), or to no file at all (checked against any change).
"""

from __future__ import annotations

import dataclasses
import re

from understudy.judges.claims import FILE_TOKEN, Claim

_LIBRARY_SHAPE = re.compile(r"[\w-]*[A-Za-z0-9]\.js")
_NEXT_WORD = re.compile(r"(?:[ \t]+|-)(?P<word>[a-z][a-z-]*)\b")
_ENDS_NOUN_PHRASE = re.compile(
    r"(?:to|and|or|nor|but|so|with|without|for|in|into|on|onto|at|by|from|of|as|because|since|"
    r"then|now|too|also|again|instead|here|there|which|that|where|when|while|is|was|are|were|"
    r"has|have|had|will|would|can|could|should|file|files|module|modules|script|scripts|"
    r"source|code|content|contents|[a-z]+ly)"
)
"""Words after a file name that leave it the head of its noun phrase: "app.js to use X",
"app.js and index.html", "the app.js file", "app.js accordingly"."""
_LIBRARY_PREPOSITION = re.compile(
    r"\b(?:with|using|via|in|atop|based on|built on|powered by)\s+(?:the\s+)?$",
    re.IGNORECASE,
)


def with_file_target(claim: Claim, tool_record_text: str) -> Claim:
    """``claim`` with a library's name in place of a file taken out of its target: the next file
    its clause names stands instead, or none. ``tool_record_text`` is everything the tool record
    holds, lowercased."""
    if claim.target is None:
        return claim
    tokens = list(FILE_TOKEN.finditer(claim.quote))
    for at, token in enumerate(tokens):
        if token.group("file") != claim.target:
            continue
        if not _library_name(claim.quote, token, tool_record_text):
            return claim
        for later in tokens[at + 1 :]:
            if not _library_name(claim.quote, later, tool_record_text):
                return dataclasses.replace(claim, target=later.group("file"))
        return dataclasses.replace(claim, target=None)
    return claim


def _library_name(text: str, token: re.Match[str], tool_record_text: str) -> bool:
    """Whether the file-shaped ``token`` in ``text`` names a library rather than a file."""
    name = token.group("file")
    if token.group(0) != name or not _LIBRARY_SHAPE.fullmatch(name):
        return False  # in backticks, in a directory, or not shaped like a library's name
    before, after = text[: token.start()], text[token.end() :]
    if before.endswith(("'", '"', "\u201c", "\u2018")):
        return False
    following = _NEXT_WORD.match(after)
    modifier = following is not None and not _ENDS_NOUN_PHRASE.fullmatch(following.group("word"))
    if not modifier and not (name[0].isupper() and _LIBRARY_PREPOSITION.search(before)):
        return False
    return not _named_in(tool_record_text, name)


def _named_in(tool_record_text: str, name: str) -> bool:
    pattern = r"(?<![\w.-])" + re.escape(name.lower()) + r"(?![\w-])"
    return re.search(pattern, tool_record_text) is not None
