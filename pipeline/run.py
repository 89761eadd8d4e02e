"""Composes the stages for one article, and opens the configured model for a run."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from pipeline import __version__
from pipeline.core.config import Settings
from pipeline.core.errors import InputError, NewsauditError
from pipeline.model.llm import LLM
from pipeline.model.prompts import prompt_hash
from pipeline.model.ratelimit import RateLimiter
from pipeline.model.server import LocalServer
from pipeline.signals.calibration import (
    STATEMENTS,
    calibration_warnings,
    sentence_calibration,
    statement_combination,
)
from pipeline.signals.citations import SentenceIndex
from pipeline.signals.embeddings import embedded_model
from pipeline.signals.framing import sentence_spans
from pipeline.signals.strength import STRONG, strength
from pipeline.signals.subjectivity import embed_and_classify
from pipeline.stages import StructuredLLM
from pipeline.stages.bias import check_bias, check_headline, merge_bias
from pipeline.stages.claims import build_claims, pick_claims
from pipeline.stages.clean import clean
from pipeline.stages.summarize import ground_summary, merge_summaries, summarize
from pipeline.stages.support import label_article, verdict_of
from pipeline.stages.verify import check_statements
from pipeline.text.chunking import estimate_tokens, merge_metrics, split_segments
from pipeline.text.ingest import RawDocument
from pipeline.text.sentences import Segment, segment
from schemas.article import Article
from schemas.report import ArticleReport, ClaimAudit, StageMetrics
from schemas.sentence import Sentence
from schemas.verification import VerifyReport

T = TypeVar("T")

LLM_STAGES = ("summarize", "claims", "support", "summary_check", "bias")
# The templates a report's calls can use (which ones depend on how the model is asked).
PROMPTS = (
    "summarize",
    "claims",
    "sentence",
    "support",
    "verify_article",
    "verify_all",
    "rewrite",
    "bias",
)
Progress = Callable[[str], None]


@contextmanager
def open_llm(
    settings: Settings, limiter: RateLimiter | None = None, *, calibrating: bool = False
) -> Iterator[LLM]:
    """The configured model; an embedded one gets a llama-server for the length of the block.
    Its calibration profile is checked first (a stale or mismatched one is refused before any
    server starts), except when ``calibrating`` it."""
    if not calibrating:
        sentence_calibration(settings)
    if not settings.embedded:
        yield LLM(settings, model=settings.model, api_base=settings.api_base, limiter=limiter)
        return
    with LocalServer(settings.model, settings.server) as server:
        yield LLM(settings, model=server.litellm_model, api_base=server.base_url, limiter=limiter)


def _quiet(_: str) -> None:
    return None


async def _each(
    parts: list[list[Segment]], call: Callable[[list[Segment]], Awaitable[tuple[T, StageMetrics]]]
) -> tuple[list[T], list[StageMetrics]]:
    """One stage over every part, in order (parts of one article share one model in turn)."""
    results, metrics = [], []
    for part in parts:
        result, stage_metrics = await call(part)
        results.append(result)
        metrics.append(stage_metrics)
    return results, metrics


def _parts(doc: RawDocument, article: Article, settings: Settings) -> list[list[Segment]]:
    """The article's sentences in parts that fit one call; refused beyond ``max_chunks``."""
    parts = split_segments(segment(article), settings.max_chunk_tokens)
    if len(parts) > settings.max_chunks:
        raise InputError(
            f"{doc.source}: article too long: about {estimate_tokens(article.body)} tokens "
            f"needs {len(parts)} parts of {settings.max_chunk_tokens}, more than max_chunks="
            f"{settings.max_chunks} (raise max_chunks or max_chunk_tokens to audit it)"
        )
    return parts


def ranked_unsupported(sentences: list[Sentence]) -> tuple[list[int], list[int]]:
    """Ids of the strong and of the mild unsupported assertions, each strongest first (ties
    in article order); every unsupported sentence gets its strength."""
    scored = [(strength(s, sentence_spans(s)), s) for s in sentences if s.label.unsupported]
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    for value, s in scored:
        s.strength = value
    strong = [s.id for value, s in scored if value >= STRONG]
    return strong, [s.id for value, s in scored if value < STRONG]


async def audit(
    doc: RawDocument,
    *,
    llm: StructuredLLM,
    settings: Settings,
    progress: Progress = _quiet,
) -> ArticleReport:
    """Run every stage on one document and assemble its report."""
    started = time.perf_counter()
    snap = settings.quote_snap_threshold
    article = clean(doc)
    stages = [StageMetrics(stage="clean", seconds=round(time.perf_counter() - started, 3))]
    parts = _parts(doc, article, settings)
    if len(parts) > 1:
        stages[0].warnings.append(
            f"article of about {estimate_tokens(article.body)} tokens audited in {len(parts)} "
            f"parts of at most {settings.max_chunk_tokens} tokens: each stage made one call "
            "per part, and claims and findings were merged"
        )
    # A long article's claim budget is shared between its parts (at least two each).
    claims_per_part = (
        settings.max_claims if len(parts) == 1 else max(2, -(-settings.max_claims // len(parts)))
    )
    segments = [s for part in parts for s in part]
    scored = embed_and_classify([s.text for s in segments])
    index = SentenceIndex(segments, scored.vectors)
    try:
        progress(f"{doc.id}: summarize")
        summaries, metrics = await _each(
            parts, lambda part: summarize(article, part, llm=llm, index=index, snap_threshold=snap)
        )
        summary = merge_summaries(summaries)
        stages.append(merge_metrics("summarize", metrics))
        progress(f"{doc.id}: claims")
        picked, metrics = await _each(
            parts,
            lambda part: pick_claims(
                article,
                part,
                llm=llm,
                index=index,
                max_claims=claims_per_part,
                snap_threshold=snap,
            ),
        )
        picks = [p for found in picked for p in found]
        stages.append(merge_metrics("claims", metrics))
        progress(f"{doc.id}: support ({sum(map(len, parts))} sentences)")
        sentences, support_metrics = await label_article(
            article,
            parts,
            llm=llm,
            settings=settings,
            checkworthy={p.sentence for p in picks},
            scored=scored,
        )
        stages.append(support_metrics)
        progress(f"{doc.id}: summary check ({len(summary.bullets)} points)")
        # Hosted providers keep to one call per stage: summary points and the headline are
        # checked without one.
        check_mode = "off" if settings.model_signal() == "batch" else settings.model_signal()
        checker = statement_combination(settings, check_mode)
        summary, check_metrics = await ground_summary(
            summary, article, sentences, llm=llm, index=index, mode=check_mode, calibrated=checker
        )
        answered = any(b.check and b.check.model for b in summary.bullets)
        check_metrics.warnings += calibration_warnings(
            settings, check_mode, answered=answered, fitted=STATEMENTS
        )
        stages.append(check_metrics)
        progress(f"{doc.id}: bias")
        headline, headline_metrics = await check_headline(
            article, index, llm=llm, mode=check_mode, calibrated=checker
        )
        assessments, metrics = await _each(
            parts,
            lambda part: check_bias(
                article,
                part,
                sentences,
                llm=llm,
                settings=settings.judgments,
                headline=headline,
                snap_threshold=snap,
            ),
        )
        bias = merge_bias(assessments)
        stages.append(merge_metrics("bias", [*metrics, headline_metrics]))
    except NewsauditError as exc:
        exc.spent = [*stages, *exc.spent]  # what the article cost before it failed
        raise
    claims = build_claims(picks, sentences)
    by_id = {s.id: s for s in sentences}
    strong, mild = ranked_unsupported(sentences)
    return ArticleReport(
        newsaudit_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=settings.model,
        provider="llama.cpp (embedded)" if settings.embedded else settings.model.split("/")[0],
        instructor_mode=settings.instructor_mode(),
        calibration=sentence_calibration(settings).label,
        article=article,
        summary=summary,
        sentences=sentences,
        unsupported=strong,
        unsupported_mild=mild,
        claims=[
            ClaimAudit(number=i, claim=c, verdict=verdict_of(by_id[c.sentence], by_id))
            for i, c in enumerate(claims, start=1)
        ],
        bias=bias,
        stages=stages,
        prompt_hashes={stage: prompt_hash(stage) for stage in PROMPTS},
        seconds_total=round(time.perf_counter() - started, 3),
    )


async def verify(
    doc: RawDocument,
    statements: list[str],
    *,
    llm: StructuredLLM,
    settings: Settings,
    headline: bool = False,
) -> VerifyReport:
    """Check statements (and, with ``headline``, the article's own headline) against one
    article: verdict, probability and evidence sentences for each."""
    started = time.perf_counter()
    article = clean(doc)
    body = article.body
    for number, statement in enumerate(statements, start=1):
        if len(statement) > len(body):
            raise InputError(
                f"{doc.source}: statement {number} is longer than the article "
                f"({len(statement)} characters against {len(body)}): not a statement about it"
            )
    if headline and not article.title:
        raise InputError(f"{doc.source}: --headline given, but the article has no headline")
    asked = [*statements, *([article.title] if headline and article.title else [])]
    segments = segment(article)
    vectors = embedded_model().embed([s.text for s in segments])
    mode = settings.model_signal()
    checks, metrics = await check_statements(
        asked,
        SentenceIndex(segments, vectors),
        body,
        llm=llm,
        mode=mode,
        calibrated=statement_combination(settings, mode),
    )
    return VerifyReport(
        warnings=calibration_warnings(
            settings,
            settings.model_signal(),
            answered=any(c.model for c in checks),
            fitted=STATEMENTS,
        ),
        article_id=article.id,
        source=article.source,
        title=article.title,
        model=settings.model,
        checks=checks[: len(statements)],
        headline=checks[len(statements)] if len(checks) > len(statements) else None,
        calls=metrics.calls,
        prompt_tokens=metrics.prompt_tokens,
        completion_tokens=metrics.completion_tokens,
        seconds=round(time.perf_counter() - started, 3),
    )
