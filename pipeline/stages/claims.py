"""Stage 3, claims: check-worthy factual claims, each with a verified verbatim quote."""

from __future__ import annotations

from pipeline.quotes import normalize
from pipeline.stages import StructuredLLM, call_stage
from pipeline.stages.clean import is_prose
from schemas.article import Article
from schemas.claims import Claim, ClaimList
from schemas.report import StageMetrics


def is_heading(quote: str, article: Article) -> bool:
    """True when the quote is a whole paragraph that is a heading, not a sentence."""
    key = normalize(quote)[0]
    return any(normalize(p)[0] == key and not is_prose(p) for p in article.paragraphs)


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
    headings = [c for c in result.claims if is_heading(c.quote, article)]
    metrics.dropped_items += len(headings)
    metrics.dropped_reasons += [f"claims: heading, not a claim: {c.quote!r}" for c in headings]
    kept = [c for c in result.claims if c not in headings]
    return dedupe(kept)[:max_claims], metrics
