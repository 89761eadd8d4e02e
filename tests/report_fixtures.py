"""A small ArticleReport built in code: every sentence label once, a claim of each kind of
verdict, a body finding, a headline finding and a headline check, for the renderer tests."""

from __future__ import annotations

from schemas.article import Article
from schemas.bias import BiasAssessment, BiasFinding, BiasKind, HeadlineClaim, Severity, Slant
from schemas.claims import Claim, ClaimType
from schemas.report import ArticleReport, ClaimAudit, StageMetrics
from schemas.sentence import Attribution, Sentence, SentenceLabel, Span
from schemas.summary import Summary, SummaryBullet
from schemas.support import SupportVerdict, Verdict

TITLE = "Mayor’s Reckless Plan Will Ruin the Town!"
PARAGRAPHS = [
    "The council approved the R&D budget on Monday. Critics say it is a <disaster> for families.",
    "The mayor said the plan would cut costs by 5 percent. It will probably fail by spring.",
    "Officials, who asked not to be named, said talks had stalled. — Taxes rose 3% | a record. "
    "Background",
]
# (text, label, score, why): in body order; the gap "— " in paragraph 3 belongs to no sentence.
SENTENCES = [
    ("The council approved the R&D budget on Monday.", "fact_supported", 0.71, "backed by s3"),
    ("Critics say it is a <disaster> for families.", "opinion", 0.62, "subjective (P=0.62)"),
    (
        "The mayor said the plan would cut costs by 5 percent.",
        "attributed",
        0.9,
        "named source 'The mayor' ('said')",
    ),
    ("It will probably fail by spring.", "speculation", 0.55, "a guess (probably)"),
    (
        "Officials, who asked not to be named, said talks had stalled.",
        "attributed_unnamed",
        0.7,
        "unnamed source 'Officials' ('said')",
    ),
    ("Taxes rose 3% | a record.", "fact_unsupported", 0.81, "a checkable fact, no source"),
    ("Background", "other", 0.9, "a heading or fragment"),
]


def _sentences(body: str) -> list[Sentence]:
    """SENTENCES with their offsets in ``body``, found in order."""
    out, cursor = [], 0
    for number, (text, label, score, why) in enumerate(SENTENCES, start=1):
        start = body.index(text, cursor)
        cursor = start + len(text)
        out.append(
            Sentence(
                id=number,
                start=start,
                end=cursor,
                text=text,
                paragraph=body.count("\n\n", 0, start),
                label=SentenceLabel(label),
                score=score,
                why=why,
                evidence=[3] if label == "fact_supported" else [],
            )
        )
    mayor = out[2]
    said = mayor.start + mayor.text.index("said")
    out[2].attribution = Attribution(
        named=True,
        cue=Span(start=said, end=said + 4, text="said"),
        source=Span(start=mayor.start, end=mayor.start + 9, text="The mayor"),
        sentence=3,
    )
    return out


def _claim(number: int, sentence: Sentence, verdict: Verdict, why: str) -> ClaimAudit:
    speaker = "The mayor" if sentence.attribution else None
    return ClaimAudit(
        number=number,
        claim=Claim(
            sentence=sentence.id,
            quote=sentence.text,
            claim=f"Claim {number}: {sentence.text}",
            speaker=speaker,
            type=ClaimType.quote if speaker else ClaimType.reported_fact,
        ),
        verdict=SupportVerdict(
            verdict=verdict,
            score=sentence.score,
            attribution=speaker,
            rationale=why,
            evidence=["The mayor said the plan would cut costs by 5 percent."] if speaker else [],
        ),
    )


def _bias() -> BiasAssessment:
    return BiasAssessment(
        headline_claims=[
            HeadlineClaim(assertion="The plan will ruin the town"),
            HeadlineClaim(
                assertion="The mayor has a plan",
                sentence=3,
                body_quote="The mayor said the plan would cut costs by 5 percent.",
            ),
        ],
        neutral_headline="Mayor says plan will cut costs; critics object",
        findings=[
            BiasFinding(
                kind=BiasKind.loaded_language,
                quote="a <disaster>",
                sentence=2,
                severity=Severity.medium,
                score=0.66,
                explanation="“Disaster” judges the budget for the reader.",
                neutral_rewording="Critics say the budget hurts families.",
            ),
            BiasFinding(
                kind=BiasKind.clickbait_headline,
                quote="Reckless Plan Will Ruin the Town",
                sentence=None,
                severity=Severity.high,
                score=0.8,
                explanation="The headline predicts ruin that the body does not report.",
            ),
        ],
        overall=Slant.slightly_slanted,
        assessment="Two of seven sentences carry slanted wording.",
    )


def small_report() -> ArticleReport:
    """The fixture report: seven sentences, one of each label, ranked unsupported ids 6 5 2 4."""
    article = Article(id="fixture", source="tests/fixture.txt", title=TITLE, paragraphs=PARAGRAPHS)
    sentences = _sentences(article.body)
    ranked = sorted((s for s in sentences if s.label.unsupported), key=lambda s: -s.score)
    return ArticleReport(
        newsaudit_version="0.0.test",
        created_at="2026-01-01T00:00:00+00:00",
        model="fake/model",
        provider="fake",
        instructor_mode="json_schema",
        article=article,
        summary=Summary(
            bullets=[
                SummaryBullet(text="The council approved the budget on Monday.", sentences=[1]),
                SummaryBullet(text="The mayor expects 5 percent savings.", sentences=[3, 2]),
            ],
            neutral_title="Council approves budget; mayor expects savings",
        ),
        sentences=sentences,
        unsupported=[s.id for s in ranked],
        claims=[
            _claim(1, sentences[2], Verdict.supported_by_attribution, "named source 'The mayor'"),
            _claim(2, sentences[5], Verdict.unsupported, "a checkable fact, no source"),
        ],
        bias=_bias(),
        stages=[
            StageMetrics(stage="claims", calls=1, prompt_tokens=300, completion_tokens=30),
            StageMetrics(
                stage="bias", calls=2, prompt_tokens=100, completion_tokens=10, cost_usd=0.0012
            ),
        ],
        prompt_hashes={"claims": "abc", "bias": "def"},
        seconds_total=3.0,
    )
