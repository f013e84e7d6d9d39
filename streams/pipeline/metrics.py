"""Counters the worker keeps and logs: counts and names only, never values."""

from __future__ import annotations

from collections import Counter


class Metrics:
    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()

    def incr(self, name: str, by: int = 1) -> None:
        if by:
            self.counters[name] += by

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.counters.items()))
