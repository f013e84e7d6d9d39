"""Subscribe to `policy-violations`: an async iterator of violation events.

For services that react to violations (page someone, open a ticket, block a
deploy). Every event is a dict in the contract's shape (docs/EVENTS.md);
the latest event of a key `policy_id|sink` is that violation's current
state, so a consumer that keeps `latest[key] = event` always holds the
truth, and one that missed events can rebuild it by reading from the
beginning (the topic is compacted). Delivery is at-least-once: an event may
come twice (a worker restart, a leader change), never out of order for a key.

    import asyncio
    from streams.settings import Settings
    from streams.policy.subscriber import violations

    async def main() -> None:
        async for event in violations(Settings.from_env(), from_beginning=True):
            print(event["status"], event["policy_id"], event["sink"], event["path"])

    asyncio.run(main())
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from streams.kafka.clients import new_consumer
from streams.settings import Settings

TOPIC = "policy-violations"


class SubscriberError(RuntimeError):
    """The topic cannot be read (Kafka unreachable)."""


async def _start(consumer: AIOKafkaConsumer, settings: Settings) -> None:
    try:
        await consumer.start()
    except Exception as exc:
        raise SubscriberError(
            f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc


async def topic_exists(settings: Settings, topic: str = TOPIC) -> bool:
    """Whether the prefixed `topic` exists (no worker has run under a fresh prefix)."""
    consumer = new_consumer(settings)
    await _start(consumer, settings)
    try:
        return settings.topic(topic) in await consumer.topics()
    finally:
        await consumer.stop()


async def violations(
    settings: Settings, *, from_beginning: bool = False, group_id: str | None = None,
    poll_ms: int = 500,
) -> AsyncGenerator[dict[str, Any], None]:
    """Violation events as they arrive, until the caller stops iterating.

    - `from_beginning`: start at the oldest retained event (the latest state
      of every key, and then some) instead of only new ones. With a
      `group_id` it applies only when the group has no committed offset.
    - `group_id`: a consumer group of your own; its offsets are committed,
      so a restarted subscriber resumes where it left off and several
      instances share the partitions. Without one, every call reads every
      partition and remembers nothing.

    Waits for the topic to exist. Undecodable records and tombstones are
    skipped. Close it (`break`, or `aclose()`) to stop the consumer.
    """
    name = settings.topic(TOPIC)
    consumer = new_consumer(
        settings, group_id=group_id, enable_auto_commit=group_id is not None,
        auto_offset_reset="earliest" if from_beginning else "latest")
    await _start(consumer, settings)
    try:
        while name not in await consumer.topics():
            await asyncio.sleep(poll_ms / 1000)
        consumer.subscribe([name])
        while True:
            batch = await consumer.getmany(timeout_ms=poll_ms)
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    try:
                        event = orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(event, dict):
                        yield event
    finally:
        await consumer.stop()
