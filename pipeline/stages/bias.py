"""Stage 5, bias: slanted sentences, the headline against the body, and an overall verdict.

Which sentences slant is read from their signals (combined P(subjective) at or above the
finding threshold, fitted for precision); the model is asked only for what a model does best:
what the headline asserts and which body sentence reports it, and a neutral rewording of each
flagged sentence. A finding quotes the words the classifier finds most subjective (traced
from its decision to the words, so always a slice of the sentence). A headline with ! or ?
is clickbait by rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.core.config import JudgmentSettings
from pipeline.signals.citations import SentenceIndex
from pipeline.stages import StructuredLLM, call_stage
from pipeline.stages.verify import check_statements
from pipeline.text.sentences import Segment
from schemas.article import Article
from schemas.bias import (
    BiasAssessment,
    BiasDraft,
    BiasFinding,
    BiasKind,
    HeadlineClaim,
    Severity,
    Slant,
)
from schemas.report import StageMetrics
from schemas.sentence import Sentence, SentenceLabel
from schemas.verification import Support

SLANT_ORDER = [Slant.neutral, Slant.slightly_slanted, Slant.strongly_slanted]


def slanted(sentence: Sentence, *, strict: bool = False) -> bool:
    """Subjective wording in the article's own voice: P(subjective) at or above the label
    threshold (the sentence is an opinion or a guess by the classifier), or with ``strict`` at
    the finding threshold (fitted for precision). Headings and questions are left out, and so
    are sentences attributed to a named source: a quoted opinion is the source's, not the
    article's slant."""
    signals = sentence.signals
    if signals is None or sentence.label in (SentenceLabel.other, SentenceLabel.attributed):
        return False
    return signals.subjective >= (signals.finding_threshold if strict else signals.threshold)


def flagged(sentences: Sequence[Sentence], limit: int, *, strict: bool = False) -> list[Sentence]:
    """The most subjective slanted sentences (at most ``limit``), in article order; with
    ``strict``, only those at the finding threshold."""
    found = [s for s in sentences if slanted(s, strict=strict)]
    ranked = sorted(found, key=lambda s: (-(s.signals.subjective if s.signals else 0), s.id))
    return sorted(ranked[:limit], key=lambda s: s.id)


def _severity(sentence: Sentence) -> Severity:
    """High at the finding threshold (right four times in five out of fold), else medium."""
    return Severity.high if slanted(sentence, strict=True) else Severity.medium


def sentence_finding(sentence: Sentence, neutral: str | None) -> BiasFinding:
    """A finding for one slanted sentence: the sentence is the quote (its rewording replaces
    it), and the explanation names the words the classifier finds most subjective."""
    signals = sentence.signals
    score = signals.subjective if signals else sentence.score
    if signals and signals.hedges and sentence.label is SentenceLabel.speculation:
        kind, why = BiasKind.speculation_as_fact, "a guess stated in the article's own voice"
    elif sentence.label is SentenceLabel.opinion:
        kind, why = BiasKind.opinion_as_fact, "a judgement stated in the article's own voice"
    else:
        kind, why = BiasKind.loaded_language, "subjective or emotive wording"
    words = (
        f"; most subjective words: \u201c{signals.loaded.text}\u201d"
        if signals and signals.loaded
        else ""
    )
    return BiasFinding(
        kind=kind,
        quote=sentence.text,
        sentence=sentence.id,
        severity=_severity(sentence),
        score=round(score, 4),
        explanation=f"Sentence {sentence.id}: {why} (P(subjective)={score:.2f}){words}.",
        neutral_rewording=neutral,
    )


HEADLINE_BREAKS = re.compile(r"([!?:;|–—]|\s-\s)")


def headline_clauses(title: str) -> list[str]:
    """The headline's assertions: its clauses of three words or more, questions left out
    ("Trump's Influence?" asks, it does not assert)."""
    pieces = HEADLINE_BREAKS.split(title)
    out = []
    for text, mark in zip(pieces[::2], [*pieces[1::2], ""], strict=True):
        clause = text.strip(" .\"'“”‘’")
        if mark != "?" and len(clause.split()) >= 3:
            out.append(clause)
    return out


async def check_headline(
    article: Article, index: SentenceIndex, *, llm: StructuredLLM, mode: str
) -> tuple[list[HeadlineClaim], StageMetrics]:
    """Each of the headline's assertions checked against the body like any statement
    (pipeline.stages.verify): the sentence that reports it, or None."""
    clauses = headline_clauses(article.title or "")
    checks, metrics = await check_statements(clauses, index, article.body, llm=llm, mode=mode)
    claims = []
    for clause, check in zip(clauses, checks, strict=True):
        reported = check.verdict is Support.supported and bool(check.evidence)
        best = check.evidence[0] if reported else None
        claims.append(
            HeadlineClaim(
                assertion=clause,
                sentence=best,
                body_quote=check.evidence_text[0] if reported else None,
                probability=check.probability,
            )
        )
    return claims, metrics


def headline_findings(
    article: Article, claims: list[HeadlineClaim], neutral: str | None
) -> list[BiasFinding]:
    """Clickbait by rule (! or ?), a mismatch when the body does not report an assertion."""
    title = article.title
    if not title:
        return []
    out = []
    if "!" in title or "?" in title:
        out.append(
            BiasFinding(
                kind=BiasKind.clickbait_headline,
                quote=title,
                severity=Severity.medium,
                score=0.9,
                explanation="The headline exclaims or asks instead of stating what happened.",
                neutral_rewording=neutral,
            )
        )
    unreported = [c for c in claims if c.sentence is None]
    if unreported:
        out.append(
            BiasFinding(
                kind=BiasKind.headline_body_mismatch,
                quote=title,
                severity=Severity.medium,
                score=round(1 - min(c.probability or 0.0 for c in unreported), 4),
                explanation="The body does not report what the headline asserts: "
                + "; ".join(c.assertion for c in unreported),
                neutral_rewording=neutral,
            )
        )
    return out


async def check_bias(
    article: Article,
    segments: Sequence[Segment],
    sentences: Sequence[Sentence],
    *,
    llm: StructuredLLM,
    settings: JudgmentSettings,
    headline: list[HeadlineClaim],
    snap_threshold: float = 90.0,
) -> tuple[BiasAssessment, StageMetrics]:
    """Rewordings of the flagged sentences and a neutral headline in one model call; the
    findings (with the headline's, checked beforehand) and the verdict by code. An article
    the verdict calls neutral gets only its high-severity findings (at the finding
    threshold); a slanted one also those at the label threshold."""
    ids = {s.id for s in segments}
    mine = [s for s in sentences if s.id in ids]
    overall, assessment = verdict(
        mine, headline_findings(article, headline, None), settings.slant_shares
    )
    chosen = flagged(mine, settings.max_flagged, strict=overall is Slant.neutral)
    draft, metrics = await call_stage(
        "bias",
        BiasDraft.for_flagged(len(chosen)),
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        segments=segments,
        flagged=[s.id for s in chosen],
    )
    neutral = {r.sentence: r.neutral for r in draft.rewordings}
    findings = headline_findings(article, headline, draft.neutral_headline)
    findings += [sentence_finding(s, neutral.get(s.id)) for s in chosen]
    return BiasAssessment(
        headline_claims=headline,
        neutral_headline=draft.neutral_headline,
        findings=findings,
        overall=overall,
        assessment=assessment,
    ), metrics


def verdict(
    sentences: Sequence[Sentence], findings: Sequence[BiasFinding], shares: tuple[float, float]
) -> tuple[Slant, str]:
    """Overall slant from the share of slanted sentences; a headline problem makes it at least
    slightly slanted."""
    share = sum(slanted(s, strict=True) for s in sentences) / max(1, len(sentences))
    level = 0 if share < shares[0] else 1 if share < shares[1] else 2
    headline = [f for f in findings if f.sentence is None]
    if headline:
        level = max(level, 1)
    unsupported = sum(s.label.unsupported for s in sentences)
    text = (
        f"{share:.0%} of the body's sentences carry slanted wording; "
        f"{unsupported} of {len(sentences)} are unsupported assertions"
        + (f"; the headline has {len(headline)} problem(s)." if headline else ".")
    )
    return SLANT_ORDER[level], text


def merge_bias(assessments: Sequence[BiasAssessment]) -> BiasAssessment:
    """A long article's parts: every part's sentence findings, the headline findings where
    every part found them (one part alone cannot tell), and the most slanted verdict."""
    if len(assessments) == 1:
        return assessments[0]
    first = assessments[0]
    headline = [
        f
        for f in first.findings
        if f.sentence is None
        and all(
            any(g.kind is f.kind and g.sentence is None for g in a.findings) for a in assessments
        )
    ]
    body = [f for a in assessments for f in a.findings if f.sentence is not None]
    return BiasAssessment(
        headline_claims=first.headline_claims,
        neutral_headline=first.neutral_headline,
        findings=headline + body,
        overall=max((a.overall for a in assessments), key=SLANT_ORDER.index),
        assessment=" ".join(f"Part {n}: {a.assessment}" for n, a in enumerate(assessments, 1)),
    )
