"""The requests/tokens-per-minute budget: exact spacing, large charges, shared by processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import pytest

from pipeline.model.ratelimit import Bucket, RateLimiter, SharedBudget

# A fixed "now" ahead of the real clock for the whole session: a charge is booked at the real
# clock's now, which must not pass it however long the suite runs before these tests.
NOW = time.monotonic() + 1e7


def test_requests_are_spaced_exactly_after_a_one_second_burst() -> None:
    bucket = Bucket(per_minute=120)  # 2 a second, a burst of one second's worth
    starts = [bucket.reserve(1, now=NOW) for _ in range(6)]
    assert [round(s - NOW, 6) for s in starts] == [-0.5, 0.0, 0.5, 1.0, 1.5, 2.0]


def test_a_later_request_finds_the_bucket_drained() -> None:
    bucket = Bucket(per_minute=120)
    for _ in range(4):
        bucket.reserve(1, now=NOW)
    assert bucket.reserve(1, now=NOW + 10) <= NOW + 10  # idle time refills, up to the burst
    assert bucket.reserve(1, now=NOW + 10) <= NOW + 10
    assert bucket.reserve(1, now=NOW + 10) == pytest.approx(NOW + 10.5)


def test_token_charges_larger_than_the_bucket_are_paced_not_refused() -> None:
    limiter = RateLimiter(requests_per_minute=None, tokens_per_minute=6000)  # 100 a second
    assert limiter.tokens is not None
    assert limiter.tokens.reserve(250, now=NOW) == pytest.approx(NOW + 1.5)
    limiter.charge(50)  # an answer's tokens: the next request waits for them
    assert limiter.tokens.reserve(100, now=NOW) == pytest.approx(NOW + 3.0)


def test_an_async_burst_waits_for_its_slots() -> None:
    async def burst(count: int) -> float:
        limiter = RateLimiter(requests_per_minute=120, tokens_per_minute=None)
        started = time.perf_counter()
        await asyncio.gather(*(limiter.before_request(10) for _ in range(count)))
        return time.perf_counter() - started

    assert asyncio.run(burst(2)) < 0.5
    assert asyncio.run(burst(6)) >= 1.9


def _reserve_many(budget: SharedBudget, count: int, now: float, out: Any) -> None:
    limiter = budget.limiter()
    assert limiter.requests is not None
    out.put([limiter.requests.reserve(1, now=now) for _ in range(count)])


def test_processes_drawing_on_one_shared_budget_never_share_a_slot() -> None:
    """Two processes booking 15 requests each get the 30 slots one bucket would give."""
    context = multiprocessing.get_context("spawn")
    budget = SharedBudget(600, None, context)  # 10 a second
    out = context.Queue()
    workers = [context.Process(target=_reserve_many, args=(budget, 15, NOW, out)) for _ in range(2)]
    for worker in workers:
        worker.start()
    starts = sorted(out.get(timeout=60) + out.get(timeout=60))
    for worker in workers:
        worker.join(timeout=60)
    expected = [NOW + (k + 1) * 0.1 - 1.0 for k in range(30)]
    assert starts == pytest.approx(expected)
