"""aiokafka's fetches read as columns, against the real broker: the records `getmany`
gives, in the same order, whatever the batches (plain, gzip-compressed, with headers,
keys and tombstones) and however many a fetch may take.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.kafka.clients import new_producer
from streams.kafka.topics import ensure_topics
from streams.pipeline.batch_fetch import new_fetcher
from streams.pipeline.record_run import RecordRun
from streams.pipeline.topology import load_topology
from streams.settings import Settings

TOPIC = "probe-events"


async def _produce(settings: Settings, rounds: int) -> int:
    """Batches of each kind in turn, on partitions 0 and 1; how many records."""
    plain, gzipped = new_producer(settings), new_producer(settings, compression_type="gzip")
    await plain.start()
    await gzipped.start()
    sent = 0
    try:
        for r in range(rounds):
            producer = gzipped if r % 3 == 2 else plain
            sends = [await producer.send(
                settings.topic(TOPIC), partition=i % 2, timestamp_ms=1_700_000_000_000 + sent + i,
                key=None if i % 5 == 0 else b"trace-%d" % i,
                value=None if i == 3 else b'{"round":%d,"n":%d}' % (r, i),
                headers=[("probe", b"v1")] if i % 4 == 0 else None) for i in range(40)]
            await producer.flush()
            await asyncio.gather(*sends)
            sent += len(sends)
    finally:
        await plain.stop()
        await gzipped.stop()
    return sent


async def _read(settings: Settings, columns: bool, max_records: int, count: int,
                ) -> tuple[list[tuple[Any, ...]], set[str]]:
    """Every record, in the order fetched per partition, and the kinds of batch seen."""
    group = f"{settings.group_id}-{'columns' if columns else 'objects'}-{max_records}"
    fetcher = new_fetcher("aiokafka", settings, group, max_records, columns=columns)
    await fetcher.start()
    seen: list[tuple[Any, ...]] = []
    kinds: set[str] = set()

    def ignore(_partitions: object) -> None:
        return None

    try:
        fetcher.subscribe([settings.topic(TOPIC)], asyncio.Lock(), ignore, ignore)
        for _ in range(400):
            fetched = await fetcher.fetch(250, max_records)
            assert sum(map(len, fetched.values())) <= max_records
            for records in fetched.values():
                kinds.add(type(records).__name__)
                seen.extend((r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
                            for r in records)
            if len(seen) >= count:
                break
        assert await fetcher.fetch(100, max_records) == {}
    finally:
        await fetcher.stop()
    return sorted(seen, key=lambda r: (r[1], r[2])), kinds


@pytest.mark.asyncio
@pytest.mark.parametrize("max_records", [7, 5000])
async def test_columns_read_what_getmany_reads(settings: Settings, max_records: int) -> None:
    await ensure_topics(settings, load_topology())
    count = await _produce(settings, 6)
    objects, object_kinds = await _read(settings, False, max_records, count)
    columns, column_kinds = await _read(settings, True, max_records, count)
    assert len(objects) == count == 240
    assert columns == objects
    assert object_kinds == {"list"}
    # Plain batches read in Rust; the gzip ones by aiokafka, as before.
    assert column_kinds == {RecordRun.__name__, "list"}
    assert any(r[3] is None for r in columns) and any(r[4] is None for r in columns)
