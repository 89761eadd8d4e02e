"""Stage 2, summarize: a neutral title, bullets and a paragraph, true to the body."""

from __future__ import annotations

from pipeline.stages import StructuredLLM, call_stage
from schemas.article import Article
from schemas.report import StageMetrics
from schemas.summary import Summary


async def summarize(
    article: Article, *, llm: StructuredLLM, snap_threshold: float = 90.0
) -> tuple[Summary, StageMetrics]:
    """Summarise one article in one model call."""
    return await call_stage(
        "summarize",
        Summary,
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        context={"headline": article.title},
    )
