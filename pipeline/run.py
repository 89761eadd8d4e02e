"""Composes the stages for one article, and opens the configured model for a run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from pipeline import __version__
from pipeline.config import Settings
from pipeline.errors import NewsauditError
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
from schemas.report import ArticleReport, ClaimAudit, StageMetrics

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
    try:
        progress(f"{doc.id}: summarize")
        summary, metrics = await summarize(article, llm=llm, snap_threshold=snap)
        stages.append(metrics)
        progress(f"{doc.id}: claims")
        claims, metrics = await extract_claims(
            article, llm=llm, max_claims=settings.max_claims, snap_threshold=snap
        )
        stages.append(metrics)
        progress(f"{doc.id}: support ({len(claims)} claims)")
        verdicts, metrics = await check_support(article, claims, llm=llm, snap_threshold=snap)
        stages.append(metrics)
        progress(f"{doc.id}: bias")
        bias, metrics = await check_bias(article, llm=llm, snap_threshold=snap)
        stages.append(metrics)
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
