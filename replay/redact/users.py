"""User names: learned from home directories, then replaced wherever they occur in a session.

A home directory (``/home/NAME``, ``/Users/NAME``, ``C:\\Users\\NAME``) names its user. The
name is replaced in every such path unless it is a generic account (:data:`GENERIC_USERS`).
A *distinctive* name -- three characters or more, neither a generic account nor a common word
or directory name (:data:`COMMON_WORDS`: ``max``, ``dev``, ``data``, ``git``, ...) -- is also
replaced as a whole word wherever it occurs in the session, before or after the path that
taught it: ``ls -l`` owner columns, prompts (``alice@host``), ``~alice``, prose. A whole word
is delimited by anything but a letter, digit or ``_``; the name is matched as written in the
path, in lower case, capitalized and upper case, and all of these get one placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from understudy.replay.redact.patterns import WORD_CHARS

_NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9._\-]{0,63}(?<![.\-]))(?![A-Za-z0-9_])"
_POSIX_HOME_RE = re.compile(r"/(?:home|Users)/" + _NAME)
_WINDOWS_HOME_RE = re.compile(r":(?:\\\\|\\|/)(?i:users)(?:\\\\|\\|/)" + _NAME)
POSIX_TRIGGERS = ("/home/", "/Users/")
WINDOWS_TRIGGERS = ("sers\\", "sers/", "SERS\\", "SERS/")
_WORD_BREAK = re.compile(r"[\s\"'<>()\[\]]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


GENERIC_USERS = _words(
    """
    user users username ubuntu runner root app node vscode jovyan linuxbrew ec2-user coder
    shared public default guest admin circleci travis codespace codespaces developer me you
    name your-name yourname your_username myuser swe-user agent
    """
)
"""Account names that say nothing about a person: kept, even inside home paths."""

COMMON_WORDS = _words(
    """
    test tests tester testing testuser dev devel develop build builder builds deploy deployer
    work workspace workspaces project projects source code data dataset datasets docs home site
    sites web www www-data html gitlab github svn jenkins bamboo buildkite buildbot drone
    gitpod docker podman kube postgres postgresql mysql redis mongo mongodb nginx apache httpd
    http https mail ftp backup backups server servers service services system administrator
    operator ops devops bot bots worker workers daemon nobody python python3 java ruby rust
    golang conda anaconda miniconda pyenv venv local temp cache config scratch sandbox container
    containers host hosts demo demos example examples sample samples student students team
    teams staff everyone share media storage files downloads documents desktop library
    applications pictures music movies steam debian fedora centos alpine arch kali vagrant
    ansible terraform azure cloud cloudshell colab kaggle notebook notebooks jupyter lab labs
    main master dummy foo bar baz qux
    add all any api arg bin box bug cat cli cmd col cpu csv dir doc end env err etc fix fun gen
    get git hub img inc ini jar job key lib log logs man map max min msg net new nil now npm
    obj off old one opt org out pid pip pkg pod pos pub put raw ref req res row rpc run sdk sec
    set src ssh std str sub sum svc sys tag tar tcp tmp top try two txt udp uid url usr val var
    vim who win xml yes zip
    will mark bill jack grace rose may june april august hope ray rich frank chase hunter page
    king bell brown green white black gray grey long young little park wood hill stone river sky
    sun star moon art ash buck dean drew gene guy jay lance miles pat penny ruby crystal amber
    ivy holly iris lily violet daisy hazel olive pearl ginger basil sage dawn joy faith summer
    autumn winter spring storm rain snow forest glen cliff rusty sandy dusty happy lucky angel
    rock pepper cookie
    """
)
"""Names replaced inside home paths only: as words they are too common to replace anywhere."""


def home_users(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, name)`` of each user-name segment of a home directory in ``text`` (but
    generic account names)."""
    if any(map(text.__contains__, POSIX_TRIGGERS)):
        for m in _POSIX_HOME_RE.finditer(text):
            start = m.start()
            # ``https://site/home/about`` is a URL path, not a home directory.
            if _in_url(text, start):
                continue
            if m.group("name").lower() not in GENERIC_USERS:
                yield m.start("name"), m.end("name"), m.group("name")
    if any(map(text.__contains__, WINDOWS_TRIGGERS)):
        for m in _WINDOWS_HOME_RE.finditer(text):
            start = m.start()  # the colon of ``C:``
            drive = text[start - 1] if start > 0 else ""
            if not drive.isascii() or not drive.isalpha():
                continue
            if start > 1 and text[start - 2] in WORD_CHARS:
                continue
            if m.group("name").lower() not in GENERIC_USERS:
                yield m.start("name"), m.end("name"), m.group("name")


def _in_url(text: str, start: int) -> bool:
    """Whether the path at ``start`` is part of a URL (but a ``file://`` one): of the word it
    ends, within the 300 characters before it."""
    before = text[max(0, start - 300) : start]
    if "://" not in before:  # (most paths: no word before them is split out)
        return False
    token = _WORD_BREAK.split(before)[-1]
    return "://" in token and not token.lower().startswith("file://")


class KnownUsers:
    """The distinctive user names learned in one session, and how to find them as words."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self.triggers: tuple[str, ...] = ()
        """The spellings to look for (a plain substring test rules most strings out)."""
        self.regex: re.Pattern[str] | None = None

    def add(self, name: str) -> tuple[str, ...]:
        """Note ``name`` if it is distinctive and new; return the spellings it adds."""
        key = name.lower()
        if key in self._names or len(name) < 3 or key in COMMON_WORDS or key in GENERIC_USERS:
            return ()
        self._names.add(key)
        spellings = tuple(dict.fromkeys((name, key, name.capitalize(), name.upper())))
        self.triggers += spellings
        alternatives = "|".join(map(re.escape, sorted(self.triggers, key=len, reverse=True)))
        self.regex = re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])")
        return spellings

    def find(self, text: str) -> Iterator[tuple[int, int, str]]:
        """``(start, end, name in lower case)`` of each whole-word occurrence in ``text``."""
        if self.regex is not None:
            for m in self.regex.finditer(text):
                yield m.start(), m.end(), m.group(0).lower()
