"""A token bucket for `replay --rate N` (events per second)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; taking may go into debt.

    `take(n)` never blocks: it returns how long to wait before the n events
    may go, so the pace is exact on average whatever the batch sizes.
    """

    def __init__(self, rate: float, *, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self.clock = clock
        self.tokens = self.burst
        self.last = clock()

    def take(self, n: int = 1) -> float:
        """Take `n` tokens; the seconds to wait until they are paid for."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    async def acquire(self, n: int = 1) -> None:
        delay = self.take(n)
        if delay > 0:
            await asyncio.sleep(delay)
