"""Stage 5, bias: slanted sentences, the headline against the body, and an overall verdict.

Which words slant is read from the sentences' signals: the word tagger's loaded words
(pipeline.signals.tagger, each a slice of its sentence with its probability), and, where it
tags none, the whole sentence when its combined P(subjective) is at the threshold. The model is
asked only for what a model does best: what the headline asserts and which body sentence
reports it, and a neutral rewording of the flagged sentences; a rewording that fails its checks
is replaced by a minimal edit made in code when that passes them. A headline with ! or ? is
clickbait by rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.core.config import JudgmentSettings
from pipeline.signals.citations import SentenceIndex
from pipeline.signals.framing import Framing, FramingSpan, sentence_spans
from pipeline.signals.rewording import (
    minimal_headline,
    minimal_rewordings,
    verified_headline,
    verified_rewordings,
)
from pipeline.signals.slant import SLANT_ORDER, slant, slanted
from pipeline.signals.sourcing import OneSided, one_sided
from pipeline.signals.subjectivity import Combination
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
    RewordingKind,
    Severity,
    Slant,
)
from schemas.report import StageMetrics
from schemas.sentence import Sentence, SentenceLabel
from schemas.verification import Support


def flagged(sentences: Sequence[Sentence], limit: int, *, strict: bool = False) -> list[Sentence]:
    """The most subjective slanted sentences (at most ``limit``), in article order; with
    ``strict``, only those at the finding threshold."""
    found = [s for s in sentences if slanted(s, strict=strict)]
    ranked = sorted(found, key=lambda s: (-(s.signals.subjective if s.signals else 0), s.id))
    return sorted(ranked[:limit], key=lambda s: s.id)


def _severity(sentence: Sentence) -> Severity:
    """High at the finding threshold (right four times in five out of fold), else medium."""
    return Severity.high if slanted(sentence, strict=True) else Severity.medium


Reworded = tuple[str, RewordingKind]  # a kept rewording and where it comes from


def sentence_finding(sentence: Sentence, neutral: Reworded | None) -> BiasFinding:
    """A finding for one slanted sentence with no tagged word: the sentence is the quote (its
    rewording replaces it), and the explanation says which threshold it is at."""
    signals = sentence.signals
    score = signals.subjective if signals else sentence.score
    if signals and signals.hedges and sentence.label is SentenceLabel.speculation:
        kind, why = BiasKind.speculation_as_fact, "a guess stated in the article's own voice"
    elif sentence.label is SentenceLabel.opinion:
        kind, why = BiasKind.opinion_as_fact, "a judgement stated in the article's own voice"
    else:
        kind, why = BiasKind.loaded_language, "subjective or emotive wording"
    at = (
        f"at or above the finding threshold {signals.finding_threshold:.2f}"
        if signals and score >= signals.finding_threshold
        else f"at or above the opinion threshold {signals.threshold:.2f}"
        if signals
        else "subjective"
    )
    return BiasFinding(
        kind=kind,
        quote=sentence.text,
        sentence=sentence.id,
        start=sentence.start,
        end=sentence.end,
        severity=_severity(sentence),
        score=round(score, 4),
        explanation=f"Sentence {sentence.id}: {why} (P(subjective)={score:.2f}, {at}); "
        "the word tagger finds no single loaded word in it.",
        neutral_rewording=neutral[0] if neutral else None,
        rewording_kind=neutral[1] if neutral else None,
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
    article: Article,
    index: SentenceIndex,
    *,
    llm: StructuredLLM,
    mode: str,
    calibrated: Combination | None = None,
) -> tuple[list[HeadlineClaim], StageMetrics]:
    """Each of the headline's assertions checked against the body like any statement
    (pipeline.stages.verify): the sentence that reports it, or None. ``calibrated``: the
    statement checker's weights (default the shipped ones)."""
    clauses = headline_clauses(article.title or "")
    checks, metrics = await check_statements(
        clauses, index, article.body, llm=llm, mode=mode, calibrated=calibrated
    )
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
    article: Article,
    claims: list[HeadlineClaim],
    neutral: str | None,
    kind: RewordingKind | None = None,
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
                rewording_kind=kind if neutral else None,
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
                rewording_kind=kind if neutral else None,
            )
        )
    return out


SPAN_KINDS = {
    Framing.framing_verb: (BiasKind.framing_verb, "a reporting word that judges what was said"),
    Framing.loaded_language: (BiasKind.loaded_language, "emotive or partisan wording"),
    Framing.intensifier: (BiasKind.intensifier, "a word that inflates what it qualifies"),
    Framing.opinion_as_fact: (BiasKind.opinion_as_fact, "a judgement stated as certain"),
    Framing.speculation_as_fact: (
        BiasKind.speculation_as_fact,
        "an unnamed crowd's guess reported as the state of things",
    ),
    Framing.scare_quotes: (BiasKind.framing, "scare quotes: a phrase no one is said to have said"),
}


def spans_of(sentences: Sequence[Sentence]) -> dict[int, list[FramingSpan]]:
    """The writer's framing words in each sentence, as the tagger found them (quoted words
    never count)."""
    return {s.id: sentence_spans(s) for s in sentences}


def span_finding(sentence: Sentence, span: FramingSpan, neutral: Reworded | None) -> BiasFinding:
    """A finding for one framing span: its exact words, their place in the body, the
    tagger's probability, and the sentence's rewording."""
    kind, why = SPAN_KINDS[span.kind]
    mild = span.kind is Framing.intensifier
    return BiasFinding(
        kind=kind,
        quote=span.text,
        sentence=sentence.id,
        start=sentence.start + span.start,
        end=sentence.start + span.end,
        severity=Severity.low if mild else Severity.medium,
        score=round(span.probability, 4),
        explanation=f"Sentence {sentence.id}: {why} (\u201c{span.text}\u201d, in the writer's "
        f"own words; P(loaded)={span.probability:.2f}).",
        neutral_rewording=neutral[0] if neutral else None,
        rewording_kind=neutral[1] if neutral else None,
    )


def sourcing_finding(sentence: Sentence, found: OneSided) -> BiasFinding:
    """A finding for an accusation the accused never answers: the accusing words."""
    score = sentence.signals.subjective if sentence.signals else sentence.score
    return BiasFinding(
        kind=BiasKind.one_sided_sourcing,
        quote=found.text,
        sentence=sentence.id,
        start=found.start,
        end=found.end,
        severity=Severity.medium,
        score=round(score, 4),
        explanation=f"Sentence {sentence.id}: {found.accuser} \u201c{found.text}\u201d "
        f"{found.accused}, who is never quoted, and the article reports no response.",
    )


def sentence_findings(
    chosen: Sequence[Sentence], spans: dict[int, list[FramingSpan]], neutral: dict[int, Reworded]
) -> list[BiasFinding]:
    """A sentence's framing spans, or, where it has none, the whole sentence (the classifier
    finds its wording subjective but no listed word names why); each with its rewording."""
    out = []
    for sentence in chosen:
        reworded = neutral.get(sentence.id)
        found = [span_finding(sentence, span, reworded) for span in spans[sentence.id]]
        if not found and slanted(sentence):
            found = [sentence_finding(sentence, reworded)]
        out += found
    return out


def reported(
    sentences: Sequence[Sentence], spans: dict[int, list[FramingSpan]], limit: int, *, strict: bool
) -> list[Sentence]:
    """The sentences a finding is reported on, in article order: every one with framing
    spans, and the most subjective slanted ones (at most ``limit``; with ``strict``, only
    those at the finding threshold)."""
    classified = {s.id for s in flagged(sentences, limit, strict=strict)}
    return [s for s in sentences if spans[s.id] or s.id in classified]


def to_reword(
    sentences: Sequence[Sentence], spans: dict[int, list[FramingSpan]], limit: int
) -> list[Sentence]:
    """The reported sentences sent for rewording (at most ``limit``, in article order): most
    framing spans first (intensifiers aside), then the most subjective."""
    ranked = sorted(
        sentences,
        key=lambda s: (
            -sum(sp.probability for sp in spans[s.id] if sp.kind is not Framing.intensifier),
            -(s.signals.subjective if s.signals else 0),
            s.id,
        ),
    )
    return sorted(ranked[:limit], key=lambda s: s.id)


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
    """Findings by code (framing spans, slanted sentences, the headline's, checked
    beforehand), the slant score and verdict from them, and one model call for rewordings of
    the flagged sentences and a neutral headline; each rewording is checked in code. A
    neutral article's slanted sentences are reported only at the finding threshold."""
    ids = {s.id for s in segments}
    mine = [s for s in sentences if s.id in ids]
    spans = spans_of(mine)
    sourcing = one_sided(mine)
    judged = slant(mine, spans, headline_findings(article, headline, None), sourcing)
    shown = reported(mine, spans, settings.max_flagged, strict=judged.overall is Slant.neutral)
    chosen = to_reword(shown, spans, settings.max_reworded)
    draft, metrics = await call_stage(
        "bias",
        BiasDraft.for_flagged(len(chosen)),
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        segments=segments,
        flagged=[s.id for s in chosen],
    )
    by_model, dropped = verified_rewordings(
        chosen, [(r.sentence, r.neutral) for r in draft.rewordings]
    )
    edits, edits_dropped = minimal_rewordings(shown, spans, set(by_model))
    neutral = {n: (text, RewordingKind.model) for n, text in by_model.items()}
    neutral |= {n: (text, RewordingKind.minimal_edit) for n, text in edits.items()}
    neutral_headline, headline_dropped = verified_headline(article.title, draft.neutral_headline)
    headline_kind = RewordingKind.model if neutral_headline else None
    if neutral_headline is None and article.title:
        neutral_headline, edit_dropped = minimal_headline(article.title)
        headline_kind = RewordingKind.minimal_edit if neutral_headline else None
        dropped += [edit_dropped] if edit_dropped else []
    dropped += [headline_dropped] if headline_dropped else []
    dropped += edits_dropped
    findings = headline_findings(article, headline, neutral_headline, headline_kind)
    findings += sentence_findings(shown, spans, neutral)
    by_id = {s.id: s for s in mine}
    findings += [sourcing_finding(by_id[f.sentence], f) for f in sourcing]
    findings.sort(key=lambda f: (f.sentence is not None, f.start or 0))
    return judged.model_copy(
        update={
            "headline_claims": headline,
            "neutral_headline": neutral_headline,
            "neutral_headline_kind": headline_kind,
            "findings": findings,
            "dropped_rewordings": dropped,
        }
    ), metrics


def merge_bias(assessments: Sequence[BiasAssessment]) -> BiasAssessment:
    """A long article's parts: every part's sentence findings, the headline findings where
    every part found them (one part alone cannot tell), and the most slanted verdict and
    score."""
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
    most = max(assessments, key=lambda a: a.score)
    return BiasAssessment(
        headline_claims=first.headline_claims,
        neutral_headline=first.neutral_headline,
        neutral_headline_kind=first.neutral_headline_kind,
        findings=headline + body,
        overall=max((a.overall for a in assessments), key=SLANT_ORDER.index),
        score=most.score,
        evidence=most.evidence,
        dropped_rewordings=[d for a in assessments for d in a.dropped_rewordings],
        assessment=" ".join(f"Part {n}: {a.assessment}" for n, a in enumerate(assessments, 1)),
    )
