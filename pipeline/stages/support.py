"""Stage 4, support: every body sentence labelled, with a score and the signals behind it.

Attribution comes from the sentence's structure (pipeline.signals.attribution), subjective wording
from a trained classifier and word cues (pipeline.signals.subjectivity, pipeline.signals.cues),
and the model answers one short question per sentence in the article's own voice (which kind of
sentence it is, read from the log-probabilities of the answer's first token; local servers)
or judges them all in one structured call (hosted providers). pipeline.signals.labels turns the
signals into labels.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.core.config import Settings
from pipeline.model.prompts import prompt_hash, render_messages
from pipeline.signals.attribution import attribute, quoted_share
from pipeline.signals.calibration import calibration_warnings, sentence_calibration
from pipeline.signals.cues import cues
from pipeline.signals.labels import Signals, label_sentences
from pipeline.signals.subjectivity import (
    MODEL_OPTIONS,
    Phrase,
    Scored,
    embed_and_classify,
    signal_values,
    subjective,
)
from pipeline.signals.tagger import reported, tag
from pipeline.stages import StructuredLLM, call_stage
from pipeline.text.chunking import merge_metrics
from pipeline.text.sentences import Segment, numbered_text
from schemas.article import Article
from schemas.report import StageMetrics
from schemas.sentence import Attribution, Sentence, SentenceLabel, Span, TaggedWord
from schemas.support import KIND_LETTERS, SentenceJudgments, SupportVerdict, Verdict

CHOSEN = 0.85  # the probability a one-call judgment stands for (the rest shared by the others)
NO_LOGPROBS = "the provider returned no log-probabilities: sentences judged without the model"

Kinds = dict[int, dict[str, float]]


def probe_messages(
    article: Article, shown: Sequence[Segment], target: Segment
) -> list[dict[str, str]]:
    """The one-letter question about one sentence, after the numbered article."""
    return render_messages(
        "sentence",
        article=article,
        numbered=numbered_text(shown),
        number=target.id,
        sentence=target.text,
    )


async def probe_kinds(
    article: Article, part: Sequence[Segment], targets: Sequence[Segment], *, llm: StructuredLLM
) -> tuple[Kinds, list[StageMetrics]]:
    """The model's probability of each kind (A-E) for each target, one call per sentence;
    stops at the first answer without log-probabilities."""
    kinds: Kinds = {}
    spent = []
    for target in targets:
        probs, metrics = await llm.probe(
            "support", probe_messages(article, part, target), MODEL_OPTIONS
        )
        spent.append(metrics)
        if probs is None:
            metrics.warnings.append(NO_LOGPROBS)
            break
        kinds[target.id] = probs
    return kinds, spent


async def judge_kinds(
    article: Article, part: Sequence[Segment], targets: Sequence[Segment], *, llm: StructuredLLM
) -> tuple[Kinds, list[StageMetrics]]:
    """The model's kind for every target in one structured call, as probabilities."""
    result, metrics = await call_stage(
        "support",
        SentenceJudgments,
        article,
        llm=llm,
        snap_threshold=100.0,
        segments=part,
        targets=[t.id for t in targets],
    )
    letter = {kind: key for key, kind in KIND_LETTERS.items()}
    other = (1.0 - CHOSEN) / (len(MODEL_OPTIONS) - 1)
    kinds: Kinds = {}
    for judgment in result.judgments:
        chosen = letter[judgment.kind]
        kinds.setdefault(
            judgment.sentence, {k: CHOSEN if k == chosen else other for k in MODEL_OPTIONS}
        )
    return kinds, [metrics]


def needs_model(segment: Segment, attribution: Attribution | None) -> bool:
    """Only sentences in the article's own voice are put to the model."""
    return attribution is None and not segment.heading and len(segment.text.split()) > 3


def questioned(
    segments: Sequence[Segment],
    attributions: dict[int, Attribution | None],
    doubt: dict[int, float],
    limit: int,
) -> set[int]:
    """The own-voice sentences put to the model: all of them, or, past ``limit``, those the
    classifier is least sure of (probability nearest one half; ties in article order)."""
    own = [s.id for s in segments if needs_model(s, attributions[s.id])]
    return set(sorted(own, key=lambda i: (doubt[i], i))[:limit])


async def model_kinds(
    article: Article,
    parts: Sequence[Sequence[Segment]],
    asked: set[int],
    *,
    llm: StructuredLLM,
    mode: str,
) -> tuple[Kinds, StageMetrics]:
    """The model's view of the ``asked`` sentences, part by part, by the configured mode."""
    kinds: Kinds = {}
    spent: list[StageMetrics] = []
    ask = probe_kinds if mode == "logprobs" else judge_kinds
    for part in parts if mode != "off" else []:
        targets = [s for s in part if s.id in asked]
        if targets:
            found, metrics = await ask(article, part, targets, llm=llm)
            kinds |= found
            spent += metrics
            if any(NO_LOGPROBS in m.warnings for m in metrics):
                break
    merged = merge_metrics("support", spent) if spent else StageMetrics(stage="support")
    merged.prompt_hash = prompt_hash("sentence" if mode == "logprobs" else "support")
    return kinds, merged


async def label_article(
    article: Article,
    parts: Sequence[Sequence[Segment]],
    *,
    llm: StructuredLLM,
    settings: Settings,
    checkworthy: set[int],
    scored: Scored | None = None,
) -> tuple[list[Sentence], StageMetrics]:
    """Every sentence of the article labelled, with its score and signals (``scored``: the
    embedding model's pass over the sentences, when already made)."""
    segments = [s for part in parts for s in part]
    attributions = dict(zip((s.id for s in segments), attribute(segments), strict=True))
    scored = scored or embed_and_classify([s.text for s in segments])
    doubt = {s.id: abs(float(p) - 0.5) for s, p in zip(segments, scored.probabilities, strict=True)}
    limit = (
        settings.judgments.max_questions if settings.model_signal() == "logprobs" else len(doubt)
    )
    asked = questioned(segments, attributions, doubt, limit)
    kinds, metrics = await model_kinds(article, parts, asked, llm=llm, mode=settings.model_signal())
    metrics.warnings += calibration_warnings(
        settings, settings.model_signal(), answered=bool(kinds)
    )
    override = settings.judgments.opinion_threshold
    calibrated = sentence_calibration(settings).combination
    signals = []
    tagged = tagged_words(segments, attributions, scored)
    for seg, p, phrase in zip(segments, scored.probabilities, scored.phrases, strict=True):
        a, found, model = attributions[seg.id], cues(seg.text), kinds.get(seg.id)
        values = signal_values(
            float(p),
            phrase,
            found,
            quoted=quoted_share(seg.text),
            attributed=a is not None,
            unnamed=a is not None and not a.named,
            model=model,
        )
        prob, fitted = subjective(values, has_model=model is not None, fitted_on=calibrated)
        # The model calls it an opinion, a guess or a checkable fact: a claim of some kind.
        claim = model is not None and max(model, key=model.__getitem__) in ("B", "C", "D")
        signals.append(
            Signals(
                segment=seg,
                attribution=a,
                cues=found,
                classifier=float(p),
                loaded=_span(seg, phrase),
                subjective=prob,
                threshold=fitted.threshold if override is None else override,
                finding_threshold=max(fitted.finding_threshold, override or 0.0),
                model=model,
                checkworthy=seg.id in checkworthy or claim,
                framing=tagged[seg.id],
            )
        )
    return label_sentences(signals, scored.vectors, settings.judgments.evidence_similarity), metrics


def tagged_words(
    segments: Sequence[Segment], attributions: dict[int, Attribution | None], scored: Scored
) -> dict[int, list[TaggedWord]]:
    """The tagger's loaded words of each sentence at its threshold, as spans of the body; in a
    sentence attributed to a named source, quoted words (single-quoted too) never count."""
    out = {}
    for n, seg in enumerate(segments):
        a = attributions[seg.id]
        spans = tag(
            seg.text,
            scored.tokens[n],
            scored.offsets[n],
            float(scored.probabilities[n]),
            attributed=a is not None and a.named,
        )
        out[seg.id] = [
            TaggedWord(
                start=seg.start + s.start,
                end=seg.start + s.end,
                text=s.text,
                kind=s.kind.value,
                probability=s.probability,
            )
            for s in reported(spans)
        ]
    return out


def _span(seg: Segment, phrase: Phrase | None) -> Span | None:
    """The classifier's most subjective words as a span of the body."""
    if phrase is None:
        return None
    start, end = seg.start + phrase.start, seg.start + phrase.end
    return Span(start=start, end=end, text=seg.text[phrase.start : phrase.end])


VERDICTS = {
    SentenceLabel.attributed: Verdict.supported_by_attribution,
    SentenceLabel.fact_supported: Verdict.supported_by_evidence_in_text,
    SentenceLabel.fact_unsupported: Verdict.unsupported,
    SentenceLabel.attributed_unnamed: Verdict.unsupported,
    SentenceLabel.opinion: Verdict.opinion_as_fact,
    SentenceLabel.speculation: Verdict.speculation,
}


def verdict_of(sentence: Sentence, by_id: dict[int, Sentence]) -> SupportVerdict | None:
    """A claim's verdict from its sentence's label (None for a sentence labelled other)."""
    verdict = VERDICTS.get(sentence.label)
    if verdict is None:
        return None
    a = sentence.attribution
    evidence = [by_id[n].text for n in sentence.evidence]
    if a is not None and a.named and a.sentence != sentence.id:
        evidence = [by_id[a.sentence].text]  # the sentence that names who is quoted
    return SupportVerdict(
        verdict=verdict,
        score=sentence.score,
        attribution=(a.source.text if a.source else a.cue.text) if a else None,
        rationale=sentence.why,
        evidence=evidence,
    )
