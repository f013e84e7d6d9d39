"""The console's live feeds: violations and enforcement decisions, kept current for its pages.

One consumer per feed per console process (not one per browser tab): a feed
reads its topic from the beginning to its end (then `ready` is set and its
state is current), then follows. Each page that streams hands in a queue
(one queue may follow several feeds); `subscribe` returns the snapshot and
registers the queue in one step with nothing awaited between, so a page
sees every later event exactly once more or less: in order, none missed.
A queue carries `(SSE event name, data)`; a page that stops reading (its
queue full) is dropped: the queue is emptied and ends with None, the
stream closes and the page reconnects for a fresh snapshot. Started on
first use, stopped with the app.

- `ViolationFeed` (`policy-violations`): the latest event per key; sends
  each new event as `violation`.
- `EnforcementFeed` (`enforcement-events`): the decisions summed per
  policy, sink and decision (analyzers/policy/decisions.py), bounded (rows
  and names per row); sends each row a batch changed, once per batch, as
  `enforcement`. Rows hold names and counts only, never an event's other
  fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from analyzers.events import InvalidEvent, decode_event
from analyzers.policy import violation_key
from analyzers.policy.decisions import DecisionKey, DecisionTally
from streams.kafka.clients import new_consumer, topic_partitions
from streams.kafka.topic_reader import assign_from_beginning, batches_to_end
from streams.settings import Settings

log = logging.getLogger("lineage.console")

Event = dict[str, Any]
#: What a subscriber's queue carries: (SSE event name, data), or None: the stream ends.
Item = tuple[str, Event]
Subscriber = asyncio.Queue[Item | None]
#: How many items a page may have waiting before it is dropped as fallen behind.
QUEUE_SIZE = 10_000


def new_subscriber(size: int = QUEUE_SIZE) -> Subscriber:
    """The queue one streaming page reads (hand it to each feed it follows)."""
    return asyncio.Queue(size)


class TopicFeed:
    """One consumer following `topic`, its state, and the queues of the pages that stream it."""

    topic: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = asyncio.Event()
        self._queues: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"console-feed-{self.topic}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for queue in list(self._queues):
            self._drop(queue)

    async def snapshot(self, timeout_s: float = 30.0) -> list[Event]:
        """The current state, once the topic was read to its end."""
        self.start()
        await asyncio.wait_for(self.ready.wait(), timeout_s)
        return self._current()

    async def subscribe(self, queue: Subscriber, timeout_s: float = 30.0) -> list[Event]:
        """The current state; every later item goes to `queue`."""
        self.start()
        await asyncio.wait_for(self.ready.wait(), timeout_s)
        self._queues.add(queue)
        return self._current()

    def subscribed(self, queue: Subscriber) -> bool:
        """False once the feed dropped `queue` (it fell behind) or stopped."""
        return queue in self._queues

    def unsubscribe(self, queue: Subscriber) -> None:
        self._queues.discard(queue)

    def _current(self) -> list[Event]:
        raise NotImplementedError

    def _apply(self, values: Iterable[bytes | None]) -> list[Item]:
        """Fold a batch of record values into the state; the items to send."""
        raise NotImplementedError

    def _take(self, value: bytes | None) -> None:
        self._publish(self._apply([value]))

    def _publish(self, items: list[Item]) -> None:
        if not items:
            return
        for queue in list(self._queues):
            if queue.maxsize and queue.qsize() + len(items) > queue.maxsize:
                self._drop(queue)  # a page that stopped reading: it reconnects
                continue
            for item in items:
                queue.put_nowait(item)

    def _drop(self, queue: Subscriber) -> None:
        self._queues.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    async def _run(self) -> None:
        name = self.settings.topic(self.topic)
        consumer = new_consumer(self.settings, enable_auto_commit=False,
                                auto_offset_reset="earliest")
        await consumer.start()
        try:
            while name not in await topic_partitions(consumer):
                self.ready.set()  # nothing to read yet: an empty snapshot is the truth
                await asyncio.sleep(1.0)
            await assign_from_beginning(consumer, [name])
            async for batch in batches_to_end(consumer):
                self._publish(self._apply(r.value for rs in batch.values() for r in rs))
            self.ready.set()
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                self._publish(self._apply(r.value for rs in batch.values() for r in rs))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("console feed of %s stopped", self.topic)
            raise
        finally:
            await consumer.stop()


def _decode(value: bytes | None) -> Event | None:
    """A JSON object, or None (a tombstone, not JSON, not an object)."""
    try:
        return decode_event(value)
    except InvalidEvent:
        return None


class ViolationFeed(TopicFeed):
    """The latest violation event per key, and live subscriptions to new ones."""

    topic = "policy-violations"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.latest: dict[str, Event] = {}

    def _current(self) -> list[Event]:
        return list(self.latest.values())

    def _apply(self, values: Iterable[bytes | None]) -> list[Item]:
        items: list[Item] = []
        for value in values:
            event = _decode(value)
            if event is None:
                continue
            try:
                key = violation_key(event["policy_id"], event["sink"])
            except (KeyError, TypeError):
                continue
            self.latest[key] = event
            items.append(("violation", event))
        return items


class EnforcementFeed(TopicFeed):
    """The probes' decisions summed per policy, sink and decision; changed rows sent live."""

    topic = "enforcement-events"

    def __init__(self, settings: Settings, *, max_rows: int = 10_000,
                 max_names: int = 50) -> None:
        super().__init__(settings)
        self.tally = DecisionTally(max_rows=max_rows, max_names=max_names)

    def _current(self) -> list[Event]:
        return self.tally.rows()

    def _apply(self, values: Iterable[bytes | None]) -> list[Item]:
        changed: dict[DecisionKey, None] = {}
        for value in values:
            event = _decode(value)
            if (event is None or not isinstance(event.get("policy_id"), str)
                    or not isinstance(event.get("sink"), str)):
                continue
            key = self.tally.add(event)
            changed.pop(key, None)
            changed[key] = None  # in the order of their last change
        rows = (self.tally.row(key) for key in changed)
        return [("enforcement", row) for row in rows if row is not None]
