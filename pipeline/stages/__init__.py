"""One module per stage; each is a plain async function of the article and an ``llm``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from pipeline.model.prompts import prompt_hash, render_messages, schema_guide
from pipeline.text.quotes import ArticleQuotes
from pipeline.text.sentences import Segment, numbered_text, segment
from schemas.article import Article
from schemas.report import StageMetrics

T = TypeVar("T", bound=BaseModel)


class StructuredLLM(Protocol):
    """What stages need of an llm: one validated structured call (pipeline.model.llm.LLM, or a
    fake)."""

    async def structured(
        self,
        stage: str,
        response_model: type[T],
        messages: list[dict[str, str]],
        context: dict[str, Any] | None = None,
    ) -> tuple[T, StageMetrics]: ...

    async def probe(
        self, stage: str, messages: list[dict[str, str]], options: Sequence[str]
    ) -> tuple[dict[str, float] | None, StageMetrics]: ...


async def call_stage(
    stage: str,
    response_model: type[T],
    article: Article,
    *,
    llm: StructuredLLM,
    snap_threshold: float,
    segments: Sequence[Segment] | None = None,
    context: dict[str, Any] | None = None,
    **variables: Any,
) -> tuple[T, StageMetrics]:
    """Render the stage's prompt over the numbered sentences, make the call with sentence
    numbers and quotes checked, stamp the prompt hash."""
    shown = list(segments) if segments is not None else segment(article)
    messages = render_messages(
        stage,
        article=article,
        numbered=numbered_text(shown),
        guide=schema_guide(response_model),
        **variables,
    )
    full_context = {
        "quotes": ArticleQuotes(article.text, snap_threshold),
        "sentence_ids": {s.id for s in shown},
        **(context or {}),
    }
    result, metrics = await llm.structured(stage, response_model, messages, full_context)
    metrics.prompt_hash = prompt_hash(stage)
    return result, metrics
