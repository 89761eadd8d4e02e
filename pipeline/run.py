"""Composes the stages for one article, and opens the configured model for a run."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from pipeline import __version__
from pipeline.chunking import (
    estimate_tokens,
    merge_bias,
    merge_metrics,
    merge_summaries,
    split_article,
)
from pipeline.config import Settings
from pipeline.errors import InputError, NewsauditError
from pipeline.ingest import RawDocument
from pipeline.llm import LLM
from pipeline.prompts import prompt_hash
from pipeline.ratelimit import RateLimiter
from pipeline.server import LocalServer
from pipeline.stages import StructuredLLM
from pipeline.stages.bias import check_bias
from pipeline.stages.claims import extract_claims
from pipeline.stages.clean import clean
from pipeline.stages.summarize import summarize
from pipeline.stages.support import check_support
from schemas.article import Article
from schemas.report import ArticleReport, ClaimAudit, StageMetrics
from schemas.support import SupportVerdict

T = TypeVar("T")

LLM_STAGES = ("summarize", "claims", "support", "bias")
Progress = Callable[[str], None]


@contextmanager
def open_llm(settings: Settings, limiter: RateLimiter | None = None) -> Iterator[LLM]:
    """The configured model; an embedded one gets a llama-server for the length of the block."""
    if not settings.embedded:
        yield LLM(settings, model=settings.model, api_base=settings.api_base, limiter=limiter)
        return
    with LocalServer(settings.model, settings.server) as server:
        yield LLM(settings, model=server.litellm_model, api_base=server.base_url, limiter=limiter)


def _quiet(_: str) -> None:
    return None


async def _each(
    parts: list[Article], call: Callable[[Article], Awaitable[tuple[T, StageMetrics]]]
) -> tuple[list[T], list[StageMetrics]]:
    """One stage over every part, in order (parts of one article share one model in turn)."""
    results, metrics = [], []
    for part in parts:
        result, stage_metrics = await call(part)
        results.append(result)
        metrics.append(stage_metrics)
    return results, metrics


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
    parts = split_article(article, settings.max_chunk_tokens)
    if len(parts) > settings.max_chunks:
        raise InputError(
            f"{doc.source}: article too long: about {estimate_tokens(article.body)} tokens "
            f"needs {len(parts)} parts of {settings.max_chunk_tokens}, more than max_chunks="
            f"{settings.max_chunks} (raise max_chunks or max_chunk_tokens to audit it)"
        )
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
    try:
        progress(f"{doc.id}: summarize")
        summaries, metrics = await _each(
            parts, lambda part: summarize(part, llm=llm, snap_threshold=snap)
        )
        summary = merge_summaries(summaries)
        stages.append(merge_metrics("summarize", metrics))
        progress(f"{doc.id}: claims")
        part_claims, metrics = await _each(
            parts,
            lambda part: extract_claims(
                part,
                llm=llm,
                max_claims=claims_per_part,
                snap_threshold=snap,
            ),
        )
        claims = [c for found in part_claims for c in found]
        stages.append(merge_metrics("claims", metrics))
        progress(f"{doc.id}: support ({len(claims)} claims)")
        verdicts: dict[int, SupportVerdict] = {}
        support_metrics = []
        offset = 0
        for part, found in zip(parts, part_claims, strict=True):
            local, metrics_one = await check_support(part, found, llm=llm, snap_threshold=snap)
            verdicts |= {offset + number: verdict for number, verdict in local.items()}
            support_metrics.append(metrics_one)
            offset += len(found)
        stages.append(merge_metrics("support", support_metrics))
        progress(f"{doc.id}: bias")
        assessments, metrics = await _each(
            parts, lambda part: check_bias(part, llm=llm, snap_threshold=snap)
        )
        bias = merge_bias(assessments)
        stages.append(merge_metrics("bias", metrics))
    except NewsauditError as exc:
        exc.spent = [*stages, *exc.spent]  # what the article cost before it failed
        raise
    return ArticleReport(
        newsaudit_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=settings.model,
        provider="llama.cpp (embedded)" if settings.embedded else settings.model.split("/")[0],
        instructor_mode=settings.instructor_mode(),
        article=article,
        summary=summary,
        claims=[
            ClaimAudit(number=i, claim=c, verdict=verdicts.get(i))
            for i, c in enumerate(claims, start=1)
        ],
        bias=bias,
        stages=stages,
        prompt_hashes={stage: prompt_hash(stage) for stage in LLM_STAGES},
        seconds_total=round(time.perf_counter() - started, 3),
    )
