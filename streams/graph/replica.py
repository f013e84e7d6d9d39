"""Keep a local graph replica current from the compacted `lineage-graph` topic.

A replica reads every partition itself (`assign`, no consumer group), from
the offsets its `GraphStore` holds, and applies deltas in batches; each batch
and its offsets land in one atomic write. Deleting the store directory and
catching up again rebuilds it from scratch.

Two uses: the CLI catches up a replica of its own (`DATA_DIR/graph-view`) to
the topic's current end before each query, so it never touches a worker's
stores; the worker follows the topic into `DATA_DIR/graph` (`run`) and
serves queries from it. Listeners (the policy monitor) get every batch of
applied changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from state.graph import GraphChange, GraphStore
from state.rocksdb import StoreLockedError
from streams.kafka.clients import new_consumer, topic_partitions
from streams.kafka.topic_reader import batches_to_end
from streams.settings import Settings

log = logging.getLogger("lineage.graph")

Listener = Callable[[list[GraphChange]], None]

#: The graph topic (the worker's replica reads the one topology.yaml names).
TOPIC = "lineage-graph"


class GraphSourceError(RuntimeError):
    """The lineage-graph topic cannot be read (missing, unreachable, too slow)."""


class GraphMaterializer:
    """Applies `lineage-graph` records to a `GraphStore`, from its stored offsets."""

    def __init__(self, graph: GraphStore, settings: Settings, *, batch_size: int = 5000,
                 topic: str = TOPIC) -> None:
        self.graph = graph
        self.settings = settings
        self.batch_size = batch_size
        self.topic = topic
        self.listeners: list[Listener] = []
        #: Set once the replica has reached the end of the topic as of `run`'s start.
        self.caught_up = asyncio.Event()

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(changes)` after each applied batch that changed something."""
        self.listeners.append(listener)

    def apply(self, records: list[tuple[int, int, bytes | None, bytes | None]]) -> int:
        changes = self.graph.apply(records)
        if changes:
            for listener in self.listeners:
                try:
                    listener(changes)
                except Exception:
                    log.exception("graph listener %r failed", listener)
        return len(changes)

    @contextlib.asynccontextmanager
    async def _consumer(self, *, wait_for_topic: bool) -> AsyncIterator[AIOKafkaConsumer]:
        name = self.settings.topic(self.topic)
        consumer = new_consumer(self.settings, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20)
        try:
            await consumer.start()
        except Exception as exc:
            raise GraphSourceError(
                f"cannot reach Kafka at {self.settings.bootstrap_servers}: {exc}") from exc
        try:
            while not (partitions := (await topic_partitions(consumer)).get(name)):
                if not wait_for_topic:
                    raise GraphSourceError(
                        f"topic {name} does not exist (no worker has run under this prefix)")
                await asyncio.sleep(2.0)
            tps = [TopicPartition(name, p) for p in partitions]
            consumer.assign(tps)
            offsets = self.graph.offsets()
            for tp in tps:
                if tp.partition in offsets:
                    consumer.seek(tp, offsets[tp.partition] + 1)
                else:
                    await consumer.seek_to_beginning(tp)
            yield consumer
        finally:
            await consumer.stop()

    def _records(
        self, batch: dict[TopicPartition, list[object]],
    ) -> list[tuple[int, int, bytes | None, bytes | None]]:
        return [(tp.partition, rec.offset, rec.key, rec.value)  # type: ignore[attr-defined]
                for tp, records in batch.items() for rec in records]

    async def catch_up(self, *, timeout_s: float = 60.0) -> int:
        """Apply everything up to the topic's end as of now; the number of changes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        applied = 0
        async with self._consumer(wait_for_topic=False) as consumer:
            async for batch in batches_to_end(consumer, max_records=self.batch_size):
                applied += self.apply(self._records(batch))
                if loop.time() > deadline:
                    name = self.settings.topic(self.topic)
                    raise GraphSourceError(f"reading {name} took longer than {timeout_s:g} s")
        return applied

    async def run(self) -> None:
        """Follow the topic for ever (until cancelled); waits for it to exist."""
        async with self._consumer(wait_for_topic=True) as consumer:
            tps = list(consumer.assignment())
            ends = await consumer.end_offsets(tps)
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                if batch:
                    self.apply(self._records(batch))
                if not self.caught_up.is_set():
                    positions = [await consumer.position(tp) for tp in tps]
                    if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                        self.caught_up.set()
                        log.info("graph replica caught up: %d edges", self.graph.edge_count())


@contextlib.contextmanager
def open_replica(path: Path) -> Iterator[GraphStore]:
    """The replica at `path`, or a temporary one when another process holds it.

    The temporary replica starts empty (a rebuild from the topic) and is
    removed afterwards.
    """
    try:
        graph = GraphStore.open(path)
    except StoreLockedError:
        scratch = Path(tempfile.mkdtemp(prefix="lineage-graph-"))
        log.info("graph replica %s is in use; rebuilding into %s", path, scratch)
        graph = GraphStore.open(scratch / "graph")
        try:
            yield graph
        finally:
            graph.close()
            shutil.rmtree(scratch, ignore_errors=True)
        return
    try:
        yield graph
    finally:
        graph.close()


def cli_replica_path(settings: Settings) -> Path:
    """Where the CLI keeps its own replica of this prefix's graph."""
    return settings.data_dir / "graph-view" / (settings.topic_prefix or "_")


def worker_replica_path(settings: Settings) -> Path:
    """Where a worker keeps the replica it follows and serves."""
    return settings.data_dir / "graph"
