"""Stage 5, bias: typed findings with verbatim quotes and neutral rewordings."""

from __future__ import annotations

from pipeline.quotes import normalize
from pipeline.stages import StructuredLLM, call_stage
from schemas.article import Article
from schemas.bias import BiasAssessment
from schemas.report import StageMetrics


async def check_bias(
    article: Article, *, llm: StructuredLLM, snap_threshold: float = 90.0
) -> tuple[BiasAssessment, StageMetrics]:
    """Find slant in one model call; a repeated (kind, quote) finding is kept once."""
    result, metrics = await call_stage(
        "bias",
        BiasAssessment,
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        context={"headline": article.title},
    )
    seen: set[tuple[str, str]] = set()
    unique = []
    for finding in result.findings:
        key = (finding.kind.value, normalize(finding.quote)[0])
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return result.model_copy(update={"findings": unique}), metrics
