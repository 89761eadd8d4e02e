"""Scorers for `newsaudit eval`, by task: each factory takes the open model and the settings and
returns the scorer (see ``pipeline.evaluation.rows.Scorer``) with its default threshold. The
spans task has its own registry (``SPAN_SCORERS``): its scorer tags spans (see
``pipeline.evaluation.spans.SpanScorer``) and needs no model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError
from pipeline.evaluation.rows import BiasRow, FaithfulnessRow, Row, Scorer
from pipeline.evaluation.spans import Prediction, SpanRow, SpanScorer

ScorerFactory = Callable[[Any, Settings], tuple[Scorer, float]]
SpanScorerFactory = Callable[[Any, Settings], tuple[SpanScorer, float]]


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
    from pipeline.signals.calibration import statement_combination
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
                [row.claim],
                index,
                article.body,
                llm=llm,
                mode=settings.model_signal(),
                calibrated=statement_combination(settings, settings.model_signal()),
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


def spans_scorer(llm: Any, settings: Settings) -> tuple[SpanScorer, float]:
    """Each row's text tagged by ``pipeline.signals.tagger`` as a one-sentence input in the
    article's own voice; each tagged span comes with its probability, and the default
    threshold is the tagger's. Neither the model (``llm``, None from the CLI) nor the settings
    are used."""
    try:
        from pipeline.signals.tagger import tag_texts, threshold

        default = float(threshold())  # loads the tagger: a missing weights file shows here
    except (ImportError, OSError) as exc:
        needs = "task spans needs the span tagger (pipeline.signals.tagger)"
        raise ConfigError(f"{needs}: {exc}") from exc

    async def score(rows: list[SpanRow]) -> list[list[Prediction]]:
        tagged = tag_texts([row.text for row in rows])
        return [[(t.start, t.end, t.probability) for t in spans] for spans in tagged]

    return score, default


# Task name -> factory of a span scorer.
SPAN_SCORERS: dict[str, SpanScorerFactory] = {"spans": spans_scorer}


def make_span_scorer(task: str, llm: Any, settings: Settings) -> tuple[SpanScorer, float]:
    """The span scorer of ``task`` and its default threshold."""
    factory = SPAN_SCORERS.get(task)
    if factory is None:
        raise ConfigError(f"no scorer for task {task!r}")
    return factory(llm, settings)
