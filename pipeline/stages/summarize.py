"""Stage 2, summarize: a neutral title and points, each citing the sentences it rests on and
checked against them (pipeline.stages.verify): a point the article does not bear out, or that
states the article's opinion as fact, is written again once from its sentences, then dropped
if it still fails. The report says which."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.signals.citations import SentenceIndex, repoint_all
from pipeline.signals.subjectivity import Combination
from pipeline.stages import StructuredLLM, call_stage
from pipeline.stages.verify import check_statements
from pipeline.text.chunking import merge_metrics
from pipeline.text.sentences import Segment
from schemas.article import Article
from schemas.report import StageMetrics
from schemas.sentence import Sentence, SentenceLabel
from schemas.summary import Summary, SummaryBullet, SummaryDraft
from schemas.verification import Faithfulness, Rewrites, StatementCheck, Support

MAX_BULLETS = 4


async def summarize(
    article: Article,
    segments: Sequence[Segment],
    *,
    llm: StructuredLLM,
    index: SentenceIndex,
    snap_threshold: float = 90.0,
) -> tuple[Summary, StageMetrics]:
    """Summarise one article (or one part of a long one) in one model call; each point's
    citations are checked against its words (``pipeline.signals.citations``)."""
    draft, metrics = await call_stage(
        "summarize",
        SummaryDraft,
        article,
        llm=llm,
        snap_threshold=snap_threshold,
        segments=segments,
        context={"headline": article.title},
    )
    cited, notes = repoint_all(
        [p.text for p in draft.points],
        [p.sentences for p in draft.points],
        index,
        {s.id for s in segments},
    )
    metrics.quote_repairs += len(notes)
    metrics.warnings += [f"citations: {n}" for n in notes]
    bullets = [
        SummaryBullet(text=p.text, sentences=sorted(ids))
        for p, ids in zip(draft.points, cited, strict=True)
    ]
    return Summary(bullets=bullets, neutral_title=draft.neutral_title), metrics


def merge_summaries(summaries: Sequence[Summary]) -> Summary:
    """Bullets taken in turn from each part (at most five) and the first part's title."""
    if len(summaries) == 1:
        return summaries[0]
    bullets: list[SummaryBullet] = []
    for rank in range(max(len(s.bullets) for s in summaries)):
        bullets += [s.bullets[rank] for s in summaries if rank < len(s.bullets)]
    return Summary(bullets=bullets[:MAX_BULLETS], neutral_title=summaries[0].neutral_title)


ATTRIBUTING = re.compile(
    r"\b(?:said|says|say|told|argue[sd]?|argues|claim(?:s|ed)?|according to|suggest(?:s|ed)?|"
    r"expect(?:s|ed)?|believe[sd]?|the article|the author|the writer|the outlet|predict(?:s|ed)?|"
    r"warn(?:s|ed)?|speculat\w*|view|opinion|criticis\w*|criticiz\w*|describe[sd]?|call(?:s|ed))\b",
    re.IGNORECASE,
)
OWN_VIEW = {SentenceLabel.opinion, SentenceLabel.speculation}


def states_a_view_as_fact(bullet: SummaryBullet, labels: dict[int, SentenceLabel]) -> bool:
    """A point that rests only on the article's opinions or guesses and does not say whose
    view it is (no 'the article argues', 'X said', ...)."""
    cited = [labels[i] for i in bullet.sentences if i in labels]
    return bool(cited) and all(c in OWN_VIEW for c in cited) and not ATTRIBUTING.search(bullet.text)


def _failed(bullet: SummaryBullet, labels: dict[int, SentenceLabel]) -> bool:
    check = bullet.check
    return (
        check is None
        or check.verdict is not Support.supported
        or states_a_view_as_fact(bullet, labels)
    )


def _checked(
    bullet: SummaryBullet, check: StatementCheck, labels: dict[int, SentenceLabel]
) -> SummaryBullet:
    if states_a_view_as_fact(bullet, labels):
        check = check.model_copy(
            update={"problems": [*check.problems, "states the article's opinion or guess as fact"]}
        )
    return bullet.model_copy(update={"check": check})


async def ground_summary(
    summary: Summary,
    article: Article,
    sentences: Sequence[Sentence],
    *,
    llm: StructuredLLM,
    index: SentenceIndex,
    mode: str,
    calibrated: Combination | None = None,
) -> tuple[Summary, StageMetrics]:
    """Check every point against the sentences it cites (and those that match it best); a
    point that fails is written again once from its sentences and checked again, then kept
    or dropped. The report keeps the first wording and the dropped points. ``calibrated``:
    the statement checker's weights (default the shipped ones)."""
    labels = {s.id: s.label for s in sentences}
    body = article.body
    bullets = summary.bullets
    checks, metrics = await check_statements(
        [b.text for b in bullets],
        index,
        body,
        llm=llm,
        mode=mode,
        cited=[b.sentences for b in bullets],
        calibrated=calibrated,
    )
    bullets = [_checked(b, c, labels) for b, c in zip(bullets, checks, strict=True)]
    failing = [n for n, b in enumerate(bullets) if _failed(b, labels)]
    spent = [metrics]
    rewritten: dict[int, SummaryBullet] = {}
    if failing and mode == "logprobs":  # without per-point questions, no rewrite call either
        rewritten, more = await _rewrite(
            article,
            index,
            [(n, bullets[n]) for n in failing],
            llm=llm,
            mode=mode,
            labels=labels,
            calibrated=calibrated,
        )
        spent += more
    kept, dropped = [], []
    for n, bullet in enumerate(bullets):
        if n not in failing:
            kept.append(bullet)
        elif n in rewritten and not _failed(rewritten[n], labels):
            kept.append(rewritten[n])
        else:
            dropped.append(rewritten.get(n, bullet))
    faithfulness = Faithfulness(
        checked=len(bullets),
        supported=len(bullets) - len(failing),
        rewritten=sum(b.rewritten_from is not None for b in kept),
        dropped=len(dropped),
    )
    merged = merge_metrics("summary_check", spent)
    merged.stage = "summary_check"
    return summary.model_copy(
        update={"bullets": kept, "dropped": dropped, "faithfulness": faithfulness}
    ), merged


async def _rewrite(
    article: Article,
    index: SentenceIndex,
    failing: list[tuple[int, SummaryBullet]],
    *,
    llm: StructuredLLM,
    mode: str,
    labels: dict[int, SentenceLabel],
    calibrated: Combination | None = None,
) -> tuple[dict[int, SummaryBullet], list[StageMetrics]]:
    """One call writes the failing points again from their sentences; each is checked again."""
    shown = sorted({i for _, b in failing for i in b.sentences})
    segments = [s for s in index.segments if s.id in shown] or list(index.segments)
    points = [
        {"number": k, "sentences": b.sentences, "text": b.text}
        for k, (_, b) in enumerate(failing, 1)
    ]
    result, metrics = await call_stage(
        "rewrite", Rewrites, article, llm=llm, snap_threshold=90.0, segments=segments, points=points
    )
    texts = {r.point: r.text for r in result.points if 1 <= r.point <= len(failing)}
    # a point written again word for word is not asked about again: the same question would
    # get the same verdict (and a second, cached reading of it differs in the last digits)
    order = [k for k in sorted(texts) if texts[k].strip() != failing[k - 1][1].text.strip()]
    checks, more = await check_statements(
        [texts[k] for k in order],
        index,
        article.body,
        llm=llm,
        mode=mode,
        cited=[failing[k - 1][1].sentences for k in order],
        calibrated=calibrated,
    )
    out = {}
    for k, check in zip(order, checks, strict=True):
        n, old = failing[k - 1]
        new = SummaryBullet(text=texts[k], sentences=old.sentences, rewritten_from=old.text)
        out[n] = _checked(new, check, labels)
    return out, [metrics, more]
