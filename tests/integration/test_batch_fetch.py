"""The batch consumer's two clients against the real broker: the same records,
the same offsets, one group.

A worker may read with librdkafka while another still reads with aiokafka
(a rolling change of `batch_consumer.client`): they must see the same
records, resume from each other's commits and split one group's partitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from aiokafka import TopicPartition

from streams.kafka.clients import new_producer
from streams.kafka.topics import ensure_topics
from streams.pipeline.batch_fetch import Fetcher, new_fetcher
from streams.pipeline.topology import KafkaClient, load_topology
from streams.settings import Settings

TOPIC = "probe-events"
CLIENTS: tuple[KafkaClient, KafkaClient] = ("aiokafka", "confluent")


async def _produce(settings: Settings, count: int) -> None:
    """`count` records over the topic's partitions, with a tombstone and a key-less one."""
    producer = new_producer(settings)
    await producer.start()
    try:
        topic = settings.topic(TOPIC)
        for i in range(count):
            await producer.send(topic, key=None if i == 1 else f"trace-{i % 7}".encode(),
                                value=None if i == 0 else b'{"n":%d}' % i,
                                partition=i % 2, timestamp_ms=1_700_000_000_000 + i)
        await producer.flush()
    finally:
        await producer.stop()


class _Member:
    """A started fetcher in a group, with the partitions its callbacks report."""

    def __init__(self, client: KafkaClient, settings: Settings, group: str) -> None:
        self.fetcher: Fetcher = new_fetcher(client, settings, group, max_records=50)
        self.settings = settings
        self.held: set[TopicPartition] = set()
        self.revocations = 0

    def _assigned(self, partitions: Sequence[TopicPartition]) -> None:
        self.held.update(partitions)

    def _revoked(self, partitions: Sequence[TopicPartition]) -> None:
        self.revocations += 1
        self.held.difference_update(partitions)

    async def __aenter__(self) -> _Member:
        await self.fetcher.start()
        self.fetcher.subscribe([self.settings.topic(TOPIC)], asyncio.Lock(),
                               self._assigned, self._revoked)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.fetcher.stop()

    async def read(self, count: int, *, commit: bool = True) -> list[tuple[object, ...]]:
        """Fetch until `count` records came (or 40 empty fetches), committing after each."""
        seen: list[tuple[object, ...]] = []
        for _ in range(200):
            fetched = await self.fetcher.fetch(250, 50)
            for records in fetched.values():
                seen.extend((r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
                            for r in records)
            if fetched and commit:
                await self.fetcher.commit(
                    {tp: records[-1].offset + 1 for tp, records in fetched.items()})
            if len(seen) >= count:
                break
        return sorted(seen, key=lambda r: (r[1], r[2]))  # type: ignore[return-value]


async def _setup(settings: Settings) -> None:
    await ensure_topics(settings, load_topology())


@pytest.mark.asyncio
async def test_both_clients_fetch_the_same_records(settings: Settings) -> None:
    await _setup(settings)
    await _produce(settings, 120)
    read = {}
    for client in CLIENTS:
        async with _Member(client, settings, f"{settings.group_id}-{client}") as member:
            read[client] = await member.read(120)
            assert member.held == {TopicPartition(settings.topic(TOPIC), p) for p in range(4)}
            assert await member.fetcher.fetch(100, 50) == {}  # nothing more: an empty fetch
    assert len(read["confluent"]) == 120
    assert read["confluent"] == read["aiokafka"]
    by_offset = {(r[1], r[2]): r for r in read["confluent"]}
    assert by_offset[(0, 0)][4] is None  # the tombstone
    assert by_offset[(1, 0)][3] is None  # the key-less record
    assert by_offset[(1, 0)][5] == 1_700_000_000_001  # the record timestamp, in ms


@pytest.mark.asyncio
@pytest.mark.parametrize("first,second", [CLIENTS, CLIENTS[::-1]])
async def test_a_member_resumes_from_the_other_clients_commits(
        settings: Settings, first: KafkaClient, second: KafkaClient) -> None:
    await _setup(settings)
    await _produce(settings, 60)
    group = f"{settings.group_id}-resume"
    async with _Member(first, settings, group) as member:
        assert len(await member.read(60)) == 60
        tps = sorted(member.held)
        committed = {tp.partition: await member.fetcher.committed(tp) for tp in tps}
    assert committed == {0: 30, 1: 30, 2: None, 3: None}
    await _produce(settings, 10)
    async with _Member(second, settings, group) as member:
        resumed = await member.read(10)
        assert [(r[1], r[2]) for r in resumed] == [(p, o) for p in (0, 1) for o in range(30, 35)]
        assert {await member.fetcher.committed(tp) for tp in tps} == {35, None}


async def _poll_forever(member: _Member) -> None:
    while True:  # as a worker's loop does; the rebalance needs every member to poll
        await member.fetcher.fetch(250, 50)


async def _until(condition: Callable[[], bool], *members: _Member) -> None:
    """Poll every member, each on its own loop as workers do, until `condition` (or 60 s)."""
    loops = [asyncio.create_task(_poll_forever(member)) for member in members]
    try:
        for _ in range(240):
            await asyncio.sleep(0.25)
            if condition():
                return
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)


@pytest.mark.asyncio
async def test_a_group_of_both_clients_splits_the_partitions(settings: Settings) -> None:
    await _setup(settings)
    group = f"{settings.group_id}-mixed"
    everything = {TopicPartition(settings.topic(TOPIC), p) for p in range(4)}
    async with _Member("confluent", settings, group) as one:
        await _until(lambda: one.held == everything, one)
        assert one.held == everything and one.revocations == 0
        async with _Member("aiokafka", settings, group) as two:
            await _until(lambda: bool(two.held) and one.held | two.held == everything, one, two)
            assert one.revocations >= 1  # the librdkafka member gave partitions up
            assert one.held and two.held
            assert one.held | two.held == everything and not one.held & two.held
            assert one.fetcher.assignment() == one.held
            assert two.fetcher.assignment() == two.held
