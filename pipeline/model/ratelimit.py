"""A global requests-per-minute and tokens-per-minute budget shared by every call of a run.

Each budget is a GCRA bucket (the leaky bucket as a virtual schedule): one shared number, the
time at which the bucket will next be empty, which every request pushes forward by its cost. A
request waits until its own slot, so the budget is held exactly, with no polling. The bucket
holds about one second of budget (providers count in shorter windows than a minute).

The state can live in shared memory (``SharedBudget``): the worker processes of one batch then
draw on the same budget, as the calls of one process do. Every HTTP request (re-asks and
transport retries included) takes one request and its estimated prompt tokens before it is
sent; the completion tokens are charged when the answer is in, which delays later calls.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from typing import Any

from pipeline.text.chunking import estimate_tokens

SECONDS_PER_MINUTE = 60.0
BURST_S = 1.0  # a bucket holds about one second of budget: no minute's worth in one burst


def estimate_message_tokens(messages: list[dict[str, str]]) -> int:
    """A rough prompt token count, good enough to pace a tokens-per-minute budget."""
    return estimate_tokens("".join(str(m.get("content") or "") for m in messages))


class Bucket:
    """``per_minute`` units a minute, at most about ``BURST_S`` seconds' worth at once."""

    def __init__(self, per_minute: float, state: Any = None, lock: Any = None) -> None:
        self.interval = SECONDS_PER_MINUTE / per_minute  # seconds per unit
        self.capacity = max(1.0, per_minute / SECONDS_PER_MINUTE * BURST_S)
        self.state = state if state is not None else [0.0]  # when the bucket is next empty
        self.lock = lock if lock is not None else threading.Lock()

    def reserve(self, amount: float, now: float | None = None) -> float:
        """Book ``amount`` units; returns the monotonic time at which they may be used."""
        now = time.monotonic() if now is None else now
        with self.lock:
            empty_at = max(self.state[0], now) + amount * self.interval
            self.state[0] = empty_at
        return empty_at - self.capacity * self.interval

    async def take(self, amount: float) -> None:
        """Wait until ``amount`` units are ours."""
        delay = self.reserve(amount) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class SharedBudget:
    """The state of a run's buckets in shared memory, handed to each worker process."""

    def __init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: int | None,
        context: Any = None,
    ) -> None:
        """``context``: the multiprocessing context the worker processes are started with."""
        context = context or multiprocessing.get_context()
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.state = context.RawArray("d", 2)
        self.lock = context.Lock()

    def limiter(self) -> RateLimiter:
        """A limiter over the shared state (call it in the process that uses it)."""
        return RateLimiter(self.requests_per_minute, self.tokens_per_minute, shared=self)


class _Slot:
    """One element of a shared array, indexable as ``[0]`` like a bucket's private state."""

    def __init__(self, array: Any, index: int) -> None:
        self.array, self.index = array, index

    def __getitem__(self, _: int) -> float:
        return float(self.array[self.index])

    def __setitem__(self, _: int, value: float) -> None:
        self.array[self.index] = value


class RateLimiter:
    """Requests and tokens per minute for one run; either limit may be None (unlimited)."""

    def __init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: int | None,
        shared: SharedBudget | None = None,
    ) -> None:
        def bucket(per_minute: float | None, index: int) -> Bucket | None:
            if not per_minute:
                return None
            if shared is None:
                return Bucket(per_minute)
            return Bucket(per_minute, _Slot(shared.state, index), shared.lock)

        self.requests = bucket(requests_per_minute, 0)
        self.tokens = bucket(tokens_per_minute, 1)

    @property
    def active(self) -> bool:
        """True when at least one limit is set."""
        return self.requests is not None or self.tokens is not None

    async def before_request(self, prompt_tokens: int) -> None:
        """Wait for one request slot and the prompt's tokens."""
        if self.requests is not None:
            await self.requests.take(1)
        if self.tokens is not None and prompt_tokens > 0:
            await self.tokens.take(prompt_tokens)

    def charge(self, completion_tokens: int) -> None:
        """Charge the tokens an answer used: later requests wait for them, this one does not."""
        if self.tokens is not None and completion_tokens > 0:
            self.tokens.reserve(completion_tokens)
