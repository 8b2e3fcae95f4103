"""De-identification of imported sessions: secrets and personal data become placeholders.

:func:`redact_session` rewrites every string of a session -- message content, reasoning, tool
call arguments (recursively), tool specs, meta, env, task, source path, ids -- replacing each
secret or personal value with a placeholder such as ``<EMAIL_1>`` or ``<API_KEY_2>``. Within one
session the same value always gets the same placeholder, so a tool call and its replayed
recording still match after redaction. Only values are rewritten; dictionary keys are kept.
The returned counter holds the number of replacements per kind, never the values.

Kinds and rules (applied in this order; a value replaced by one rule is not seen by the next):

``private_key``
    PEM blocks ``-----BEGIN ... PRIVATE KEY----- ... -----END ... PRIVATE KEY-----`` (a block
    cut off before its END line is redacted to the end of its base64 body).
``jwt``
    JSON Web Tokens: three base64url segments, the first two starting with ``eyJ``.
``api_key``
    Provider-prefixed keys: OpenAI ``sk-``/``sk-proj-`` (with a digit in the body), Anthropic
    ``sk-ant-``, GitHub ``ghp_ gho_ ghu_ ghs_ ghr_ github_pat_``, Slack ``xox[abposr]-`` and
    ``xapp-``, AWS access key ids ``AKIA...``/``ASIA...``, Google ``AIza...``, Stripe
    ``sk_live_``/``rk_live_`` (and ``_test_``), Hugging Face ``hf_``, GitLab ``glpat-``, npm
    ``npm_``. AWS secret access keys (40 characters of ``[A-Za-z0-9/+]``) by their name
    (``aws_secret_access_key = ...``, ``"SecretAccessKey": "..."``, ``AWS Secret Access Key
    [None]: ...``), or bare within 256 characters of an ``AKIA``/``ASIA`` key id when they mix
    upper and lower case with a digit, ``/`` or ``+`` (so a hex git SHA never qualifies).
``token``
    The credential after ``Bearer``, ``Authorization: token|Basic``.
``url_password``
    The password of a URL's user info, ``scheme://user:PASSWORD@host`` (``postgres://``,
    ``mysql://``, ``mongodb+srv://``, ``redis://:PASSWORD@host``, ``https://``, ...). The user
    name and host are kept: other rules handle them (an IP host, a learned user name).
    Templates are kept (``${DB_PASSWORD}``, ``$PASS``, ``{password}``, ``%s``, ``****``).
``secret``
    The value assigned to a key whose name ends in a secret word (``password``, ``passwd``,
    ``passphrase``, ``secret``, ``token``, ``api_key``/``apikey``/``api-key``, ``secret_key``,
    ``access_key``, ``private_key``; any case, any prefix such as ``client_secret`` or
    ``GITHUB_TOKEN``): a quoted value (``"password": "hunter2hunter2"``,
    ``token='abc12345'``), or an unquoted one when the name is upper case, environment style
    (``GITHUB_TOKEN=...``, ``DB_PASSWORD: ...``). The value must have 8+ characters including
    a digit, must not start with ``$`` (a variable reference) and must not be followed by
    ``(`` or ``[`` (code: ``API_KEY = os.environ[...]``, ``token = get_token()``).
``email``
    ``local@domain.tld``; kept: ``git@`` (SSH remotes), ``noreply@``/``no-reply@``, the
    reserved ``example.com/.org/.net`` domains, and "domains" ending in a file extension
    (``icon@2x.png``).
``user``
    The user-name segment of home directories: ``/home/NAME``, ``/Users/NAME``,
    ``C:\\Users\\NAME`` (also with doubled backslashes or forward slashes). Generic account
    names (``user``, ``ubuntu``, ``runner``, ``root``, ``app``, ``node``, ``vscode``, ``jovyan``,
    ``Shared``, ``Public``, ``Default``, ...) are kept. A name so learned is also replaced as a
    whole word everywhere in the session (``ls -l`` owners, ``alice@host`` prompts, ``~alice``,
    prose), before and after its home directory, when it is distinctive: three characters or
    more and not a common word or directory name (``max``, ``dev``, ``data``, ``git``, ...; see
    :mod:`understudy.replay.redact.users`). It is matched as written in the path and in lower,
    capitalized and upper case (``alice``, ``Alice``, ``ALICE``), all with one placeholder.
``ip``
    IPv4 dotted quads and IPv6 addresses (validated with :mod:`ipaddress`). Loopback,
    unspecified (``0.0.0.0``, ``::``) and broadcast addresses are kept. An address followed
    by ``.PORT`` (tcpdump, macOS ``netstat``) is redacted and its port kept: in tcpdump's
    ``SRC.PORT > DST.PORT:`` (IPv4 or IPv6, the port a number or a service name), or anywhere
    when the port is over 255 (no octet); ``10.0.2.15.48750`` becomes ``<IP_1>.48750``.

Trade-offs (documented, tested):

* A 4-part version such as ``1.2.3.4`` is textually an IPv4 address. It is kept when a version
  marker is right before it (``v1.2.3.4``, ``pkg-1.2.3.4``, ``pkg_1.2.3.4``) or close before
  it (``version 1.2.3.4``, ``ver: ...``, ``rev ...``, ``==``, ``>=``, ``<=``, ``~=``, ``!=``,
  ``^``, ``~``), when it sits inside a longer dotted run (``1.2.3.4.5``, OIDs), or when an
  octet has a leading zero or exceeds 255. Any other dotted quad -- ``Python 3.11.7.1`` and
  ``name@1.2.3.4`` included (``ssh root@10.0.0.5``, a URL's host; ``@`` versions of package
  managers have three parts) -- is redacted as an address, erring on the side of privacy.
* A fifth number keeps a dotted run a version (``1.2.3.4.5``, ``1.2.3.4.100``) unless it is a
  port over 255 or the run is an endpoint of tcpdump's arrow (``1.2.3.4.5 > 1.2.3.4.6:``
  would be taken for two addresses).
* Git SHAs, UUIDs and other hex or base64 strings are never redacted on their own: only
  prefixed keys, JWT shapes, values assigned to secret-named keys and AWS secret keys beside
  their key id are. A secret without a known prefix, outside such an assignment and away
  from a key id (``aws configure get aws_secret_access_key`` output, say) is a known false
  negative.
* A user name is only learned from a home-directory path. A common-word name (``/home/max``,
  ``/Users/dev``) or a short one (``/home/pi``) is replaced in such paths only, so its bare
  occurrences survive; a distinctive name is replaced everywhere, also in a repository URL
  that holds it (``github.com/alice/app``), which then needs ``--envs`` to be rebuilt.
* Unquoted lower-case assignments (``password: hunter22`` in YAML) and secret values
  without a digit are not redacted, to keep ordinary code readable.
* Email addresses whose top-level domain is also a common file extension (``.py``, ``.md``,
  ``.rs``, ``.sh``) are kept -- ``icon@2x.png`` is far more common in code than a Paraguayan
  address.
* AWS access key ids are matched by their ``AKIA``/``ASIA`` prefixes only; other IAM unique
  ids (``AIDA...``, ``AROA...``) are identifiers, not credentials, and are kept.
* A Windows path is recognised with one backslash, two (JSON-escaped text) or a slash; a
  drive letter is required (``C:\\Users\\x``), so a bare ``\\Users\\x`` is kept.
* Private and link-local IP addresses (``10.x``, ``192.168.x``, ``172.17.0.2``) are redacted
  like public ones: they still describe someone's network.

Placeholders never match a rule, so redaction is idempotent; numbering continues after any
placeholder already present in the session, so a partly redacted session stays consistent.
A session is redacted in one pass that learns user names as it goes; it is redacted again
(knowing the names) only when a name turns out to occur in a string redacted before it was
learned, and numbered after existing placeholders only when it holds some.

Most strings hold nothing to redact: the rules are run only on the strings their triggers and
gates single out (:mod:`understudy.replay.redact.gate`: one Aho-Corasick pass over all the
strings of a session for the triggers, then the gates), and only the parts of a session that
hold such strings are rebuilt
(:mod:`understudy.replay.redact.walk`); the outcome is the same as running every rule on
every string.

This module walks a session; the per-session :class:`Redactor` (placeholder numbering) is in
:mod:`understudy.replay.redact.placeholders`, the rule for each kind in
:mod:`understudy.replay.redact.rules` (IP addresses in :mod:`understudy.replay.redact.network`,
user names in :mod:`understudy.replay.redact.users`) and the patterns they match in
:mod:`understudy.replay.redact.patterns`.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain
from operator import itemgetter

from understudy.replay.redact.gate import may_change
from understudy.replay.redact.placeholders import KINDS, Redactor
from understudy.replay.redact.walk import model_parts, transform_parts, walk
from understudy.trajectory import Session

__all__ = ["KINDS", "Redactor", "redact_session", "redact_text"]


def redact_text(text: str) -> tuple[str, Counter[str]]:
    """Redact one string on its own (placeholders numbered from 1, after any already there)."""
    redactor = Redactor()
    redactor.reserve(text)
    return redactor.text(text), redactor.counts


def redact_session(session: Session) -> tuple[Session, Counter[str]]:
    """A copy of ``session`` with secrets and personal data replaced, and counts per kind.

    Every string value anywhere in the session is rewritten (dictionary keys are kept); parts
    that need no change are shared with the input, not copied. The input is not modified.
    """
    parts = model_parts(session)
    candidates = may_change(chain.from_iterable(map(itemgetter(3), parts)))  # the strings
    if not candidates:
        # No rule can change any string, so no user name is learned either: nothing to do.
        return session, Counter()
    redactor = Redactor(candidates=candidates)
    redacted = transform_parts(session, parts, redactor.text, redactor.needs, redactor.skip)
    renumber = redactor.saw_placeholders and bool(redactor.counts)
    if redactor.stale or renumber:
        # Start again, knowing what the first pass learned too late: the user names found in
        # home directories after strings that hold them, or the placeholders already in the
        # session (new values must be numbered after them; only partly redacted input).
        redactor = Redactor(redactor.users, candidates=candidates)
        if renumber:
            walk(session, redactor.reserve)
        redacted = transform_parts(session, parts, redactor.text, redactor.needs, redactor.skip)
    return redacted, redactor.counts
