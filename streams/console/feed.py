"""Every violation's latest event, kept live for the console's pages.

One consumer per console process (not one per browser tab): it reads
`policy-violations` from the beginning to its end (then `ready` is set and
`latest` holds every key's current event), then follows. Each page that
streams gets a queue; `subscribe` hands back the snapshot and the queue in
one step with nothing awaited between, so a page sees every event after its
snapshot exactly once more or less: later events in order, none missed.
Started on first use, stopped with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from analyzers.policy import violation_key
from streams.kafka.clients import new_consumer, topic_partitions
from streams.kafka.topic_reader import assign_from_beginning, batches_to_end
from streams.settings import Settings

log = logging.getLogger("lineage.console")

TOPIC = "policy-violations"
Event = dict[str, Any]


class ViolationFeed:
    """The latest violation event per key, and live subscriptions to new ones."""

    def __init__(self, settings: Settings, *, queue_size: int = 10_000) -> None:
        self.settings = settings
        self.latest: dict[str, Event] = {}
        self.ready = asyncio.Event()
        self._queues: set[asyncio.Queue[Event | None]] = set()
        self._queue_size = queue_size
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="console-violation-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._queues.clear()

    async def snapshot(self, timeout_s: float = 30.0) -> list[Event]:
        """Every key's latest event, once the topic was read to its end."""
        self.start()
        await asyncio.wait_for(self.ready.wait(), timeout_s)
        return list(self.latest.values())

    async def subscribe(self, timeout_s: float = 30.0,
                        ) -> tuple[list[Event], asyncio.Queue[Event | None]]:
        """The snapshot and a queue of every later event (None: the feed stopped)."""
        self.start()
        await asyncio.wait_for(self.ready.wait(), timeout_s)
        queue: asyncio.Queue[Event | None] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        return list(self.latest.values()), queue

    def subscribed(self, queue: asyncio.Queue[Event | None]) -> bool:
        """False once the feed dropped `queue` (it fell behind) or stopped."""
        return queue in self._queues

    def unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self._queues.discard(queue)

    def _take(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            event = orjson.loads(value)
            key = violation_key(event["policy_id"], event["sink"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        self.latest[key] = event
        for queue in list(self._queues):
            if queue.full():  # a page that stopped reading: dropped, it reconnects
                self._queues.discard(queue)
            else:
                queue.put_nowait(event)

    async def _run(self) -> None:
        name = self.settings.topic(TOPIC)
        consumer = new_consumer(self.settings, enable_auto_commit=False,
                                auto_offset_reset="earliest")
        await consumer.start()
        try:
            while name not in await topic_partitions(consumer):
                self.ready.set()  # nothing to read yet: an empty snapshot is the truth
                await asyncio.sleep(1.0)
            await assign_from_beginning(consumer, [name])
            async for batch in batches_to_end(consumer):
                for records in batch.values():
                    for record in records:
                        self._take(record.value)
            self.ready.set()
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    for record in records:
                        self._take(record.value)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("console violation feed stopped")
            raise
        finally:
            await consumer.stop()
