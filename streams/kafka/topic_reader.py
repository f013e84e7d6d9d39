"""Read a topic from the beginning up to its current end: the latest value per key."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from streams.settings import Settings


async def read_latest(
    settings: Settings, topic: str, *, assign_timeout_s: float = 10.0,
) -> dict[bytes, bytes | None]:
    """Latest value of every key of `topic` (a contract name) as of now; None = tombstone."""
    name = settings.topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    latest: dict[bytes, bytes | None] = {}
    try:
        if name not in await consumer.topics():
            return latest
        consumer.subscribe([name])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + assign_timeout_s
        pending = await consumer.getmany(timeout_ms=200)
        while not consumer.assignment() and loop.time() < deadline:
            pending = await consumer.getmany(timeout_ms=200)
        tps = consumer.assignment()
        ends = await consumer.end_offsets(list(tps))
        remaining = {tp for tp in tps if ends[tp] > 0}
        while True:
            for records in pending.values():
                for record in records:
                    if record.key is not None:
                        latest[record.key] = record.value
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if not remaining:
                break
            pending = await consumer.getmany(*remaining, timeout_ms=1000)
    finally:
        await consumer.stop()
    return latest
