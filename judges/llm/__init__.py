"""The LLM judge: one call per trajectory to an OpenAI-compatible endpoint.

- :mod:`~understudy.judges.llm.judge`: :class:`LLMJudge` and its conversation with the endpoint;
- :mod:`~understudy.judges.llm.prompt`: the system prompt, the ledger and the transcript;
- :mod:`~understudy.judges.llm.transcript`: the transcript held to its size, marked where cut;
- :mod:`~understudy.judges.llm.reply`: the reply schema and the parsing of a reply;
- :mod:`~understudy.judges.llm.judgments`: evidence checked against the messages it cites.
"""

from understudy.judges.llm.judge import LLMJudge
from understudy.judges.llm.judgments import quote_in_message
from understudy.judges.llm.reply import extract_json_object
from understudy.judges.llm.transcript import render_transcript

__all__ = ["LLMJudge", "extract_json_object", "quote_in_message", "render_transcript"]
