"""The local engine in one process: asyncio workers share one input iterator, one model
client and one rate limiter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from pipeline.batch.inputs import Item, iter_inputs
from pipeline.batch.outputs import Writer
from pipeline.batch.step import Job, open_step_llm, process_item
from pipeline.model.ratelimit import RateLimiter
from pipeline.stages import StructuredLLM


async def _worker(
    items: Iterator[Item], llm: StructuredLLM, job: Job, done: set[str], writer: Writer
) -> None:
    stats = writer.stats
    for item in items:  # workers share one iterator: each item is taken exactly once
        stats.in_flight += 1
        writer.on_change(stats)
        try:
            outcome = await process_item(item, llm, job.settings, job.fingerprint, done)
        finally:
            stats.in_flight -= 1
        writer.record(outcome)


async def run_local(job: Job, source: str, writer: Writer) -> None:
    """Audit every input of ``source`` not already done, ``concurrency`` at a time."""
    limits = job.settings.batch
    limiter = RateLimiter(limits.requests_per_minute, limits.tokens_per_minute)
    done = set(writer.done)
    with open_step_llm(job, limiter) as (llm, cache):
        writer.stats.mark_ready()
        items = iter_inputs(source)
        try:
            await asyncio.gather(
                *(_worker(items, llm, job, done, writer) for _ in range(limits.concurrency))
            )
        finally:
            if cache is not None:
                writer.stats.count_cache(cache.hits, cache.misses)
