"""From signals to a label and a score per sentence, by stated rules.

In order, the first rule that applies gives the label:
1. a heading, or a sentence of three words or fewer: ``other``;
2. a named source (attribution rules): ``attributed``; an unnamed one ("critics say"):
   ``attributed_unnamed``;
3. a question in the article's own voice: ``other``;
4. a hedge in the article's own words ("could", "may", "appears to", "likely"):
   ``speculation``;
5. combined P(subjective) at or above the fitted threshold: ``opinion``;
6. otherwise a statement in the article's own voice: ``fact_supported`` when a sentence that
   cites a named source says the same (embedding cosine >= ``evidence_similarity``; those
   sentences are its evidence), else ``fact_unsupported`` when it is check-worthy (picked by
   the claims stage, or judged a checkable fact by the model), else ``other``.

Scores: the attribution's confidence (0.9 cue and source in the sentence, 0.75 a pronoun or a
quotation whose speaker is named just before, 0.8 unnamed); P(subjective) for opinions;
for speculation 0.6 with one hedge, 0.7 with more, averaged with the model's share of
"guess or prediction" against "checkable fact" when the model answered; the evidence's
cosine for supported facts; one minus the best cosine to any cited sentence for unsupported
ones; for other, the confidence of the rule (0.9 heading, 0.8 question) or 1 - P(check-worthy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pipeline.signals.cues import Cues
from pipeline.text.sentences import Segment
from schemas.sentence import (
    Attribution,
    Sentence,
    SentenceLabel,
    SentenceSignals,
    Span,
    TaggedWord,
)


@dataclass(frozen=True)
class Signals:
    """Everything known about one sentence before it is labelled."""

    segment: Segment
    attribution: Attribution | None
    cues: Cues
    classifier: float
    loaded: Span | None
    subjective: float
    threshold: float
    finding_threshold: float
    model: Mapping[str, float] | None
    checkworthy: bool
    framing: Sequence[TaggedWord] = ()


def _record(s: Signals) -> SentenceSignals:
    return SentenceSignals(
        classifier=round(s.classifier, 4),
        loaded=s.loaded,
        framing=list(s.framing),
        model={k: round(v, 4) for k, v in s.model.items()} if s.model else None,
        subjective=round(s.subjective, 4),
        threshold=round(s.threshold, 4),
        finding_threshold=round(s.finding_threshold, 4),
        hedges=list(s.cues.hedges),
        checkworthy=s.checkworthy,
    )


def _sentence(
    s: Signals, label: SentenceLabel, score: float, why: str, evidence: Sequence[int] = ()
) -> Sentence:
    seg = s.segment
    return Sentence(
        id=seg.id,
        start=seg.start,
        end=seg.end,
        text=seg.text,
        paragraph=seg.paragraph,
        label=label,
        score=round(min(max(score, 0.0), 1.0), 4),
        why=why,
        attribution=s.attribution,
        evidence=list(evidence),
        signals=_record(s),
    )


def _attributed(s: Signals) -> Sentence:
    a = s.attribution
    assert a is not None
    source = a.source.text if a.source else "the speaker"
    if not a.named:
        return _sentence(
            s, SentenceLabel.attributed_unnamed, 0.8, f"unnamed source '{source}' ({a.cue.text!r})"
        )
    direct = a.sentence == s.segment.id and a.source is not None and a.source.text[:1].isupper()
    cue = a.cue.text if a.sentence == s.segment.id else "a quotation"
    return _sentence(
        s, SentenceLabel.attributed, 0.9 if direct else 0.75, f"named source '{source}' ({cue!r})"
    )


def _speculation(s: Signals) -> Sentence:
    score = 0.6 if len(s.cues.hedges) == 1 else 0.7
    if s.model:
        guess, fact = s.model.get("C", 0.0), s.model.get("D", 0.0)
        score = (score + guess / max(guess + fact, 1e-9)) / 2
    hedges = ", ".join(dict.fromkeys(h.lower() for h in s.cues.hedges))
    return _sentence(
        s, SentenceLabel.speculation, score, f"a guess in the article's voice ({hedges})"
    )


def label_one(s: Signals, evidence: list[int], best_cited: float) -> Sentence:
    """The label of one sentence by the rules of this module."""
    seg = s.segment
    if seg.heading or len(seg.text.split()) <= 3:
        return _sentence(s, SentenceLabel.other, 0.9, "a heading or fragment")
    if s.attribution is not None:
        return _attributed(s)
    if s.cues.question:
        return _sentence(s, SentenceLabel.other, 0.8, "a question")
    if s.cues.hedges:
        return _speculation(s)
    if s.subjective >= s.threshold:
        why = f"subjective wording (P={s.subjective:.2f} >= {s.threshold:.2f})"
        return _sentence(s, SentenceLabel.opinion, s.subjective, why)
    if evidence:
        why = f"backed by sentence {', '.join(map(str, evidence))} (cosine {best_cited:.2f})"
        return _sentence(s, SentenceLabel.fact_supported, best_cited, why, evidence)
    if s.checkworthy:
        why = f"check-worthy, no named source says it (best cosine {best_cited:.2f})"
        return _sentence(s, SentenceLabel.fact_unsupported, 1.0 - max(best_cited, 0.0), why)
    fact = s.model.get("D", 0.5) if s.model else 0.5
    return _sentence(s, SentenceLabel.other, 1.0 - fact, "not a check-worthy claim")


def label_sentences(
    signals: Sequence[Signals], vectors: NDArray[np.float32], evidence_similarity: float
) -> list[Sentence]:
    """Labels for every sentence; own-voice statements are matched against the sentences that
    cite a named source (``vectors``: unit sentence embeddings, one row per sentence)."""
    cited = [n for n, s in enumerate(signals) if s.attribution is not None and s.attribution.named]
    out = []
    for n, s in enumerate(signals):
        sims = [(float(vectors[n] @ vectors[m]), m) for m in cited if m != n]
        best = max((sim for sim, _ in sims), default=0.0)
        backing = sorted((-sim, m) for sim, m in sims if sim >= evidence_similarity)[:2]
        evidence = [signals[m].segment.id for _, m in backing]
        out.append(label_one(s, evidence, best))
    return out
