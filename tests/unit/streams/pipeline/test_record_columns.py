"""aiokafka's fetched record sets read in Rust into columns, held to aiokafka's own reader.

The record sets are built by aiokafka's own batch builder (keys, values,
headers, nulls, gzip); `take_columns` runs on aiokafka's real FetchResult and
PartitionRecords objects beside a twin read by `getall`: the same records and
the same consumer positions after every step.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from aiokafka.consumer.fetcher import FetchResult, PartitionRecords
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from matcher_rs import read_record_batches
from streams.pipeline.record_columns import KeptRecords, columns_supported, take_columns
from streams.pipeline.record_run import FetchedRecord, RecordRun

TP = TopicPartition("t", 3)
Row = tuple[int, int, bytes | None, bytes | None]


def _batch(base: int, rows: list[tuple[bytes | None, bytes | None, list[Any]]], *,
           codec: int = 0, ts: int = 1_700_000_000_000) -> bytes:
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=0,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                        batch_size=1 << 22)
    for delta, (key, value, headers) in enumerate(rows):
        builder.append(delta, timestamp=ts + 3 * delta, key=key, value=value, headers=headers)
    raw = builder.build()
    raw[0:8] = base.to_bytes(8, "big")  # the base offset is outside the CRC
    return bytes(raw)


def _rows(rng: random.Random, n: int) -> list[tuple[bytes | None, bytes | None, list[Any]]]:
    def blob() -> bytes | None:
        return None if rng.random() < 0.1 else rng.randbytes(rng.choice([0, 1, 5, 200, 3000]))
    return [(blob(), blob(), [("h", blob())] * rng.choice([0, 0, 1, 3])) for _ in range(n)]


def _record_set(rng: random.Random, batches: int, codecs: tuple[int, ...] = (0,)) -> bytes:
    raw, offset = b"", rng.randrange(0, 1 << 40)
    for _ in range(batches):
        n = rng.randint(1, 40)
        raw += _batch(offset, _rows(rng, n), codec=rng.choice(codecs),
                      ts=rng.randrange(0, 1 << 41))
        offset += n + rng.choice([0, 0, 2])  # a gap: compacted records, or a control batch
    return raw


def _aiokafka(raw: bytes, start: int) -> list[Row]:
    records = PartitionRecords(TP, MemoryRecords(raw), [], start, None, None, True, 0)
    return [(r.offset, r.timestamp, r.key, r.value) for r in records]


def _columns(raw: bytes, start: int, limit: int) -> tuple[list[Row], str]:
    """Read `raw` whole, `limit` records at a time, as `take_columns` resumes."""
    rows: list[Row] = []
    pos, offset = 0, start
    while True:
        offsets, stamps, keys, values, offset, pos, stop = read_record_batches(
            raw, pos, offset, limit)
        rows += zip(offsets, stamps, keys, values, strict=True)
        if stop != "limit":
            return rows, stop


@pytest.mark.parametrize("seed", range(60))
def test_the_rust_reader_reads_what_aiokafka_reads(seed: int) -> None:
    rng = random.Random(seed)
    raw = _record_set(rng, rng.randint(1, 6))
    everything = _aiokafka(raw, 0)
    start = rng.choice([0, everything[len(everything) // 2][0]])
    cut = rng.choice([len(raw), len(raw) - rng.randint(1, 60)])  # a fetch may end mid-batch
    expected = _aiokafka(raw[:cut], start)
    for limit in (1, 7, 5000):
        got, stop = _columns(raw[:cut], start, limit)
        assert (got, stop) == (expected, "end")


def test_a_compressed_batch_is_left_to_aiokafka_at_its_start() -> None:
    rng = random.Random(1)
    plain = _batch(0, _rows(rng, 5))
    gzipped = _batch(5, _rows(rng, 5), codec=1)
    offsets, _, _, _, next_offset, pos, stop = read_record_batches(plain + gzipped + plain, 0, 0,
                                                                   100)
    assert (offsets, next_offset, pos, stop) == ([0, 1, 2, 3, 4], 5, len(plain), "unread")
    assert [r[0] for r in _aiokafka((plain + gzipped)[pos:], next_offset)] == [5, 6, 7, 8, 9]


def test_a_batch_with_a_bad_crc_is_left_to_aiokafka_which_refuses_it() -> None:
    rng = random.Random(2)
    good, bad = _batch(0, _rows(rng, 3)), bytearray(_batch(3, [(None, b"value", [])]))
    bad[-3] ^= 0x01  # a byte of the value, under the CRC
    offsets, _, _, _, next_offset, pos, stop = read_record_batches(good + bytes(bad), 0, 0, 100)
    assert (offsets, pos, stop) == ([0, 1, 2], len(good), "unread")
    with pytest.raises(CorruptRecordException):
        _aiokafka(bytes(bad), next_offset)
    unchecked = read_record_batches(good + bytes(bad), 0, 0, 100, check_crcs=False)
    assert unchecked[0] == [0, 1, 2, 3]


def _result(records: Any, value_deserializer: Any = None) -> tuple[Any, FetchResult]:
    """A fetch result over `records` from offset 0, on a real subscription of its own,
    and the partition's state (its position)."""
    subscriptions = SubscriptionState()
    subscriptions.assign_from_user({TP})
    assignment = subscriptions.subscription.assignment
    state = assignment.state_value(TP)
    state.seek(0)
    partition = PartitionRecords(TP, records, [], 0, None, value_deserializer, True, 0)
    return state, FetchResult(TP, assignment=assignment, partition_records=partition, backoff=0)


def _fields(records: Any) -> list[tuple[Any, ...]]:
    return [(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp) for r in records]


@pytest.mark.asyncio
@pytest.mark.parametrize("codecs", [(0,), (0, 1)], ids=["plain", "mixed-gzip"])
@pytest.mark.parametrize("limit", [1, 9, 5000])
async def test_take_columns_takes_what_getall_takes(codecs: tuple[int, ...], limit: int) -> None:
    assert columns_supported()
    rng = random.Random(limit)
    raw = _record_set(rng, 8, codecs)
    state, columns = _result(KeptRecords(raw))
    twin, objects = _result(MemoryRecords(raw))
    expected: list[Any] = []
    while objects.has_more():
        expected += objects.getall(limit)
    got: list[Any] = []
    runs = 0
    while columns.has_more():
        taken = take_columns(columns, limit)
        assert len(taken) <= limit
        if taken:  # the consumer's position: after the last record taken
            assert state.position == taken[-1].offset + 1 or not columns.has_more()
        runs += isinstance(taken, RecordRun)
        got += taken
    assert _fields(got) == _fields(expected)
    assert state.position == twin.position  # past the last batch, gaps included
    assert runs > 0  # the Rust reader read (not only aiokafka's, after a hand-over)


@pytest.mark.asyncio
async def test_a_partition_no_longer_fetchable_gives_nothing() -> None:
    raw = _batch(0, [(None, b"a", []), (None, b"b", [])])
    state, result = _result(KeptRecords(raw))
    state.seek(1)  # the position moved (a seek, or a rebalance) since the fetch
    assert take_columns(result, 10) == []
    assert not result.has_more()


def test_a_run_makes_a_record_only_when_asked() -> None:
    run = RecordRun("t", 3, [5, 6, 8], [10, 11, 12], [b"k", None, None], [b"a", None, b"c"])
    assert len(run) == 3
    assert run[1] == FetchedRecord("t", 3, 6, None, None, 11)
    assert run[-1].value == b"c"
    tail = run[1:]
    assert isinstance(tail, RecordRun) and tail.offsets == [6, 8] and tail.topic == "t"
    assert [r.offset for r in run] == [5, 6, 8]
    with pytest.raises(ValueError, match="one entry per record"):
        RecordRun("t", 3, [1], [], [], [])


@pytest.mark.asyncio
async def test_a_consumer_with_a_deserializer_gets_its_records_from_aiokafka() -> None:
    raw = _batch(0, [(None, b"a", []), (None, b"b", [])])
    _, result = _result(KeptRecords(raw), value_deserializer=bytes.upper)
    taken = take_columns(result, 10)
    assert not isinstance(taken, RecordRun)
    assert [r.value for r in taken] == [b"A", b"B"]
