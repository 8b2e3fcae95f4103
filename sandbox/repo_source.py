"""Where a repository is cloned from: URL normalisation and ``--repo-mirror`` rules.

A log names a repository by the URL its agent cloned (``https://github.com/o/n``,
``git@github.com:o/n.git``, ``ssh://git@github.com/o/n``, ``https://github.com/o/n/``). Every
form is first normalised to ``https://HOST/OWNER/NAME``; a mirror rule then maps it to what is
cloned instead. A rule is ``URL=PATH`` in one of two forms:

* a template, with ``{host}``, ``{owner}`` and ``{name}`` fields on both sides:
  ``https://github.com/{owner}/{name}=/srv/git/{owner}+{name}``;
* a prefix, as git's ``insteadOf``: ``https://github.com/=/srv/git/`` clones
  ``https://github.com/o/n`` from ``/srv/git/o/n``.

The first rule that matches wins. The target may be anything ``git clone`` takes: a directory,
a bare repository, a git bundle (``/work/repos/{owner}__{name}.bundle``) or another URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from understudy.errors import ConfigError

__all__ = ["MirrorRule", "apply_mirrors", "normalise_url", "parse_mirror_rules"]

_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>.+)$")
_URL = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>.*)$"
)
_FIELDS = re.compile(r"\{(host|owner|name)\}")


def normalise_url(url: str) -> str:
    """``https://HOST/PATH`` for any https, http, ssh, git or scp-like (``git@host:o/n``) URL,
    without a ``.git`` suffix or trailing slash; anything else (a local path) as given."""
    text = url.strip()
    match = _URL.match(text)
    if match is None and "://" not in text and not text.startswith(("/", ".")):
        match = _SCP_LIKE.match(text)
    if match is None or (match.groupdict().get("scheme") or "ssh") == "file":
        return text
    path = match.group("path").strip("/").removesuffix(".git").rstrip("/")
    return f"https://{match.group('host').lower()}/{path}"


@dataclass(frozen=True)
class MirrorRule:
    """One ``--repo-mirror`` rule: a URL template or prefix and what replaces it."""

    url: str
    """The URL side, normalised (a template with fields, or a prefix)."""
    target: str
    """The clone source side, with the same fields (template) or as a prefix."""
    given: str
    """The rule as the user wrote it, for messages."""

    def apply(self, url: str) -> str | None:
        """What ``url`` (normalised) is cloned from under this rule, or None if it does not
        match."""
        if not _FIELDS.search(self.url):
            prefix = self.url if self.url.endswith("/") else self.url + "/"
            if url == self.url or url.startswith(prefix):
                return self.target + url[len(self.url) :]
            return None
        match = re.fullmatch(_template_pattern(self.url), url)
        if match is None:
            return None
        return _FIELDS.sub(lambda field: match.group(field.group(1)), self.target)


def _template_pattern(template: str) -> str:
    """A regular expression matching the URLs of a template; each field one path segment."""
    pieces = _FIELDS.split(template)  # text, field, text, field, ..., text
    pattern = ""
    for index, piece in enumerate(pieces):
        pattern += re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>[^/]+)"
    return pattern


def parse_mirror_rules(values: list[str]) -> list[MirrorRule]:
    """The ``--repo-mirror`` values as rules; a malformed one is a ConfigError naming it."""
    rules = []
    for value in values:
        url, sep, target = value.partition("=")
        if not sep or not url.strip() or not target.strip():
            raise ConfigError(
                f"--repo-mirror {value!r}: give URL=PATH, e.g. "
                "'https://github.com/{owner}/{name}=/srv/git/{owner}__{name}.bundle' or the "
                "prefix form 'https://github.com/=/srv/git/'"
            )
        unknown = set(re.findall(r"\{([^}]*)\}", value)) - {"host", "owner", "name"}
        if unknown:
            raise ConfigError(
                f"--repo-mirror {value!r}: unknown field(s) {sorted(unknown)}; the fields are "
                "{host}, {owner} and {name}"
            )
        stripped = url.strip()
        normal = normalise_url(stripped)
        if stripped.endswith("/") and not _FIELDS.search(stripped) and not normal.endswith("/"):
            normal += "/"  # a prefix that ends at a path segment
        rules.append(MirrorRule(url=normal, target=target.strip(), given=value))
    return rules


def apply_mirrors(url: str, rules: list[MirrorRule]) -> tuple[str, MirrorRule | None]:
    """What ``url`` is cloned from: the first matching rule's target (and the rule), else the
    normalised URL itself (and None)."""
    normal = normalise_url(url)
    for rule in rules:
        target = rule.apply(normal)
        if target is not None:
            return target, rule
    return normal, None
