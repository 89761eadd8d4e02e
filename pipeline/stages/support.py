"""Stage 4, support: one call judges every claim against the article, citing evidence."""

from __future__ import annotations

from pipeline.stages import StructuredLLM, call_stage
from schemas.article import Article
from schemas.claims import Claim
from schemas.report import StageMetrics
from schemas.support import SupportAssessment, SupportVerdict


async def check_support(
    article: Article,
    claims: list[Claim],
    *,
    llm: StructuredLLM,
    snap_threshold: float = 90.0,
) -> tuple[dict[int, SupportVerdict], StageMetrics]:
    """Verdicts keyed by claim number (1-based); claims the model skipped have no entry."""
    if not claims:
        return {}, StageMetrics(stage="support")
    result, metrics = await call_stage(
        "support",
        SupportAssessment,
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        context={"claim_count": len(claims)},
        claims=claims,
    )
    verdicts: dict[int, SupportVerdict] = {}
    for verdict in result.verdicts:
        verdicts.setdefault(verdict.claim_id, verdict)
    return verdicts, metrics
