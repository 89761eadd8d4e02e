"""Stage 3, claims: the check-worthy sentences, each restated as a standalone claim.

The model names sentence numbers and writes the standalone claim; the quote is the sentence
itself, cut from the body by code, and who asserts it comes from the sentence's label."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.signals.citations import SentenceIndex, repoint_all
from pipeline.stages import StructuredLLM, call_stage
from pipeline.text.sentences import Segment
from schemas.article import Article
from schemas.claims import Claim, ClaimPick, ClaimPicks, ClaimType
from schemas.report import StageMetrics
from schemas.sentence import Sentence, SentenceLabel

FIGURE = re.compile(r"\d")
TYPES = {
    SentenceLabel.attributed: ClaimType.quote,
    SentenceLabel.attributed_unnamed: ClaimType.quote,
    SentenceLabel.opinion: ClaimType.opinion,
    SentenceLabel.speculation: ClaimType.prediction,
}


async def pick_claims(
    article: Article,
    segments: Sequence[Segment],
    *,
    llm: StructuredLLM,
    index: SentenceIndex,
    max_claims: int = 10,
    snap_threshold: float = 90.0,
) -> tuple[list[ClaimPick], StageMetrics]:
    """The model's check-worthy sentences (each once), in order; a pick whose claim another
    sentence says clearly better is moved to that sentence (``pipeline.signals.citations``)."""
    result, metrics = await call_stage(
        "claims",
        ClaimPicks,
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        segments=segments,
        max_claims=max_claims,
    )
    shown = {s.id for s in segments}
    cited, notes = repoint_all(
        [p.claim for p in result.claims], [[p.sentence] for p in result.claims], index, shown
    )
    metrics.quote_repairs += len(notes)
    metrics.warnings += [f"citations: {n}" for n in notes]
    kept: dict[int, ClaimPick] = {}
    for pick, ids in zip(result.claims, cited, strict=True):
        best = ids[-1] if len(ids) > 1 else ids[0]  # an added sentence is the closer one
        kept.setdefault(best, pick.model_copy(update={"sentence": best}))
    return sorted(kept.values(), key=lambda p: p.sentence)[:max_claims], metrics


def build_claims(picks: Sequence[ClaimPick], sentences: Sequence[Sentence]) -> list[Claim]:
    """Claims from the picks: the sentence's exact text as the quote, its source as speaker."""
    by_id = {s.id: s for s in sentences}
    claims = []
    for pick in picks:
        sentence = by_id[pick.sentence]
        source = sentence.attribution.source if sentence.attribution else None
        kind = TYPES.get(sentence.label)
        if kind is None:
            kind = ClaimType.statistic if FIGURE.search(sentence.text) else ClaimType.reported_fact
        claims.append(
            Claim(
                sentence=sentence.id,
                quote=sentence.text,
                claim=pick.claim,
                speaker=source.text if source else None,
                type=kind,
            )
        )
    return claims
