"""Bulk review decisions from the console, one `reviews` record per asset.

Each record is the contract's review event (key `policy_id|asset`) with the
reviewer and reason the page sent; `clear` writes the key's tombstone. Every
event is checked by the contract validator before anything is sent, so a
bad selection writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from analyzers.events import InvalidEvent, validate_event
from streams.kafka.producer import make_producer
from streams.settings import Settings

TOPIC = "reviews"
#: One request may decide on this many assets at most.
MAX_ASSETS = 5000


class ReviewRequestError(ValueError):
    """A review request that cannot be recorded; nothing was written."""


def review_records(policy_id: str, decision: str, assets: Sequence[str], *, reviewer: str,
                   reason: str | None, ts: int) -> list[tuple[bytes, bytes | None]]:
    """The `(key, value)` records of a bulk decision (value None: clear the decision)."""
    if decision not in ("include", "exclude", "clear"):
        raise ReviewRequestError("decision must be include, exclude or clear")
    if not reviewer.strip():
        raise ReviewRequestError("a reviewer name is required")
    if not assets:
        raise ReviewRequestError("select at least one asset")
    if len(assets) > MAX_ASSETS:
        raise ReviewRequestError(f"at most {MAX_ASSETS} assets per request")
    records: list[tuple[bytes, bytes | None]] = []
    for asset in dict.fromkeys(assets):
        event: dict[str, Any] = {"v": 1, "type": "review", "policy_id": policy_id,
                                 "asset": asset, "decision": decision, "ts": ts,
                                 "reviewer": reviewer.strip()}
        if reason:
            event["reason"] = reason
        checked = {**event, "decision": "include"} if decision == "clear" else event
        try:
            spec = validate_event(checked, expected_topic=TOPIC)
        except InvalidEvent as exc:
            raise ReviewRequestError(exc.reason) from None
        key = spec.key_of(event).encode()
        records.append((key, None if decision == "clear" else orjson.dumps(event)))
    return records


class ReviewWriter:
    """Sends review records through one producer, started on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def write(self, records: list[tuple[bytes, bytes | None]]) -> int:
        if self._producer is None:
            producer = make_producer(self.settings)
            await producer.start()
            self._producer = producer
        topic = self.settings.topic(TOPIC)
        futures = [await self._producer.send(topic, value=value, key=key)
                   for key, value in records]
        for future in futures:
            await future
        return len(futures)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


def now_ms() -> int:
    return int(time.time() * 1000)
