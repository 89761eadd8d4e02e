"""A global requests-per-minute and tokens-per-minute budget shared by every call of a run.

Built on aiolimiter's leaky buckets. Model calls run in worker threads (the sync litellm
client), so the limiter is bound to the run's event loop and threads wait on it through
``run_coroutine_threadsafe``: every HTTP request (re-asks and transport retries included)
takes one request and its estimated prompt tokens before it is sent, and its completion
tokens once the answer is in, which delays the calls after it rather than refunding.
"""

from __future__ import annotations

import asyncio

from aiolimiter import AsyncLimiter

from pipeline.chunking import estimate_tokens

SECONDS_PER_MINUTE = 60.0


def estimate_message_tokens(messages: list[dict[str, str]]) -> int:
    """A rough prompt token count, good enough to pace a tokens-per-minute budget."""
    return estimate_tokens("".join(str(m.get("content") or "") for m in messages))


BURST_S = 1.0  # a bucket holds about one second of budget: no minute's worth in one burst


def _bucket(per_minute: float | None) -> AsyncLimiter | None:
    """A leaky bucket that lets ``per_minute`` through per minute, spread over the minute.

    aiolimiter's capacity equals its rate per period, so a per-minute bucket would let a whole
    minute's budget through at once; providers count in shorter windows than that.
    """
    if not per_minute:
        return None
    per_second = per_minute / SECONDS_PER_MINUTE
    capacity = max(1.0, per_second * BURST_S)
    return AsyncLimiter(capacity, capacity / per_second)


class RateLimiter:
    """Requests and tokens per minute for one run; either limit may be None (unlimited)."""

    def __init__(self, requests_per_minute: float | None, tokens_per_minute: int | None) -> None:
        self.requests = _bucket(requests_per_minute)
        self.tokens = _bucket(tokens_per_minute)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def active(self) -> bool:
        """True when at least one limit is set."""
        return self.requests is not None or self.tokens is not None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the limiter lives on; worker threads wait through it."""
        self._loop = loop

    async def _take_tokens(self, amount: int) -> None:
        if self.tokens is None or amount <= 0:
            return
        # A bucket cannot hand out more than its capacity at once; take it in slices.
        while amount > 0:
            part = min(amount, int(self.tokens.max_rate))
            await self.tokens.acquire(part)
            amount -= part

    async def before_request(self, prompt_tokens: int) -> None:
        """Wait for one request slot and the prompt's tokens."""
        if self.requests is not None:
            await self.requests.acquire()
        await self._take_tokens(prompt_tokens)

    async def after_response(self, completion_tokens: int) -> None:
        """Charge the tokens the answer used."""
        await self._take_tokens(completion_tokens)

    def _wait(self, coroutine: object) -> None:
        if self._loop is None:
            raise RuntimeError("RateLimiter.bind(loop) was not called")
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()  # type: ignore[arg-type]

    def before_request_blocking(self, prompt_tokens: int) -> None:
        """From a worker thread: block until the request may go."""
        if self.active:
            self._wait(self.before_request(prompt_tokens))

    def after_response_blocking(self, completion_tokens: int) -> None:
        """From a worker thread: charge the answer's tokens."""
        if self.tokens is not None:
            self._wait(self.after_response(completion_tokens))
