"""The labels, policies and reviews a zone page needs, read from their compacted topics.

The console does not lead anything: it reads `asset-labels`, `policies` and
`reviews` (latest per key) when a zone page asks, keeps the answer for a
moment (`max_age_s`) and forgets it after a review it wrote itself, so a
page shows its own decision at once. Reviews are kept whole (reviewer,
reason, time) for the export.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from analyzers.events import InvalidEvent
from analyzers.policy import Decision, Policy
from streams.kafka.topic_reader import read_latest
from streams.policy.inputs import parse_input
from streams.settings import Settings


@dataclass
class PolicyState:
    """The current inputs of every policy's zone."""

    labels: dict[str, list[str]] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    #: policy_id -> asset -> the review event (decision, reviewer, reason, ts)
    reviews: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    bad_records: int = 0

    def decisions(self, policy_id: str) -> dict[str, Decision]:
        return {asset: e["decision"] for asset, e in self.reviews.get(policy_id, {}).items()}


def build_state(records: dict[str, dict[bytes, bytes | None]]) -> PolicyState:
    """`PolicyState` from the latest records of each topic (contract name -> key -> value)."""
    state = PolicyState()
    for topic, latest in records.items():
        for key, value in latest.items():
            try:
                item = parse_input(topic, key, value, 0)
            except InvalidEvent:
                state.bad_records += 1
                continue
            if item.value is None:
                continue
            if item.kind == "label":
                state.labels[item.asset] = item.value
            elif item.kind == "policy":
                state.policies[item.policy_id] = item.value
            else:
                assert value is not None
                with contextlib.suppress(orjson.JSONDecodeError):
                    state.reviews.setdefault(item.policy_id, {})[item.asset] = orjson.loads(value)
    return state


class PolicyStateReader:
    """Reads `PolicyState` from Kafka, at most once per `max_age_s`."""

    TOPICS = ("asset-labels", "policies", "reviews")

    def __init__(self, settings: Settings, *, max_age_s: float = 2.0) -> None:
        self.settings = settings
        self.max_age_s = max_age_s
        self._cached: tuple[float, PolicyState] | None = None
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        """Drop the cached state (after writing a review)."""
        self._cached = None

    async def read(self) -> PolicyState:
        async with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self.max_age_s:
                return cached[1]
            read = await asyncio.gather(*(read_latest(self.settings, t) for t in self.TOPICS))
            state = build_state(dict(zip(self.TOPICS, read, strict=True)))
            self._cached = (time.monotonic(), state)
            return state
