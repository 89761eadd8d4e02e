"""Scorers for `newsaudit eval`, by task: each factory takes the open model and the settings and
returns the scorer (see ``pipeline.evaluation.rows.Scorer``) with its default threshold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError
from pipeline.evaluation.rows import BiasRow, FaithfulnessRow, Row, Scorer

ScorerFactory = Callable[[Any, Settings], tuple[Scorer, float]]


def bias_scorer(llm: Any, settings: Settings) -> tuple[Scorer, float]:
    """Each row judged as a one-sentence article, exactly as `check` judges a sentence: the
    score is the combined P(subjective) measured against its threshold (0.5 = at the
    threshold), so the default threshold is 0.5 whichever variant of the combination ran."""
    from pipeline.signals.subjectivity import centred
    from pipeline.stages.support import label_article
    from pipeline.text.sentences import whole
    from schemas.article import Article

    async def score(rows: list[Row]) -> list[float]:
        out = []
        for row in rows:
            assert isinstance(row, BiasRow)
            article = Article(id=row.id, paragraphs=[row.text])
            labelled, _ = await label_article(
                article, [whole(row.text)], llm=llm, settings=settings, checkworthy=set()
            )
            signals = labelled[0].signals
            assert signals is not None
            out.append(centred(signals.subjective, signals.threshold))
        return out

    return score, 0.5


def faithfulness_scorer(llm: Any, settings: Settings) -> tuple[Scorer, float]:
    """Each row's claim checked against its document exactly as `newsaudit verify` checks a
    statement; the score is P(supported) mapped so that its threshold sits at 0.5."""
    from pipeline.signals.citations import SentenceIndex
    from pipeline.signals.embeddings import embedded_model
    from pipeline.signals.subjectivity import centred
    from pipeline.stages.verify import check_statements
    from pipeline.text.sentences import segment
    from schemas.article import Article

    async def score(rows: list[Row]) -> list[float]:
        out = []
        for row in rows:
            assert isinstance(row, FaithfulnessRow)
            paragraphs = [p for p in row.document.split("\n") if p.strip()]
            article = Article(id=row.id, paragraphs=paragraphs)
            segments = segment(article)
            index = SentenceIndex(segments, embedded_model().embed([s.text for s in segments]))
            [check], _ = await check_statements(
                [row.claim], index, article.body, llm=llm, mode=settings.model_signal()
            )
            out.append(centred(check.probability, check.threshold))
        return out

    return score, 0.5


# Task name -> factory.
SCORERS: dict[str, ScorerFactory] = {"bias": bias_scorer, "faithfulness": faithfulness_scorer}


def make_scorer(task: str, llm: Any, settings: Settings) -> tuple[Scorer, float]:
    """The scorer of ``task`` over ``llm`` and its default threshold."""
    factory = SCORERS.get(task)
    if factory is None:
        raise ConfigError(f"no scorer for task {task!r}")
    return factory(llm, settings)
