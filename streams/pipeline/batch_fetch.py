"""The batch consumer's Kafka client: aiokafka or librdkafka behind one interface.

`BatchConsumer` needs a group member that fetches up to N records, tells it
which partitions it gained and lost, reads and commits the group's offsets.
`AiokafkaFetcher` does that with aiokafka (`getmany`, the default);
`ConfluentFetcher` with confluent-kafka, whose librdkafka threads fetch and
unpack the records in C ahead of the loop. `batch_consumer.client` in
topology.yaml chooses; on the 2-core machine the project is measured on,
librdkafka cost more CPU per event (docs/BENCHMARKS.md, "Issue 21, round 5").

Revocations wait for the batch in flight with both: aiokafka calls the
listener from its own task, so it takes the consumer's lock; librdkafka calls
it only from inside `poll`/`consume`, which the consumer's loop calls between
batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby, repeat
from operator import itemgetter
from typing import Any, Protocol, cast

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from streams.kafka.clients import (
    confluent_topic_partitions,
    new_confluent_consumer,
    new_consumer,
    topic_partitions,
)
from streams.pipeline.record_columns import columns_supported, fetch_columns, keep_raw_records
from streams.pipeline.record_run import FetchedRecord
from streams.pipeline.topology import KafkaClient
from streams.settings import Settings

log = logging.getLogger("lineage.batch")

PartitionsChanged = Callable[[Sequence[TopicPartition]], None]

#: As for the Faust consumer: a killed worker's partitions return quickly.
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 2_000


class CommitFailed(Exception):
    """The group refused or lost an offset commit (carries the client's error name only)."""


_new_tuple = tuple.__new__
_partition_of = itemgetter(0, 1)
_ms = itemgetter(1)  # librdkafka's timestamp is (type, ms), -1 ms when there is none


def fetched_records(messages: Sequence[Any]) -> dict[TopicPartition, list[FetchedRecord]]:
    """librdkafka's messages as records, by partition, in order; error messages are logged.

    Column by column through the C methods, each record made by `tuple.__new__`:
    no Python frame per record. Measured against a loop that calls each
    message's methods and builds an object, it costs about as much or a
    little less (0.09-0.17 s against 0.11-0.21 s per 96k records, 10 passes
    of a throwaway script, by hand): librdkafka's message objects, not the loop, are
    the cost.
    """
    if not messages:
        return {}
    message = type(messages[0])
    if any(map(message.error, messages)):
        for error in filter(None, map(message.error, messages)):
            _client_error(error)
        messages = [m for m in messages if m.error() is None]
    columns = zip(map(message.topic, messages), map(message.partition, messages),
                  map(message.offset, messages), map(message.key, messages),
                  map(message.value, messages), map(_ms, map(message.timestamp, messages)),
                  strict=True)
    records: list[FetchedRecord] = list(map(_new_tuple, repeat(FetchedRecord), columns))
    fetched: dict[TopicPartition, list[FetchedRecord]] = {}
    for (topic, partition), run in groupby(records, _partition_of):
        fetched.setdefault(TopicPartition(topic, partition), []).extend(run)
    return fetched


def _client_error(error: Any) -> None:
    """librdkafka reports broker and partition trouble as error messages; it retries
    them itself. Only a fatal error ends the consumer."""
    from confluent_kafka import KafkaException

    if error.fatal():
        raise KafkaException(error)
    log.warning("batch consumer: %s from the client (not fatal: it goes on)", error.name())


class Fetcher(Protocol):
    """A consumer group member for the batch agents (not started until `start`)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def partitions(self) -> dict[str, list[int]]:
        """Every topic of the cluster with its partitions."""
        ...
    def subscribe(self, topics: Sequence[str], lock: asyncio.Lock,
                  assigned: PartitionsChanged, revoked: PartitionsChanged) -> None: ...
    async def fetch(self, timeout_ms: int, max_records: int,
                    ) -> dict[TopicPartition, Sequence[Any]]:
        """Up to `max_records` records by partition; waits at most `timeout_ms` if none."""
        ...
    def assignment(self) -> set[TopicPartition]: ...
    async def committed(self, tp: TopicPartition) -> int | None: ...
    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit the next offsets to read; raises CommitFailed."""
        ...


class _Listener(ConsumerRebalanceListener):
    """aiokafka's callbacks: a revocation waits for the batch in flight (the lock)."""

    def __init__(self, lock: asyncio.Lock, assigned: PartitionsChanged,
                 revoked: PartitionsChanged) -> None:
        self.lock = lock
        self.assigned = assigned
        self.revoked = revoked

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self.lock:
            self.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.assigned(assigned)


class AiokafkaFetcher:
    """The batch agents' consumer on aiokafka.

    With `columns` (and an aiokafka whose internals it knows), each partition's
    fetched records come as one `RecordRun`, read in Rust from the fetched bytes
    (streams/pipeline/record_columns.py); else as `getmany`'s ConsumerRecords.
    """

    def __init__(self, settings: Settings, group_id: str, max_records: int, *,
                 min_bytes: int = 1, max_wait_ms: int = 500, columns: bool = True) -> None:
        self.columns = columns and columns_supported()
        if self.columns:
            keep_raw_records()
        self._consumer = new_consumer(
            settings, group_id=group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=max_records,
            fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_min_bytes=min_bytes, fetch_max_wait_ms=max_wait_ms,
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS)

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def partitions(self) -> dict[str, list[int]]:
        return await topic_partitions(self._consumer)

    def subscribe(self, topics: Sequence[str], lock: asyncio.Lock,
                  assigned: PartitionsChanged, revoked: PartitionsChanged) -> None:
        self._consumer.subscribe(topics=list(topics),
                                 listener=_Listener(lock, assigned, revoked))

    async def fetch(self, timeout_ms: int, max_records: int,
                    ) -> dict[TopicPartition, Sequence[Any]]:
        if self.columns:
            return await fetch_columns(self._consumer, timeout_ms, max_records)
        fetched: dict[TopicPartition, Sequence[Any]] = await self._consumer.getmany(
            timeout_ms=timeout_ms, max_records=max_records)
        return fetched

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment())

    async def committed(self, tp: TopicPartition) -> int | None:
        offset: int | None = await self._consumer.committed(tp)
        return offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            raise CommitFailed(type(exc).__name__) from None


class ConfluentFetcher:
    """The batch agents' consumer on librdkafka (confluent-kafka).

    Every call to the client runs on one thread of its own, in order: the
    blocking ones (`consume`, `commit`, `close`) leave the event loop free,
    and `stop` runs after a `consume` that a cancellation left in flight.
    """

    def __init__(self, settings: Settings, group_id: str, max_records: int, *,
                 min_bytes: int = 1, max_wait_ms: int = 500) -> None:
        del max_records  # each fetch says how many; librdkafka prefetches by bytes
        self._settings, self._group_id = settings, group_id
        self._config = {
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # aiokafka's assignor, so that workers of either client can share the group.
            "partition.assignment.strategy": "roundrobin",
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "fetch.min.bytes": min_bytes,
            "fetch.wait.max.ms": max_wait_ms,
        }
        self._consumer: Any = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-fetch")

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: fn(*args, **kwargs))

    async def start(self) -> None:
        self._consumer = await self._call(new_confluent_consumer, self._settings,
                                          self._group_id, **self._config)

    async def stop(self) -> None:
        if self._consumer is not None:
            # Shielded: a cancelled worker still leaves the group at once.
            await asyncio.shield(self._call(self._consumer.close))
        self._thread.shutdown(wait=False)

    async def partitions(self) -> dict[str, list[int]]:
        partitions: dict[str, list[int]] = await self._call(confluent_topic_partitions,
                                                            self._consumer)
        return partitions

    def subscribe(self, topics: Sequence[str], lock: asyncio.Lock,
                  assigned: PartitionsChanged, revoked: PartitionsChanged) -> None:
        del lock  # the callbacks run inside `poll`/`consume`: no batch is in flight then

        def ours(partitions: Sequence[Any]) -> list[TopicPartition]:
            return [TopicPartition(p.topic, p.partition) for p in partitions]

        self._consumer.subscribe(
            list(topics),
            on_assign=lambda _consumer, partitions: assigned(ours(partitions)),
            on_revoke=lambda _consumer, partitions: revoked(ours(partitions)))  # and lost ones

    def _consume(self, timeout_s: float, max_records: int) -> list[Any]:
        """Block at most `timeout_s` for a first record, then take what is already fetched."""
        first = self._consumer.poll(timeout_s)
        if first is None:
            return []
        rest: list[Any] = self._consumer.consume(max_records - 1, 0) if max_records > 1 else []
        return [first, *rest]

    async def fetch(self, timeout_ms: int, max_records: int,
                    ) -> dict[TopicPartition, Sequence[Any]]:
        messages = await self._call(self._consume, timeout_ms / 1000, max_records)
        return cast(dict[TopicPartition, Sequence[Any]], fetched_records(messages))

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(p.topic, p.partition) for p in self._consumer.assignment()}

    async def committed(self, tp: TopicPartition) -> int | None:
        from confluent_kafka import KafkaException
        from confluent_kafka import TopicPartition as Partition

        [found] = await self._call(self._consumer.committed, [Partition(tp.topic, tp.partition)],
                                   timeout=30)
        if found.error is not None:
            raise KafkaException(found.error)
        offset: int = found.offset
        return offset if offset >= 0 else None

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka import TopicPartition as Partition

        partitions = [Partition(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
        try:
            done = await self._call(self._consumer.commit, offsets=partitions,
                                    asynchronous=False)
        except KafkaException as exc:
            raise CommitFailed(exc.args[0].name() if exc.args else "KafkaException") from None
        refused = sorted({p.error.name() for p in done or () if p.error is not None})
        if refused:
            raise CommitFailed(", ".join(refused))


def new_fetcher(client: KafkaClient, settings: Settings, group_id: str,
                max_records: int, *, min_bytes: int = 1, max_wait_ms: int = 500,
                columns: bool = True) -> Fetcher:
    """The batch agents' consumer on `client` (`batch_consumer.client` in topology.yaml).

    The broker answers a fetch once `min_bytes` are there, or after
    `max_wait_ms` (the defaults are Kafka's: at once).
    """
    if client == "confluent":
        return ConfluentFetcher(settings, group_id, max_records, min_bytes=min_bytes,
                                max_wait_ms=max_wait_ms)
    return AiokafkaFetcher(settings, group_id, max_records, min_bytes=min_bytes,
                           max_wait_ms=max_wait_ms, columns=columns)
