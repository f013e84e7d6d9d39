"""Counters and timings the worker keeps: counts and names only, never values.

Logged every 30 s and exported on `/metrics` (streams/observability/).
"""

from __future__ import annotations

from collections import Counter


class Metrics:
    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        #: name -> [how many, total seconds]: a Prometheus summary without quantiles.
        self.timings: dict[str, list[float]] = {}

    def incr(self, name: str, by: int = 1) -> None:
        if by:
            self.counters[name] += by

    def observe(self, name: str, seconds: float) -> None:
        """Add one timing of `name` (per batch: cheap enough for the hot path)."""
        timing = self.timings.get(name)
        if timing is None:
            self.timings[name] = [1, seconds]
        else:
            timing[0] += 1
            timing[1] += seconds

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.counters.items()))
