"""Claims an assistant makes about its own actions, found in its text.

- :mod:`~understudy.judges.claims.find`: :func:`find_claims`, the claims of one message;
- :mod:`~understudy.judges.claims.text`: the claim record and the reading of text (sentences,
  code, quotes, hedges);
- :mod:`~understudy.judges.claims.objects`: what a claimed verb acts on;
- :mod:`~understudy.judges.claims.results`: claims of results and commitments.
"""

from understudy.judges.claims.find import FILE_TOKEN, find_claims
from understudy.judges.claims.text import Claim, ClaimKind, mask_code, sentences

__all__ = ["FILE_TOKEN", "Claim", "ClaimKind", "find_claims", "mask_code", "sentences"]
