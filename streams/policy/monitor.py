"""The worker's policy monitor: zones over the graph replica, violations to Kafka.

`PolicyMonitor.install(app)` subscribes to the worker's graph replica
(`GraphService.add_listener`) and adds one Faust task. Only the leader of
the Faust group (the worker holding Faust's `__assignor-__leader`
partition, `app.is_leader()`) computes and emits, so several workers never
send the same violation twice. On becoming leader (and at start) the task:

1. waits until the graph replica has caught up with `lineage-graph`;
2. reads `asset-labels`, `policies` and `reviews` (every partition, from the
   beginning, no consumer group) up to their current end, latest per key;
3. reads `policy-violations` latest per key and `restore`s the open ones,
   and `policy-zones` latest per key into the membership ledger;
4. loads the inputs, `rebuild_all`s and sends only the differences (nothing
   when nothing changed while no one led);
5. follows: graph changes arrive through the listener, input records
   through its consumer; each call's events go out in order, then the zone
   membership deltas of the policies it touched (`policy-zones`).

Losing leadership drops the state (the next leader restores it from the
topics). Bad input records go to `dead-letters` with their reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from analyzers.events import InvalidEvent
from analyzers.policy import MembershipLedger, PolicyZones, violation_key
from state.graph import GraphChange, GraphStore
from streams.graph.service import GraphService
from streams.kafka.clients import new_consumer
from streams.kafka.topic_reader import assign_from_beginning, latest_records, read_latest
from streams.pipeline.batch import Output, OutputSink, dead_letter
from streams.pipeline.deadletters import Origin
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import PolicyMonitorSpec
from streams.policy.inputs import (
    PolicyInput,
    StoreGraphView,
    load_inputs,
    net_changes,
    parse_input,
)
from streams.settings import Settings

log = logging.getLogger("lineage.policy")

AGENT = "policy-monitor"


def now_ms() -> int:
    return int(time.time() * 1000)


class PolicyMonitor:
    """Keeps `PolicyZones` current on the leader and sends its events."""

    def __init__(
        self, settings: Settings, spec: PolicyMonitorSpec, graph: GraphService,
        sink: OutputSink, metrics: Metrics, *,
        is_leader: Callable[[], bool], clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.graph_service = graph
        self.sink = sink
        self.metrics = metrics
        self._is_leader = is_leader
        self.clock = clock
        self.poll_s = spec.leader_poll_ms / 1000
        self._zones: PolicyZones | None = None
        self._ledger = MembershipLedger()
        self._queue: asyncio.Queue[list[Output]] = asyncio.Queue()
        #: Set while this worker leads and its zones are current.
        self.active = asyncio.Event()

    @property
    def zones(self) -> PolicyZones | None:
        """The live zones while leading, else None."""
        return self._zones

    def install(self, app: Any) -> None:
        """Listen to the graph replica and run the monitor as a task of `app`."""
        self.graph_service.add_listener(self.on_graph)

        @app.task
        async def policy_monitor() -> None:
            await self.run()

    # -- the task --------------------------------------------------------------
    def open_violations_per_policy(self) -> dict[str, int] | None:
        """How many violations are open per policy; None unless this worker leads."""
        zones = self._zones
        if zones is None:
            return None
        counts: dict[str, int] = {}
        for policy_id, _ in zones.open_violations():
            counts[policy_id] = counts.get(policy_id, 0) + 1
        return counts

    async def run(self) -> None:
        """Lead while elected, stand by otherwise, until cancelled."""
        await self.graph_service.ready.wait()
        sender = asyncio.create_task(self._send_loop())
        leading: asyncio.Task[None] | None = None
        try:
            while True:
                leader = self._leader()
                if leading is not None and (leading.done() or not leader or sender.done()):
                    await self._stand_down(leading)
                    leading = None
                    if sender.done():  # a send failed: resync from the topic as leader
                        log.error("policy monitor could not send: %r", sender.exception())
                        sender = asyncio.create_task(self._send_loop())
                if leader and leading is None:
                    leading = asyncio.create_task(self._lead())
                await asyncio.sleep(self.poll_s)
        finally:
            for task in (leading, sender):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task

    def _leader(self) -> bool:
        try:
            return bool(self._is_leader())
        except Exception:  # the consumer is not started yet
            return False

    async def _stand_down(self, leading: asyncio.Task[None]) -> None:
        self._zones = None
        self.active.clear()
        if not leading.done():
            leading.cancel()
        try:
            await leading
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("policy monitor failed; it restarts from the topics")
        while not self._queue.empty():  # the next leader re-derives what was not sent
            self._queue.get_nowait()
        log.info("policy monitor standing by")

    async def _lead(self) -> None:
        materializer = self.graph_service.materializer
        assert materializer is not None
        await materializer.caught_up.wait()
        async with self._input_consumer() as consumer:
            inputs = await self._read_inputs_to_end(consumer)
            published = await read_latest(self.settings, self.spec.output)
            members = await read_latest(self.settings, self.spec.zones_output)
            # From here to `self._zones = zones` nothing awaits: the graph
            # listener sees either no zones or zones that reflect the replica.
            zones = PolicyZones(StoreGraphView(self.graph_service.graph), clock=self.clock)
            restored = 0  # violation keys read back
            for value in published.values():
                if value is not None:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        zones.restore(orjson.loads(value))
                        restored += 1
            ledger = MembershipLedger()
            for value in members.values():
                if value is not None:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        ledger.restore(orjson.loads(value))
            load_inputs(zones, inputs)
            events = zones.rebuild_all(ts=self.clock())
            self._zones, self._ledger = zones, ledger
            self._emit(events)
            self._emit_zones(zones.take_touched() | set(ledger.policies()), self.clock())
            self.active.set()
            log.info("policy monitor leading: %d policies, %d keys read, %d open, %d sent",
                     len(zones.policies()), restored, len(zones.open_violations()), len(events))
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=self.spec.batch_size)
                for records in batch.values():
                    for record in records:
                        item = self._parse(record)
                        if item is not None:
                            self._emit(item.apply(zones))
                            self._emit_zones(zones.take_touched(), item.ts)
                            self.metrics.incr(f"{AGENT}.inputs")

    # -- inputs ----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _input_consumer(self) -> AsyncIterator[AIOKafkaConsumer]:
        consumer = new_consumer(self.settings, enable_auto_commit=False,
                                auto_offset_reset="earliest")
        await consumer.start()
        try:
            await assign_from_beginning(consumer,
                                        [self.settings.topic(t) for t in self.spec.inputs])
            yield consumer
        finally:
            await consumer.stop()

    async def _read_inputs_to_end(self, consumer: AIOKafkaConsumer) -> list[PolicyInput]:
        """Every input topic up to its end as of now, latest record per key, parsed."""
        latest = await latest_records(consumer)
        parsed = (self._parse(r) for r in sorted(latest.values(),
                                                  key=lambda r: (r.topic, r.partition, r.offset)))
        return [item for item in parsed if item is not None]

    def _parse(self, record: ConsumerRecord[Any, Any]) -> PolicyInput | None:
        topic = record.topic[len(self.settings.topic_prefix):]
        try:
            return parse_input(topic, record.key, record.value, int(record.timestamp))
        except InvalidEvent as exc:
            origin = Origin(topic, record.partition, record.offset)
            self._queue.put_nowait([dead_letter(origin, exc.reason, record.key, record.value,
                                                self.clock(), AGENT)])
            self.metrics.incr(f"{AGENT}.dead_letters")
            return None

    # -- the graph -------------------------------------------------------------
    def on_graph(self, changes: list[GraphChange]) -> None:
        """Listener of the replica: each applied batch, after the store holds it."""
        zones = self._zones
        if zones is None:
            return
        graph = self.graph_service.graph
        for change in net_changes(changes):
            events = zones.on_edge_change(change.before, change.after, ts=0)
            if events:  # ts only matters when something is sent: read it then
                ts = _edge_ts(graph, change, self.clock)
                for event in events:
                    event["ts"] = ts
                self._emit(events)
        self._emit_zones(zones.take_touched(), self.clock())
        self.metrics.incr(f"{AGENT}.graph_changes", len(changes))

    # -- output ----------------------------------------------------------------
    def _emit(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        topic = self.spec.output
        self._queue.put_nowait([
            Output(topic, violation_key(e["policy_id"], e["sink"]).encode(), orjson.dumps(e))
            for e in events])
        self.metrics.incr(f"{AGENT}.violation_events", len(events))

    def _emit_zones(self, policy_ids: set[str], ts: int) -> None:
        """Queue the `policy-zones` records that bring the topic to these policies' zones."""
        zones = self._zones
        if zones is None or not policy_ids:
            return
        outputs = [
            Output(self.spec.zones_output, key.encode(),
                   None if event is None else orjson.dumps(event))
            for policy_id in sorted(policy_ids)
            for key, event in self._ledger.update(policy_id, zones.members(policy_id), ts=ts)]
        if outputs:
            self._queue.put_nowait(outputs)
            self.metrics.incr(f"{AGENT}.zone_member_events", len(outputs))

    async def _send_loop(self) -> None:
        """Send queued events in order; a failure ends the loop (and the leadership)."""
        while True:
            outputs = await self._queue.get()
            while not self._queue.empty():
                outputs += self._queue.get_nowait()
            await self.sink.send(outputs)
            await self.sink.flush()


def _edge_ts(graph: GraphStore, change: GraphChange, clock: Callable[[], int]) -> int:
    """The event time of a graph change: the edge's `last_seen`; a delete has none (now)."""
    if change.after is not None:
        edge = graph.edge(change.edge_id) or {}
        last_seen = edge.get("last_seen")
        if isinstance(last_seen, int):
            return last_seen
    return clock()
