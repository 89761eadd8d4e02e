"""The article's slant: which own-voice sentences slant, and the slant score and verdict
from the evidence (framing spans, subjective own-voice sentences, headline problems,
accusations no one answers), with the evidence listed in words."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.signals.framing import Framing, FramingSpan
from pipeline.signals.sourcing import OneSided
from pipeline.signals.strength import STRONG, strength
from schemas.bias import BiasAssessment, BiasFinding, BiasKind, Slant
from schemas.sentence import Sentence, SentenceLabel

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


# The slant score's weights (not fitted: no article-level labelled set exists here). One
# loaded phrase per 100 words, a fifth of the own-voice sentences subjective, or two headline
# problems each give about 0.4.
SPAN_WEIGHT = 0.75  # per framing span per 100 words, times its P(loaded) (intensifiers half)
SUBJECTIVE_WEIGHT = 1.5  # times the share of own-voice sentences at the finding threshold
HEADLINE_WEIGHT = 0.25  # per headline problem (clickbait, mismatch)
SOURCING_WEIGHT = 0.25  # per accusation the accused never answers
BANDS = (0.25, 0.55)  # slant score at which an article is slightly / strongly slanted


def slant(
    sentences: Sequence[Sentence],
    spans: dict[int, list[FramingSpan]],
    headline: Sequence[BiasFinding],
    sourcing: Sequence[OneSided] = (),
) -> BiasAssessment:
    """The article's slant score, 1 - exp(-evidence), from framing spans per 100 words, the
    share of own-voice sentences scored subjective (at the finding threshold), the
    headline's problems and the accusations no one answers; the verdict is its band, and the
    evidence is listed."""
    words = sum(len(s.text.split()) for s in sentences)
    weight = sum(
        sp.probability * (0.5 if sp.kind is Framing.intensifier else 1.0)
        for found in spans.values()
        for sp in found
    )
    phrases = sum(len(found) for found in spans.values())
    own = [s for s in sentences if s.label not in (SentenceLabel.attributed, SentenceLabel.other)]
    subjective = sum(slanted(s, strict=True) for s in own)
    evidence = 100 * weight / max(1, words) * SPAN_WEIGHT
    evidence += SUBJECTIVE_WEIGHT * subjective / max(1, len(own)) + HEADLINE_WEIGHT * len(headline)
    evidence += SOURCING_WEIGHT * len(sourcing)
    score = round(1 - math.exp(-evidence), 4)
    level = sum(score >= band for band in BANDS)
    cuts = sorted({s.signals.finding_threshold for s in own if s.signals})
    at = "/".join(f"{c:.2f}" for c in cuts) or "n/a"
    listed = [
        f"{phrases} framing phrase(s) in the writer's words ({100 * weight / max(1, words):.1f} "
        "per 100 words, weighted by the tagger's P(loaded))",
        f"{subjective} of {len(own)} own-voice sentences subjective at the finding threshold "
        f"(P(subjective) >= {at})",
    ]
    mismatched = sum(f.kind is BiasKind.headline_body_mismatch for f in headline)
    if any(f.kind is BiasKind.clickbait_headline for f in headline):
        listed.append("headline punctuated as clickbait (! or ?)")
    if mismatched:
        listed.append(f"headline asserts what the body does not ({mismatched} clause(s))")
    listed += [
        f"one-sided sourcing: {f.accuser} accuses {f.accused} (sentence {f.sentence}), "
        "no response reported"
        for f in sourcing
    ]
    ranked = [strength(s, spans[s.id]) >= STRONG for s in sentences if s.label.unsupported]
    listed.append(
        f"{sum(ranked)} of {len(sentences)} sentences strong unsupported assertions "
        f"({len(ranked) - sum(ranked)} mild)"
    )
    return BiasAssessment(
        findings=[],
        overall=SLANT_ORDER[level],
        score=score,
        evidence=listed,
        assessment=f"Slant score {score:.2f} ({SLANT_ORDER[level].value}): "
        + "; ".join(listed)
        + ".",
    )
