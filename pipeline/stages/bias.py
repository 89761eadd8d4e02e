"""Stage 5, bias: typed findings with verbatim quotes and neutral rewordings."""

from __future__ import annotations

from pipeline.quotes import normalize
from pipeline.stages import StructuredLLM, call_stage
from schemas.article import Article
from schemas.bias import HEADLINE_KINDS, BiasAssessment, BiasFinding, BiasKind, Severity
from schemas.report import StageMetrics


def headline_finding(article: Article, result: BiasAssessment) -> BiasFinding | None:
    """A mismatch finding when the body reports none of the words for a headline assertion."""
    unreported = [c.assertion for c in result.headline_claims if c.body_quote is None]
    if article.title is None or not unreported:
        return None
    return BiasFinding(
        kind=BiasKind.headline_body_mismatch,
        quote=article.title,
        severity=Severity.medium,
        explanation="The body does not report what the headline asserts: " + "; ".join(unreported),
        neutral_rewording=result.neutral_headline,
    )


def _about_the_headline(finding: BiasFinding, article: Article) -> bool:
    headline = normalize(article.title or "")[0]
    return bool(headline) and normalize(finding.quote)[0] in headline


async def check_bias(
    article: Article, *, llm: StructuredLLM, snap_threshold: float = 90.0
) -> tuple[BiasAssessment, StageMetrics]:
    """Find slant in one model call; headline kinds must quote the headline; no duplicates."""
    result, metrics = await call_stage(
        "bias",
        BiasAssessment,
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        context={"headline": article.title},
    )
    findings = []
    for finding in result.findings:
        if finding.kind in HEADLINE_KINDS and not _about_the_headline(finding, article):
            metrics.dropped_items += 1
            metrics.dropped_reasons.append(
                f"findings: {finding.kind.value} not quoting the headline"
            )
        else:
            findings.append(finding)
    headline = headline_finding(article, result)
    if headline is not None and not any(f.kind is headline.kind for f in findings):
        findings.insert(0, headline)
    seen: set[tuple[str, str]] = set()
    unique = []
    for finding in findings:
        key = (finding.kind.value, normalize(finding.quote)[0])
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return result.model_copy(update={"findings": unique}), metrics
