"""Read what landed on a topic, for assertions."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord


async def read_topic(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout_s: float = 20.0,
    idle_s: float = 2.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """All records of `topic` from the beginning: `expect` of them, or until idle."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            got = [r for part in batch.values() for r in part]
            if got:
                records.extend(got)
                last = time.monotonic()
            if expect is not None and len(records) >= expect:
                break
            if expect is None and time.monotonic() - last > idle_s:
                break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records
