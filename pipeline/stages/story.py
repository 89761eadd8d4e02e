"""Story stage: one call groups the claims of several audited articles into shared facts;
code then works out who asserts, contradicts or omits each, and how each source frames it.
Claims the model leaves ungrouped are still joined when two sources state them in nearly the
same words.

The model only names claim ids, never new quotes: every quote in a story report is one the
single-article audit already verified against its own article.
"""

from __future__ import annotations

import string
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from pipeline.prompts import prompt_hash, render_messages, schema_guide
from pipeline.stages import StructuredLLM
from schemas.bias import BiasKind
from schemas.report import ArticleReport
from schemas.story import (
    CrossClaim,
    SourceFraming,
    SourceRef,
    StoryComparison,
    StoryReport,
)

SAME_CLAIM = 90  # rapidfuzz token_set_ratio at which two sources' claims are one fact
HEADLINE_KINDS = {BiasKind.headline_body_mismatch, BiasKind.clickbait_headline}


def letters(count: int) -> list[str]:
    """A, B, C... for up to 26 sources."""
    if count > len(string.ascii_uppercase):
        raise ValueError("a story compares at most 26 articles")
    return list(string.ascii_uppercase[:count])


async def compare_story(reports: list[ArticleReport], *, llm: StructuredLLM) -> StoryReport:
    """Group the articles' claims in one call and derive the cross-source view."""
    marks = letters(len(reports))
    sources: list[dict[str, Any]] = [
        {
            "letter": letter,
            "title": r.article.title,
            "published": r.article.published,
            "claims": [c.claim for c in r.claims],
        }
        for letter, r in zip(marks, reports, strict=True)
    ]
    ids = {f"{s['letter']}{n}" for s in sources for n in range(1, len(s["claims"]) + 1)}
    messages = render_messages("story", sources=sources, guide=schema_guide(StoryComparison))
    comparison, metrics = await llm.structured(
        "story", StoryComparison, messages, {"claim_ids": ids}
    )
    metrics.prompt_hash = prompt_hash("story")
    claims = cross_claims(comparison, reports, marks)
    return StoryReport(
        sources=[
            SourceRef(letter=m, id=r.article.id, title=r.article.title, source=r.article.source)
            for m, r in zip(marks, reports, strict=True)
        ],
        claims=claims,
        different_events=comparison.different_events,
        framing=framing(reports, claims),
        compare_stage=metrics,
    )


def _quote(reports: list[ArticleReport], marks: list[str], claim_id: str) -> tuple[str, str]:
    letter, number = claim_id[0], int(claim_id[1:])
    return letter, reports[marks.index(letter)].claims[number - 1].claim.quote


def cross_claims(
    comparison: StoryComparison, reports: list[ArticleReport], marks: list[str]
) -> list[CrossClaim]:
    """Each group with every source's stance and quotes; ungrouped claims as single-source."""
    used: set[str] = set()
    out = []
    for group in comparison.groups:
        members = [i for i in group.claims if i not in used]
        against = [i for i in group.contradicting if i not in used and i not in members]
        if not against and len({i[0] for i in members}) < 2:
            continue  # not a cross-source fact: its claims are clustered below like the rest
        used.update(members, against)
        asserted: dict[str, list[str]] = {}
        for letter, quote in (_quote(reports, marks, i) for i in members):
            asserted.setdefault(letter, []).append(quote)
        contradicted: dict[str, list[str]] = {}
        for letter, quote in (_quote(reports, marks, i) for i in against):
            contradicted.setdefault(letter, []).append(quote)
        out.append(
            CrossClaim(
                statement=group.statement,
                asserted_by=asserted,
                contradicted_by=contradicted,
                silent=[m for m in marks if m not in asserted and m not in contradicted],
                note=group.note,
            )
        )
    left = [
        (f"{letter}{number}", audit.claim.claim)
        for letter, report in zip(marks, reports, strict=True)
        for number, audit in enumerate(report.claims, start=1)
        if f"{letter}{number}" not in used
    ]
    for cluster in _near_duplicates(left):
        asserted = {}
        for letter, quote in (_quote(reports, marks, i) for i in cluster):
            asserted.setdefault(letter, []).append(quote)
        statement = dict(left)[cluster[0]]
        silent = [m for m in marks if m not in asserted]
        out.append(CrossClaim(statement=statement, asserted_by=asserted, silent=silent))
    return out


def _near_duplicates(claims: list[tuple[str, str]]) -> list[list[str]]:
    """Claims the model left ungrouped, clustered when different sources state them in nearly
    the same words (a small model misses even identical sentences); others stay alone."""
    clusters: list[list[str]] = []
    texts = dict(claims)
    for claim_id, text in claims:
        for cluster in clusters:
            other_sources = all(member[0] != claim_id[0] for member in cluster)
            score = fuzz.token_set_ratio(text, texts[cluster[0]], processor=default_process)
            if other_sources and score >= SAME_CLAIM:
                cluster.append(claim_id)
                break
        else:
            clusters.append([claim_id])
    return clusters


def framing(reports: list[ArticleReport], claims: list[CrossClaim]) -> list[SourceFraming]:
    """Per source: slant, headline and loaded-language findings, unsupported share, omissions."""
    marks = letters(len(reports))
    out = []
    for letter, report in zip(marks, reports, strict=True):
        kinds = [f.kind for f in report.bias.findings]
        assessed = [c for c in report.claims if c.verdict is not None]
        out.append(
            SourceFraming(
                letter=letter,
                overall_slant=report.bias.overall.value,
                headline_findings=sum(k in HEADLINE_KINDS for k in kinds),
                loaded_language=kinds.count(BiasKind.loaded_language),
                claims=len(report.claims),
                unsupported_share=round(len(report.unsupported) / len(assessed), 3)
                if assessed
                else None,
                omits=[
                    c.statement for c in claims if letter in c.silent and len(c.asserted_by) >= 2
                ],
            )
        )
    return out
