"""Follow `lineage-graph` (and `policy-violations`) and send each change as OpenLineage.

The emitter keeps the current graph in memory (read to its end at start)
and consumes both topics in its own consumer group. For each batch of
changes it sends, for every destination dataset a change touched, that
dataset's events as `export.table_events` makes them (its whole current
inflow, so a consumer that replaces a job's inputs gets them all), and for
every sink whose violations changed, a `DatasetEvent` with its open
violations as tags. Offsets are committed only once the target took the
batch, so a restarted emitter resumes where it stopped and never skips a
change (at-least-once: a change may be sent twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from analyzers.openlineage.export import table_events, violation_tags_event
from streams.kafka.clients import new_consumer
from streams.kafka.topic_reader import read_latest
from streams.openlineage.targets import Target
from streams.settings import Settings

log = logging.getLogger("lineage.openlineage")

GRAPH, VIOLATIONS = "lineage-graph", "policy-violations"


def _table(asset: str) -> str:
    return asset.partition("#")[0]


@dataclass
class GraphMirror:
    """The live edges by destination table, and the violations by sink table."""

    edges: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    into: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    violations: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_sink: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def apply_delta(self, key: str, value: bytes | None) -> tuple[str | None, bool]:
        """Fold one `lineage-graph` record; (its destination table, whether it deleted)."""
        if value is None:
            old = self.edges.pop(key, None)
            if old is None:
                return None, True
            self.into[_table(old["dst"])].discard(key)
            return _table(old["dst"]), True
        delta = orjson.loads(value)
        table = _table(delta["dst"])
        if delta.get("version", 0) < self.versions.get(key, 0):
            return table, False  # older than what was read at start: still a change to send
        self.versions[key] = delta.get("version", 0)
        if delta.get("op") == "delete":
            self.edges.pop(key, None)
            self.into[table].discard(key)
            return table, True
        self.edges[key] = delta
        self.into[table].add(key)
        return table, False

    def apply_violation(self, key: str, value: bytes | None) -> str | None:
        old = self.violations.pop(key, None)
        if old is not None:
            self.on_sink[_table(old["sink"])].discard(key)
        if value is None:
            return _table(old["sink"]) if old else None
        violation = orjson.loads(value)
        table = _table(violation["sink"])
        self.violations[key] = violation
        self.on_sink[table].add(key)
        return table

    def inflow(self, table: str) -> list[dict[str, Any]]:
        return [self.edges[k] for k in sorted(self.into.get(table, ()))]

    def sink_violations(self, table: str) -> list[dict[str, Any]]:
        return [self.violations[k] for k in sorted(self.on_sink.get(table, ()))]


@dataclass
class Emitter:
    settings: Settings
    target: Target
    group_id: str
    tags: bool = True
    batch_size: int = 2000
    mirror: GraphMirror = field(default_factory=GraphMirror)
    events_sent: int = 0
    changes_seen: int = 0

    async def _load(self) -> None:
        for key, value in (await read_latest(self.settings, GRAPH)).items():
            self.mirror.apply_delta(key.decode(), value)
        if self.tags:
            for key, value in (await read_latest(self.settings, VIOLATIONS)).items():
                self.mirror.apply_violation(key.decode(), value)

    def events_for(self, records: list[Any]) -> list[dict[str, Any]]:
        """The events a batch of records calls for (the mirror updated on the way)."""
        graph_topic = self.settings.topic(GRAPH)
        touched: set[str] = set()
        cleared: set[str] = set()
        sinks: set[str] = set()
        for record in records:
            if record.key is None:
                continue
            key = record.key.decode()
            if record.topic == graph_topic:
                table, deleted = self.mirror.apply_delta(key, record.value)
                if table is not None:
                    touched.add(table)
                    if deleted:
                        cleared.add(table)
            else:
                sink = self.mirror.apply_violation(key, record.value)
                if sink is not None:
                    sinks.add(sink)
        events: list[dict[str, Any]] = []
        for table in sorted(touched):
            made, _ = table_events(table, self.mirror.inflow(table), with_empty=table in cleared)
            events += made
        now = int(time.time() * 1000)
        for sink in sorted(sinks):
            events.append(violation_tags_event(sink, self.mirror.sink_violations(sink), now))
        return events

    async def run(self, *, stop: asyncio.Event | None = None,
                  exit_when_idle_s: float | None = None) -> None:
        """Send changes until `stop` is set (or nothing came for `exit_when_idle_s`)."""
        await self._load()
        topics = [self.settings.topic(GRAPH)]
        if self.tags:
            topics.append(self.settings.topic(VIOLATIONS))
        consumer = new_consumer(self.settings, *topics, group_id=self.group_id,
                                enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        await self.target.start()
        idle_since = time.monotonic()
        try:
            while stop is None or not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                records = [r for part in batch.values() for r in part]
                if not records:
                    if (exit_when_idle_s is not None
                            and time.monotonic() - idle_since >= exit_when_idle_s):
                        return
                    continue
                events = self.events_for(records)
                await self.target.send(events)
                await consumer.commit()
                self.changes_seen += len(records)
                self.events_sent += len(events)
                idle_since = time.monotonic()
                log.info("sent %d OpenLineage events for %d changes", len(events), len(records))
        finally:
            await self.target.stop()
            await consumer.stop()
