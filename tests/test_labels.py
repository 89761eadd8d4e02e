"""From signals to labels: each rule of pipeline.signals.labels, in order, with its score."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from pipeline.core.config import JudgmentSettings
from pipeline.signals.attribution import attribute
from pipeline.signals.cues import cues
from pipeline.signals.labels import Signals, label_sentences
from pipeline.signals.slant import slanted
from pipeline.stages.bias import check_bias, flagged, sentence_finding
from pipeline.stages.clean import clean
from pipeline.text.ingest import RawDocument
from pipeline.text.sentences import Segment, segment
from schemas.bias import BiasKind
from schemas.sentence import Attribution, SentenceLabel, Span
from tests.fakes import FakeLLM


def _signals(
    text: str,
    *,
    number: int = 1,
    subjective: float = 0.2,
    attribution: Attribution | None = None,
    checkworthy: bool = False,
    model: dict[str, float] | None = None,
) -> Signals:
    return Signals(
        segment=Segment(id=number, start=0, end=len(text), text=text, paragraph=0),
        attribution=attribution,
        cues=cues(text),
        classifier=subjective,
        loaded=None,
        subjective=subjective,
        threshold=0.5,
        finding_threshold=0.7,
        model=model,
        checkworthy=checkworthy,
    )


def _named(sentence: int = 1, source: str = "Rutte") -> Attribution:
    return Attribution(
        named=True,
        cue=Span(start=6, end=10, text="said"),
        source=Span(start=0, end=len(source), text=source),
        sentence=sentence,
    )


def _label(*signals: Signals, vectors: np.ndarray | None = None) -> list[tuple[str, float]]:
    if vectors is None:
        vectors = np.eye(len(signals), dtype=np.float32)
    return [(s.label.value, s.score) for s in label_sentences(signals, vectors, 0.6)]


@pytest.mark.parametrize(
    ("text", "kwargs", "label"),
    [
        ("Background and context", {}, "other"),  # a heading
        ("Rutte said the door was open.", {"attribution": _named()}, "attributed"),
        ("Why would anyone agree to that?", {}, "other"),
        ("This could embolden Russia in the region.", {"subjective": 0.9}, "speculation"),
        ("The budget is a shameful betrayal of families.", {"subjective": 0.8}, "opinion"),
        ("The plan was approved on Monday by 12 votes.", {"checkworthy": True}, "fact_unsupported"),
        ("The plan was approved on Monday by 12 votes.", {}, "other"),
    ],
)
def test_the_first_rule_that_applies_gives_the_label(
    text: str, kwargs: dict[str, object], label: str
) -> None:
    [(found, score)] = _label(_signals(text, **kwargs))  # type: ignore[arg-type]
    assert found == label and 0 <= score <= 1


def test_unnamed_sources_are_their_own_label() -> None:
    unnamed = Attribution(named=False, cue=Span(start=8, end=11, text="say"), sentence=1)
    [(label, score)] = _label(_signals("Critics say the deal is weak.", attribution=unnamed))
    assert label == "attributed_unnamed" and SentenceLabel(label).unsupported and score == 0.8


def test_a_quotation_whose_speaker_is_named_before_scores_lower_than_a_direct_attribution() -> None:
    direct = _signals("Rutte said the door was open.", attribution=_named())
    quoted = _signals("“We commit to it, and we keep our word.”", number=2, attribution=_named(1))
    assert [s for _, s in _label(direct, quoted)] == [0.9, 0.75]


def test_an_own_voice_fact_a_named_source_says_is_supported_with_that_sentence_as_evidence() -> (
    None
):
    cited = _signals("Rutte said the plan passed by 12 votes.", attribution=_named())
    own = _signals("The plan passed by 12 votes on Monday.", number=2, checkworthy=True)
    far = _signals("Markets rose sharply on the news today.", number=3, checkworthy=True)
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    sentences = label_sentences([cited, own, far], vectors, 0.6)
    assert sentences[1].label is SentenceLabel.fact_supported
    assert sentences[1].evidence == [1] and sentences[1].score == pytest.approx(0.8)
    assert sentences[2].label is SentenceLabel.fact_unsupported
    assert sentences[2].score == pytest.approx(1.0)  # nothing cited is like it


def test_the_model_moves_a_speculation_score_and_the_reason_names_the_hedges() -> None:
    text = "The talks could well collapse next week."
    alone = label_sentences([_signals(text)], np.eye(1, dtype=np.float32), 0.6)[0]
    agreed = label_sentences(
        [_signals(text, model={"A": 0.0, "B": 0.0, "C": 0.9, "D": 0.1, "E": 0.0})],
        np.eye(1, dtype=np.float32),
        0.6,
    )[0]
    assert alone.label is agreed.label is SentenceLabel.speculation
    assert agreed.score > alone.score
    assert "could well" in alone.why


def test_findings_come_from_the_articles_voice_at_the_label_threshold() -> None:
    """A quoted opinion is its source's, not the article's slant; an own-voice opinion is a
    finding from the label threshold on, and of high severity from the finding threshold."""
    quoted, mild, strong = label_sentences(
        [
            _signals("Rutte said it was a disgrace.", subjective=0.95, attribution=_named()),
            _signals("The plan is a poor idea for families.", number=2, subjective=0.6),
            _signals("The plan is a shameful betrayal.", number=3, subjective=0.9),
        ],
        np.eye(3, dtype=np.float32),
        0.6,
    )
    assert (quoted.label, mild.label, strong.label) == (
        SentenceLabel.attributed,
        SentenceLabel.opinion,
        SentenceLabel.opinion,
    )
    assert not slanted(quoted) and slanted(mild) and slanted(strong)
    assert not slanted(mild, strict=True) and slanted(strong, strict=True)
    assert [s.id for s in flagged([quoted, mild, strong], 1)] == [3]
    assert [s.id for s in flagged([quoted, mild, strong], 4, strict=True)] == [3]
    findings = [sentence_finding(s, None) for s in flagged([quoted, mild, strong], 4)]
    assert [(f.sentence, f.severity.value) for f in findings] == [(2, "medium"), (3, "high")]
    assert findings[1].quote == strong.text


@pytest.mark.parametrize(
    ("plain", "overall", "found"),
    [
        (6, "neutral", [(9, "high")]),
        (0, "slightly_slanted", [(2, "medium"), (3, "high")]),
    ],
)
def test_a_neutral_article_gets_only_its_high_severity_findings(
    plain: int, overall: str, found: list[tuple[int, str]]
) -> None:
    """Medium findings (label threshold) only where the verdict calls the article slanted:
    one subjective sentence in nine keeps the slant score neutral, one in three does not."""
    facts = " ".join(f"Item {n} passed by {n + 40} votes." for n in range(1, plain + 1))
    opinions = "The plan is a poor idea. The plan is a shameful mistake."
    body = f"The vote was held on Monday. {facts} {opinions}"
    article = clean(
        RawDocument(id="t", source="t.txt", kind="text", content=f"Vote held\n\n{body}\n")
    )
    segments = segment(article)
    scores = dict(zip([s.id for s in segments], (*(0.1,) * (plain + 1), 0.6, 0.9), strict=True))
    signals = [
        _signals(s.text, number=s.id, subjective=scores[s.id], checkworthy=True) for s in segments
    ]
    sentences = label_sentences(signals, np.eye(len(signals), dtype=np.float32), 0.6)
    llm = FakeLLM({"bias": [{"neutral_headline": "Vote held", "rewordings": []}]})
    assessment, _ = asyncio.run(
        check_bias(
            article,
            segments,
            sentences,
            llm=llm,
            settings=JudgmentSettings(),
            headline=[],
        )
    )
    assert assessment.overall.value == overall, assessment.assessment
    assert [(f.sentence, f.severity.value) for f in assessment.findings] == found


def test_the_bias_stage_reports_an_unanswered_accusation_on_its_accusing_words() -> None:
    body = (
        "Senator Jane Miller accused Governor Tom Reyes of hiding the audit. "
        "The audit ran for a year."
    )
    article = clean(
        RawDocument(id="t", source="t.txt", kind="text", content=f"Audit row\n\n{body}\n")
    )
    segments = segment(article)
    found = attribute(segments)
    signals = [
        _signals(s.text, number=s.id, attribution=a, checkworthy=True)
        for s, a in zip(segments, found, strict=True)
    ]
    sentences = label_sentences(signals, np.eye(len(signals), dtype=np.float32), 0.6)
    llm = FakeLLM({"bias": [{"neutral_headline": "Audit row", "rewordings": []}]})
    assessment, _ = asyncio.run(
        check_bias(article, segments, sentences, llm=llm, settings=JudgmentSettings(), headline=[])
    )
    [one_sided] = [f for f in assessment.findings if f.kind is BiasKind.one_sided_sourcing]
    assert one_sided.sentence == 1 and one_sided.quote == "accused"
    assert one_sided.start is not None and one_sided.end is not None
    assert article.body[one_sided.start : one_sided.end] == "accused"
    assert "Governor Tom Reyes" in one_sided.explanation
