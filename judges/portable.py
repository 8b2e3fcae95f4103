"""PortableLLMJudge: the LLM judge as a recipe that travels to other processes.

An :class:`~understudy.judges.llm.LLMJudge` holds an HTTP client, which does not survive
pickling (its connections, its locks). A judging pass on Ray workers sends its judges to them,
so what travels for the LLM judge is its constructor's arguments; each process makes its own
judge (and client) from them on first use, as
:class:`~understudy.replay.shared_candidate.SharedCandidate` does for candidates. The rule judges
travel as they are: they hold nothing but their name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from understudy.endpoints import key_environment
from understudy.trajectory import Judgment, Rollout, Session

if TYPE_CHECKING:
    from understudy.judges.llm import LLMJudge
    from understudy.judges.taxonomy import Category, Taxonomy


class PortableLLMJudge:
    """A judge that is one :class:`~understudy.judges.llm.LLMJudge` per process, made on first
    use from ``model``, ``categories`` and ``options`` (the judge's other keyword arguments:
    base_url, api_key_env, max_retries, ...). Pickled, it is those arguments alone."""

    def __init__(self, model: str, *, categories: Sequence[Category], **options: Any) -> None:
        self.model = model
        self.name = f"llm:{model}"
        self.categories = list(categories)
        self.category_ids = [category.id for category in self.categories]
        self.options = options
        """Keyword arguments of ``LLMJudge`` besides the model and the categories."""
        self._judge: LLMJudge | None = None

    @classmethod
    def from_taxonomy(
        cls, model: str, taxonomy: Taxonomy, ids: Sequence[str] | None = None, **options: Any
    ) -> PortableLLMJudge:
        """A judge over ``ids`` of ``taxonomy`` (all of its categories when None)."""
        categories = taxonomy.select(list(ids) if ids is not None else None)
        options.setdefault("taxonomy_version", str(taxonomy.version))
        return cls(model, categories=categories, **options)

    def instance(self) -> LLMJudge:
        """This process's judge, made on first use (a bad setting, a missing API key: a
        ConfigError then; call it early to find out before judging)."""
        if self._judge is None:
            from understudy.judges.llm import LLMJudge

            self._judge = LLMJudge(self.model, categories=self.categories, **self.options)
        return self._judge

    async def judge(self, session: Session, rollout: Rollout | None) -> list[Judgment]:
        return await self.instance().judge(session, rollout)

    def environment(self) -> dict[str, str]:
        """The variables a worker elsewhere needs to make the client (the API key's, when it is
        set here); never logged."""
        return key_environment(self.options)

    async def close(self) -> None:
        """Close this process's judge, if one was made (another is made if it is used again)."""
        if self._judge is not None:
            judge, self._judge = self._judge, None
            await judge.close()

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "categories": self.categories, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.model = state["model"]
        self.name = f"llm:{self.model}"
        self.categories = list(state["categories"])
        self.category_ids = [category.id for category in self.categories]
        self.options = state["options"]
        self._judge = None

    def __repr__(self) -> str:
        return f"PortableLLMJudge({self.model!r}, categories={self.category_ids!r})"
