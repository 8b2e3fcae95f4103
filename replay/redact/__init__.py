"""De-identification of imported sessions (see :mod:`~understudy.replay.redact.session`).

- :mod:`~understudy.replay.redact.session`: :func:`redact_session` and :func:`redact_text`;
- :mod:`~understudy.replay.redact.placeholders`: the kinds and the consistent placeholders;
- :mod:`~understudy.replay.redact.patterns`: the patterns each kind is found by;
- :mod:`~understudy.replay.redact.rules`: the ordered rules that apply them;
- :mod:`~understudy.replay.redact.gate`: which strings of a session the rules may change,
  found for all of them at once;
- :mod:`~understudy.replay.redact.walk`: collecting and rewriting the strings of a session;
- :mod:`~understudy.replay.redact.network`, :mod:`~understudy.replay.redact.users`: addresses
  and user names.
"""

from understudy.replay.redact.placeholders import KINDS
from understudy.replay.redact.session import redact_session, redact_text

__all__ = ["KINDS", "redact_session", "redact_text"]
