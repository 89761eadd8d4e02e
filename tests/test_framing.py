"""Span-level framing findings, the rewording checks, the slant score and the strength of
unsupported assertions."""

from __future__ import annotations

import asyncio

from pipeline.core.config import JudgmentSettings
from pipeline.signals.attribution import attribute
from pipeline.signals.framing import Framing, FramingSpan, scare_quotes
from pipeline.signals.rewording import minimal_rewordings, rewording_problem, verified_headline
from pipeline.signals.slant import slant
from pipeline.signals.sourcing import one_sided
from pipeline.signals.strength import STRONG, strength
from pipeline.signals.tagger import reported, tag_texts
from pipeline.stages.bias import check_bias, sentence_findings, spans_of
from pipeline.text.sentences import segment
from schemas.article import Article
from schemas.bias import BiasFinding, BiasKind, RewordingKind, Severity, Slant
from schemas.sentence import Sentence, SentenceLabel, SentenceSignals, TaggedWord
from tests.fakes import FakeLLM


def _sentence(
    n: int, text: str, label: SentenceLabel, subjective: float = 0.3, start: int = 0
) -> Sentence:
    """A labelled sentence whose signals hold the tagger's words, as the support stage
    records them (offsets in the body)."""
    attributed = label is SentenceLabel.attributed
    [found] = tag_texts([text], attributed=[attributed])
    words = [
        TaggedWord(
            start=start + w.start,
            end=start + w.end,
            text=w.text,
            kind=w.kind.value,
            probability=w.probability,
        )
        for w in reported(found)
    ]
    signals = SentenceSignals(
        classifier=subjective,
        subjective=subjective,
        threshold=0.46,
        finding_threshold=0.71,
        framing=words,
    )
    return Sentence(
        id=n,
        start=start,
        end=start + len(text),
        text=text,
        paragraph=0,
        label=label,
        score=0.8,
        why="test",
        signals=signals,
    )


def test_scare_quotes_count_only_where_no_one_is_said_to_have_said_them() -> None:
    own = "The board called the layoffs a 'necessary correction' in its letter."
    [span] = scare_quotes(own, attributed=False)
    assert span.kind is Framing.scare_quotes and span.text == "'necessary correction'"
    assert scare_quotes(own, attributed=True) == []
    # A quotation punctuated inside its marks reports words: not a scare quote.
    assert scare_quotes('The mayor wants the bridge "finished by spring."', False) == []


def test_a_findings_span_is_an_exact_slice_of_the_body_inside_its_sentence() -> None:
    body = "Talks went on. The radical senator pushed a disastrous plan, the paper said."
    start = body.index("The radical")
    sentence = _sentence(2, body[start:], SentenceLabel.attributed, start=start)
    findings = sentence_findings([sentence], spans_of([sentence]), {})
    assert [f.quote for f in findings] == ["radical", "disastrous"]
    assert {f.kind for f in findings} == {BiasKind.loaded_language}
    for f in findings:
        assert f.score >= 0.5 and "P(loaded)=" in f.explanation
        assert f.start is not None and f.end is not None
        assert body[f.start : f.end] == f.quote
        assert sentence.start <= f.start < f.end <= sentence.end


def test_a_rewording_must_keep_specifics_and_content_and_be_less_subjective() -> None:
    original = (
        "Rutte made a bombshell admission that NATO enlargement provoked the war, "
        "in Brussels on 12 March."
    )
    good = "Rutte said that NATO enlargement provoked the war, in Brussels on 12 March."
    assert rewording_problem(original, good, p_original=0.8, p_rewording=0.3) is None
    assert rewording_problem(original, original, p_original=0.8, p_rewording=0.8) == (
        "it repeats the sentence"
    )
    dropped = rewording_problem(
        original,
        "Rutte said NATO enlargement provoked the war, on 12 March.",
        p_original=0.8,
        p_rewording=0.3,
    )
    assert dropped == "it drops Brussels"
    other = "Rutte visited NATO in Brussels on 12 March."  # another sentence's rewording
    assert "content words" in str(
        rewording_problem(original, other, p_original=0.8, p_rewording=0.3)
    )
    assert "no less subjective" in str(
        rewording_problem(original, good, p_original=0.3, p_rewording=0.4)
    )


def _headline(kind: BiasKind) -> BiasFinding:
    return BiasFinding(
        kind=kind, quote="Headline!", severity=Severity.medium, score=0.9, explanation="x"
    )


def test_the_slant_score_orders_articles_by_their_evidence() -> None:
    plain = [
        _sentence(1, "Rutte said the talks would go on.", SentenceLabel.attributed),
        _sentence(2, "The meeting took place in Brussels on Thursday.", SentenceLabel.other),
        _sentence(3, "Allies agreed to meet again in April.", SentenceLabel.fact_supported),
    ]
    framed = [
        *plain[:2],
        _sentence(
            3,
            "It was clearly a disastrous, reckless and utterly shameful blunder.",
            SentenceLabel.opinion,
            subjective=0.9,
        ),
    ]
    neutral = slant(plain, spans_of(plain), [])
    headline_only = slant(plain, spans_of(plain), [_headline(BiasKind.clickbait_headline)])
    slanted = slant(framed, spans_of(framed), [_headline(BiasKind.clickbait_headline)])
    assert neutral.overall is Slant.neutral and neutral.score == 0.0
    assert neutral.score < headline_only.score < slanted.score
    assert slanted.overall is Slant.strongly_slanted
    assert "headline punctuated as clickbait (! or ?)" in slanted.evidence
    assert (
        "1 of 1 own-voice sentences subjective at the finding threshold (P(subjective) >= 0.71)"
    ) in slanted.evidence
    assert slanted.assessment.startswith(f"Slant score {slanted.score:.2f} (strongly_slanted)")


def test_serious_bare_allegations_outrank_hedged_interpretation_and_background() -> None:
    allegation = _sentence(
        1, "Western intelligence secretly armed the militias.", SentenceLabel.fact_unsupported
    )
    hedged = _sentence(
        2, "The prospect appears to have been sidelined.", SentenceLabel.speculation, 0.5
    )
    hedged.signals.hedges = ["appears to"]  # type: ignore[union-attr]
    background = _sentence(3, "The alliance was founded in 1949.", SentenceLabel.fact_unsupported)
    attributed = _sentence(4, "Rutte said so.", SentenceLabel.attributed)
    ranks = {s.id: strength(s, spans_of([s])[s.id]) for s in (allegation, hedged, background)}
    assert ranks[1] >= STRONG > ranks[3] > ranks[2]
    assert strength(attributed, []) == 0.0


def _article(*paragraphs: str) -> tuple[str, list[Sentence]]:
    """The body and its sentences, attributed by the rules (labels as the support stage
    gives them for attributed and own-voice sentences)."""
    article = Article(id="a", paragraphs=list(paragraphs))
    segments = segment(article)
    out = []
    for seg, found in zip(segments, attribute(segments), strict=True):
        label = SentenceLabel.attributed if found else SentenceLabel.fact_unsupported
        sentence = _sentence(seg.id, seg.text, label, start=seg.start)
        out.append(sentence.model_copy(update={"attribution": found}))
    return article.body, out


ACCUSATION = "Senator Jane Miller accused Governor Tom Reyes of hiding the audit from voters."


def test_an_accusation_the_accused_never_answers_is_one_sided_sourcing() -> None:
    body, sentences = _article(
        ACCUSATION, "Miller said the audit showed missing funds.", "The audit ran for a year."
    )
    [found] = one_sided(sentences)
    assert (found.sentence, found.text, found.accused) == (1, "accused", "Governor Tom Reyes")
    assert body[found.start : found.end] == "accused"
    judged = slant(sentences, spans_of(sentences), [], [found])
    assert judged.score > slant(sentences, spans_of(sentences), []).score
    assert (
        "one-sided sourcing: Senator Jane Miller accuses Governor Tom Reyes (sentence 1), "
        "no response reported"
    ) in judged.evidence
    # The plain background sentence is an unsupported assertion, but a mild one.
    assert "0 of 3 sentences strong unsupported assertions (1 mild)" in judged.evidence
    mismatch = slant(sentences, spans_of(sentences), [_headline(BiasKind.headline_body_mismatch)])
    assert "headline asserts what the body does not (1 clause(s))" in mismatch.evidence


def test_a_response_or_the_accused_speaking_makes_it_two_sided() -> None:
    answered = _article(ACCUSATION, "Reyes said the audit was published in March.")
    denied = _article(ACCUSATION, "A spokesman for the governor denied the claim.")
    no_comment = _article(ACCUSATION, "The governor's office declined to comment.")
    for _, sentences in (answered, denied, no_comment):
        assert one_sided(sentences) == []


def test_passive_and_adjectival_accusations_accuse_no_one_in_the_sentence() -> None:
    for text in (
        "Police said he is accused of killing two men near a Boston nightclub.",
        "The sheriff said officers are investigating an alleged attack on Senator Miller.",
        "Her comment drew a rebuke from Chinese authorities, the ministry said.",
        "Senator Miller accused him of hiding the audit.",  # no named party
    ):
        _, sentences = _article(text)
        assert one_sided(sentences) == [], text


def test_a_single_source_without_an_accusation_is_not_one_sided() -> None:
    _, wire = _article(
        "NATO Secretary General Mark Rutte said membership for Ukraine was not on the table.",
        "Rutte added that allies would discuss security guarantees after a peace deal.",
        "He criticised delays in ammunition deliveries.",  # no named party accused
    )
    assert one_sided(wire) == []


def test_a_neutral_headline_must_differ_be_plain_and_less_subjective() -> None:
    title = "NATO's Shocking Shift: Rutte Declares Ukraine's Membership Dead!"
    plain = "Rutte says NATO membership for Ukraine is not on the table"
    assert verified_headline(title, plain) == (plain, None)
    assert verified_headline(title, title.upper()) == (
        None,
        "neutral headline: it repeats the headline",
    )
    kept, why = verified_headline(title, "Is Ukraine's NATO membership dead?")
    assert kept is None and why is not None and "clickbait" in why
    kept, why = verified_headline(plain, title.rstrip("!"))
    assert kept is None and why is not None and "no less subjective" in why
    assert verified_headline(None, plain) == (plain, None)


def test_a_failed_model_rewording_falls_back_to_a_checked_minimal_edit() -> None:
    body = "The council met on Monday. Clearly, the mayor pushed a disastrous plan through."
    article = Article(id="a", title="Mayor pushes plan", paragraphs=[body])
    segments = segment(article)
    sentences = [
        _sentence(s.id, s.text, SentenceLabel.opinion, subjective=0.9, start=s.start)
        for s in segments
    ]
    assert [w.text for w in sentences[1].signals.framing] == ["Clearly", "disastrous"]  # type: ignore[union-attr]
    # The model repeats the sentence: its rewording fails the checks.
    llm = FakeLLM(
        {
            "bias": [
                {
                    "neutral_headline": "Mayor pushes plan",
                    "rewordings": [{"sentence": 2, "neutral": sentences[1].text}],
                }
            ]
        }
    )
    assessment, _ = asyncio.run(
        check_bias(article, segments, sentences, llm=llm, settings=JudgmentSettings(), headline=[])
    )
    found = [f for f in assessment.findings if f.sentence == 2]
    assert [f.quote for f in found] == ["Clearly", "disastrous"]
    for f in found:
        assert f.rewording_kind is RewordingKind.minimal_edit
        assert f.neutral_rewording == "The mayor pushed a plan through."
    assert "sentence 2: it repeats the sentence" in assessment.dropped_rewordings
    assert "the tagger's P(loaded)" in assessment.evidence[0]


def test_a_minimal_edit_that_fails_the_checks_is_dropped_with_its_reason() -> None:
    text = "Officials confirmed the very large crowd."
    [sentence] = [_sentence(1, text, SentenceLabel.opinion, subjective=0.9)]
    spans = {1: [FramingSpan(10, 19, "confirmed", Framing.loaded_language, 0.9)]}
    kept, dropped = minimal_rewordings([sentence], spans, set())
    assert kept == {} and dropped == []  # no safe edit: nothing offered, nothing claimed
    spans = {1: [FramingSpan(24, 28, "very", Framing.intensifier, 0.9)]}
    kept, dropped = minimal_rewordings([sentence], spans, set())
    edited = "Officials confirmed the large crowd."
    assert (kept, dropped) == ({1: edited}, []) or dropped[0].startswith(
        "sentence 1 (minimal edit)"
    )
