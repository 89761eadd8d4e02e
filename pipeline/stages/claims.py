"""Stage 3, claims: check-worthy factual claims, each with a verified verbatim quote."""

from __future__ import annotations

from pipeline.quotes import normalize
from pipeline.stages import StructuredLLM, call_stage
from schemas.article import Article
from schemas.claims import Claim, ClaimList
from schemas.report import StageMetrics


def dedupe(claims: list[Claim]) -> list[Claim]:
    """Drop claims whose quote repeats an earlier claim's quote."""
    seen: set[str] = set()
    kept = []
    for claim in claims:
        key = normalize(claim.quote)[0]
        if key not in seen:
            seen.add(key)
            kept.append(claim)
    return kept


async def extract_claims(
    article: Article, *, llm: StructuredLLM, max_claims: int = 12, snap_threshold: float = 90.0
) -> tuple[list[Claim], StageMetrics]:
    """Extract up to ``max_claims`` claims in one model call."""
    result, metrics = await call_stage(
        "claims", ClaimList, article, llm=llm, snap_threshold=snap_threshold, max_claims=max_claims
    )
    return dedupe(result.claims)[:max_claims], metrics
