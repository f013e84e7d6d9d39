"""aiokafka's fetches read as columns (`RecordRun`), not a ConsumerRecord per record.

`getmany` unpacks every fetched record into a `ConsumerRecord` in Python:
a generator step, a record object from aiokafka's C reader and a dataclass
per record, 2.5-3 µs each, about a sixth of a worker's time under load
(docs/BENCHMARKS.md, "Issue 21, round 8"). `fetch_columns` does what
`getmany` does, except that each partition's fetched record set is read in
Rust (`matcher_rs.read_record_batches`: the offsets, timestamps, keys and
values, checked against each batch's CRC as aiokafka checks them).

It rests on aiokafka's internals (0.14), which the tests hold it to
(tests/unit/streams/pipeline/test_record_columns.py, and against the broker
tests/integration/test_record_columns.py and test_batch_fetch.py); with an
aiokafka that lacks them (`columns_supported`), the fetcher uses `getmany`:

- the raw bytes: the fetcher reads each partition of a fetch response with
  `MemoryRecords(raw)`, a name of `aiokafka.consumer.fetcher`;
  `keep_raw_records` puts `KeptRecords` there, which reads them as the
  original does and keeps `raw` (for every consumer of the process: Faust's
  own read theirs as before);
- `Fetcher.fetched_records`, which `_fetched` follows step for step, taking
  each partition's records with `take_columns` where it calls `getall`.

What the Rust reader leaves (a compressed or older-format batch, a CRC that
does not match; a transactional read, or a consumer with deserializers)
aiokafka reads as before, from that
batch on, and raises its own errors: those partitions come as ConsumerRecord
lists, which the batch path reads as well.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import aiokafka.consumer.fetcher as aiokafka_fetcher
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import ConsumerStoppedError
from aiokafka.record.memory_records import MemoryRecords

import matcher_rs
from streams.pipeline.record_run import RecordRun

_FetchResult = aiokafka_fetcher.FetchResult
_PartitionRecords = aiokafka_fetcher.PartitionRecords
_READ_UNCOMMITTED = aiokafka_fetcher.READ_UNCOMMITTED


class KeptRecords:
    """aiokafka's `MemoryRecords` over `raw`, which it keeps for `take_columns`."""

    __slots__ = ("_records", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._records = MemoryRecords(raw)

    def size_in_bytes(self) -> int:
        return self._records.size_in_bytes()

    def has_next(self) -> bool:
        return self._records.has_next()

    def next_batch(self) -> Any:
        return self._records.next_batch()


def keep_raw_records() -> None:
    """Make aiokafka's fetcher keep each partition's raw record set (idempotent)."""
    aiokafka_fetcher.MemoryRecords = KeptRecords


def columns_supported() -> bool:
    """Whether this aiokafka has the internals `fetch_columns` follows."""
    needed = {
        _FetchResult: ("check_assignment", "has_more", "getall", "_update_position"),
        aiokafka_fetcher.Fetcher: ("_notify", "_create_fetch_waiter"),
    }
    return (aiokafka_fetcher.__dict__.get("MemoryRecords") in (MemoryRecords, KeptRecords)
            and all(hasattr(cls, name) for cls, names in needed.items() for name in names))


def take_columns(result: Any, limit: int) -> Sequence[Any]:
    """Up to `limit` records of one partition's fetch result, as `getall` takes them
    (and with the same effect on the consumer's position), as a `RecordRun`; or
    `getall`'s own ConsumerRecords where the Rust reader leaves the batch."""
    tp = result._topic_partition
    if not result.check_assignment(tp) or not result.has_more():
        return []
    records = result._partition_records
    raw = getattr(records._records, "raw", None)
    if (type(raw) is not bytes or records._isolation_level != _READ_UNCOMMITTED
            or records._key_deserializer or records._value_deserializer):
        got: list[Any] = result.getall(limit)
        return got
    offsets, stamps, keys, values, next_offset, pos, stop = matcher_rs.read_record_batches(
        raw, getattr(records, "column_pos", 0), records.next_fetch_offset, limit,
        check_crcs=records._check_crcs)
    records.next_fetch_offset = next_offset
    records.column_pos = pos
    if stop == "unread":
        # aiokafka reads on from the batch left, and raises what it raises for it.
        result._partition_records = _PartitionRecords(
            tp, MemoryRecords(raw[pos:]), records._aborted_transactions, next_offset,
            records._key_deserializer, records._value_deserializer, records._check_crcs,
            records._isolation_level)
        if not offsets:
            rest: list[Any] = result.getall(limit)
            return rest
    result._update_position()
    if stop == "end":
        result._partition_records = None
    if not offsets:
        return []
    return RecordRun(tp.topic, tp.partition, offsets, stamps, keys, values)


async def fetch_columns(consumer: AIOKafkaConsumer, timeout_ms: int, max_records: int,
                        ) -> dict[TopicPartition, Sequence[Any]]:
    """`consumer.getmany(timeout_ms=..., max_records=...)`, with `RecordRun`s."""
    if consumer._closed:
        raise ConsumerStoppedError()
    if max_records < 1:
        raise ValueError("max_records must be positive")
    consumer._coordinator.check_errors()
    with consumer._subscription.fetch_context():
        return await _fetched(consumer._fetcher, consumer._subscription, timeout_ms / 1000,
                              max_records)


async def _fetched(fetcher: Any, subscriptions: Any, timeout: float, max_records: int,
                   ) -> dict[TopicPartition, Sequence[Any]]:
    """aiokafka's `Fetcher.fetched_records` for every assigned partition, with
    `take_columns` for `getall`."""
    while True:
        if subscriptions.reassignment_in_progress:
            await subscriptions.wait_for_assignment()
        start_time = time.monotonic()
        drained: dict[TopicPartition, Sequence[Any]] = {}
        for tp in list(fetcher._records):
            result = fetcher._records[tp]
            if type(result) is _FetchResult:
                records = take_columns(result, max_records)
                if not result.has_more():
                    del fetcher._records[tp]  # all taken: fetch more
                    fetcher._notify(fetcher._wait_consume_future)
                if not records:
                    continue
                drained[tp] = records
                max_records -= len(records)
                if max_records == 0:
                    break
            elif drained:
                return drained  # the error is raised at the next call
            else:
                del fetcher._records[tp]
                fetcher._notify(fetcher._wait_consume_future)
                result.check_raise()
        if drained or not timeout:
            return drained
        waiter = fetcher._create_fetch_waiter()
        done, pending = await asyncio.wait([waiter], timeout=timeout)
        if not done or fetcher._closed:
            for future in pending:
                future.cancel()
            return {}
        if waiter.done():
            waiter.result()  # raises what the fetch raised (authorization errors)
        timeout = max(0.0, timeout - (time.monotonic() - start_time))
