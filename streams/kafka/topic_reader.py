"""Read topics up to their end as of now: in batches, or the latest record per key.

A compacted topic (`lineage-graph`, `policy-violations`, the policy inputs)
is a table; reading it to the end offsets taken at the start gives that
table as of now, whatever is produced meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.kafka.clients import new_consumer, topic_partitions
from streams.settings import Settings

Batch = dict[TopicPartition, list[ConsumerRecord[Any, Any]]]


async def assign_from_beginning(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> None:
    """Assign every partition of the (physical) `topics` that exist, each from its start."""
    partitions = await topic_partitions(consumer)
    tps = [TopicPartition(topic, p) for topic in topics for p in partitions.get(topic, ())]
    consumer.assign(tps)
    if tps:
        await consumer.seek_to_beginning(*tps)


async def batches_to_end(
    consumer: AIOKafkaConsumer, *, max_records: int = 5000, timeout_ms: int = 500,
) -> AsyncIterator[Batch]:
    """The assigned partitions' records from their positions to their end offsets as of now."""
    tps = list(consumer.assignment())
    ends = await consumer.end_offsets(tps)
    remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
    while remaining:
        yield await consumer.getmany(*remaining, timeout_ms=timeout_ms, max_records=max_records)
        for tp in list(remaining):
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)


async def latest_records(
    consumer: AIOKafkaConsumer, *, max_records: int = 5000,
) -> dict[tuple[str, bytes], ConsumerRecord[Any, Any]]:
    """The latest record per (topic, key) of the assigned partitions, read to their end.

    A record without a key is kept under `b"@<offset>"` (it replaces nothing).
    """
    latest: dict[tuple[str, bytes], ConsumerRecord[Any, Any]] = {}
    async for batch in batches_to_end(consumer, max_records=max_records):
        for records in batch.values():
            for record in records:
                key = record.key if record.key is not None else b"@%d" % record.offset
                latest[(record.topic, key)] = record
    return latest


async def read_latest(settings: Settings, topic: str) -> dict[bytes, bytes | None]:
    """Latest value of every key of `topic` (a contract name) as of now; None = tombstone.

    Records without a key are left out; a topic that does not exist reads empty.
    """
    name = settings.topic(topic)
    consumer = new_consumer(settings, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await assign_from_beginning(consumer, [name])
        latest = await latest_records(consumer)
    finally:
        await consumer.stop()
    return {record.key: record.value for record in latest.values() if record.key is not None}


async def read_partition(
    settings: Settings, topic: str, partition: int, *, start: int | None = None,
    end: int | None = None, max_records: int = 5000,
) -> AsyncIterator[list[ConsumerRecord[Any, Any]]]:
    """One partition of `topic` (a physical name) in batches, from `start` (default: its
    beginning) up to `end` (excluded; default: its end as of now).

    How a worker rebuilds a partition's state: from a compacted topic, or by
    re-reading the input that built a window.
    """
    consumer = new_consumer(settings, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        if start is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, start)
        if end is None:
            end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=max_records)
            records = [r for r in batch.get(tp, ()) if r.offset < end]
            if records:
                yield records
    finally:
        await consumer.stop()


async def offset_before(
    settings: Settings, topic: str, partition: int, offset: int, back_ms: int,
) -> int:
    """The first offset of `topic`'s partition whose record was written at most `back_ms`
    before the record at `offset` (by record timestamps); `offset` + 1 if there is none."""
    consumer = new_consumer(settings, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
        records = batch.get(tp)
        if not records:
            return offset + 1
        found = await consumer.offsets_for_times({tp: max(records[0].timestamp - back_ms, 0)})
        hit = found.get(tp)
        return min(hit.offset, offset + 1) if hit is not None else offset + 1
    finally:
        await consumer.stop()


async def read_all(settings: Settings, topic: str) -> list[bytes]:
    """Every value of `topic` (a contract name) up to its end as of now, in partition order.

    Tombstones and a topic that does not exist read empty.
    """
    consumer = new_consumer(settings, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    values: list[bytes] = []
    try:
        await assign_from_beginning(consumer, [settings.topic(topic)])
        async for batch in batches_to_end(consumer):
            for records in batch.values():
                values.extend(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    return values
