"""The policy monitor's wiring without Kafka: input records, the store as a GraphView,
graph batches into events, and the `lineage zone` / `violations` renderings."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from analyzers.events import InvalidEvent
from analyzers.policy import Policy, PolicyZones, compute_zone
from state.graph import GraphChange, GraphStore
from streams.cli.policy_cmd import violations_table, zone_json, zone_table
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import load_topology
from streams.policy.inputs import (
    PolicyInput,
    StoreGraphView,
    load_inputs,
    net_changes,
    parse_input,
)
from streams.policy.monitor import PolicyMonitor
from streams.settings import Settings
from tests.unit.state.graph_fixtures import delta, record

SPEC = load_topology().services.policy_monitor
T = "hive://w/db.t"
POLICY = {"v": 1, "type": "policy", "policy_id": "p", "ts": 5, "protects": ["LOC"],
          "deny": ["model://ads/*"], "min_confidence": "medium"}
LABEL = {"v": 1, "type": "label", "asset": "web#loc", "labels": ["LOC"], "ts": 3}


def _raw(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


@pytest.fixture()
def graph(tmp_path: Path) -> Iterator[GraphStore]:
    store = GraphStore.open(tmp_path / "graph")
    yield store
    store.close()


# -- input records -----------------------------------------------------------------

def test_parse_events_and_tombstones() -> None:
    label = parse_input("asset-labels", b"web#loc", _raw(LABEL), 99)
    assert (label.kind, label.asset, label.value, label.ts) == ("label", "web#loc", ["LOC"], 3)
    policy = parse_input("policies", b"p", _raw(POLICY), 99)
    assert isinstance(policy.value, Policy) and policy.value.min_confidence == "medium"
    review = parse_input("reviews", b"p|hive://w/db.t",
                         _raw({"v": 1, "type": "review", "policy_id": "p", "asset": T,
                               "decision": "exclude", "ts": 7}), 99)
    assert (review.policy_id, review.asset, review.value) == ("p", T, "exclude")
    assert parse_input("asset-labels", b"web#loc", None, 9) == PolicyInput(
        "label", "", "web#loc", None, 9)
    assert parse_input("policies", b"p", None, 9).policy_id == "p"
    gone = parse_input("reviews", b"p|a|b", None, 9)
    assert (gone.policy_id, gone.asset, gone.value) == ("p", "a|b", None)


@pytest.mark.parametrize(("topic", "key", "value", "reason"), [
    ("asset-labels", b"other", _raw(LABEL), "record key differs"),
    ("policies", b"p", _raw(LABEL), "does not belong on topic"),
    ("policies", b"p", b"{nope", "not valid JSON"),
    ("asset-labels", b"x", _raw({**LABEL, "asset": "x", "labels": "LOC"}), "'labels'"),
    ("reviews", b"no-bar", None, "policy_id|asset"),
    ("policies", None, None, "without a key"),
])
def test_bad_records_are_rejected_with_a_reason(
    topic: str, key: bytes | None, value: bytes | None, reason: str,
) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        parse_input(topic, key, value, 0)


# -- the store as the zone logic's graph --------------------------------------------

def test_store_view_gives_the_same_zone_as_memory(graph: GraphStore) -> None:
    graph.apply_delta(delta("web#loc", f"{T}#loc", 1))
    graph.apply_delta(delta(T, "model://ads/m", 1, confidence="medium"))  # table level
    graph.apply_delta(delta(f"{T}#other", "x", 1))  # another field: not followed
    zone = compute_zone(StoreGraphView(graph), Policy.from_event(POLICY), {"web#loc": ["LOC"]})
    assert sorted(zone.nodes()) == sorted(["web#loc", f"{T}#loc", "model://ads/m"])
    graph.apply_delta(delta("web", "x2", 1))  # the request's table-level edge
    zone = compute_zone(StoreGraphView(graph), Policy.from_event(POLICY), {"web": ["LOC"]})
    assert "x2" in zone and f"{T}#loc" in zone


def test_net_changes_keep_first_before_and_last_after(graph: GraphStore) -> None:
    changes = graph.apply([record(0, 0, delta("a", "b", 1)),
                           record(0, 1, delta("a", "b", 2, confidence="low")),
                           record(0, 2, delta("c", "d", 1)),
                           record(0, 3, delta("c", "d", 2, op="delete"))])
    assert len(changes) == 4
    (net,) = net_changes(changes)
    assert net.before is None and net.after is not None and net.after.confidence == "low"
    same = GraphChange("x", changes[0].after, changes[0].after, 3)
    assert net_changes([same]) == []


# -- the monitor: graph batches in, keyed events out ------------------------------

def _monitor(graph: GraphStore) -> tuple[PolicyMonitor, PolicyZones]:
    service: Any = SimpleNamespace(graph=graph)
    monitor = PolicyMonitor(Settings(topic_prefix="u-"), SPEC, service,
                            sink=None,  # type: ignore[arg-type]
                            metrics=Metrics(), is_leader=lambda: True, clock=lambda: 1000)
    zones = PolicyZones(StoreGraphView(graph), clock=lambda: 1000)
    load_inputs(zones, [parse_input("policies", b"p", _raw(POLICY), 0),
                        parse_input("asset-labels", b"web#loc", _raw(LABEL), 0)])
    assert zones.rebuild_all(ts=0) == []
    monitor._zones = zones
    return monitor, zones


def _sent(monitor: PolicyMonitor, topic: str = SPEC.output) -> list[tuple[bytes, Any]]:
    """What the monitor queued for `topic` (violations by default), decoded; drains the queue."""
    out = []
    while not monitor._queue.empty():
        out += [(o.key, orjson.loads(o.value or b"null")) for o in monitor._queue.get_nowait()
                if o.topic == topic]
    return out


def test_graph_batches_publish_zone_membership_deltas(graph: GraphStore) -> None:
    monitor, zones = _monitor(graph)
    monitor.on_graph(graph.apply([record(0, 0, delta("web#loc", f"{T}#loc", 1))]))
    sent = dict(_sent(monitor, SPEC.zones_output))
    assert SPEC.zones_output == "policy-zones"
    assert set(sent) == {b"p|web#loc", f"p|{T}#loc".encode()}
    assert sent[b"p|web#loc"]["state"] == "root"
    member = sent[f"p|{T}#loc".encode()]
    assert (member["type"], member["state"], member["labels"], member["confidence"]) == (
        "zone_member", "reached", ["LOC"], "high")
    monitor.on_graph(graph.apply([record(0, 1, delta("web#loc", "model://ads/m", 1))]))
    assert dict(_sent(monitor, SPEC.zones_output))[b"p|model://ads/m"]["state"] == "denied"
    # an exclusion takes the asset out (a tombstone) and publishes it as excluded
    review = parse_input("reviews", f"p|{T}#loc".encode(),
                         _raw({"v": 1, "type": "review", "policy_id": "p", "asset": f"{T}#loc",
                               "decision": "exclude", "ts": 7}), 7)
    monitor._emit(review.apply(zones))
    monitor._emit_zones(zones.take_touched(), review.ts)
    assert dict(_sent(monitor, SPEC.zones_output))[f"p|{T}#loc".encode()]["state"] == "excluded"
    # the policy gone: every member's key gets a tombstone
    monitor._emit(zones.on_policy("p", None, ts=9))
    monitor._emit_zones(zones.take_touched(), 9)
    gone = dict(_sent(monitor, SPEC.zones_output))
    assert set(gone) == {b"p|web#loc", f"p|{T}#loc".encode(), b"p|model://ads/m"}
    assert set(gone.values()) == {None}


def test_graph_batches_open_and_resolve_once(graph: GraphStore) -> None:
    monitor, zones = _monitor(graph)
    first = delta("web#loc", "model://ads/m", 1, confidence="medium")
    first["last_seen"] = 4242
    monitor.on_graph(graph.apply([record(0, 0, first)]))
    ((key, event),) = _sent(monitor)
    assert key == b"p|model://ads/m"
    assert (event["status"], event["ts"], event["detected_at"]) == ("open", 4242, 1000)
    assert event["path"] == ["web#loc", "model://ads/m"]
    monitor.on_graph(graph.apply([record(0, 0, first)]))  # redelivered: skipped by the store
    monitor.on_graph(graph.apply([record(0, 1, {**first, "version": 2, "score": 0.5})]))
    assert _sent(monitor) == []  # same band, same path: nothing to say
    monitor.on_graph(graph.apply([record(0, 2, delta("web#loc", "model://ads/m", 3,
                                                     confidence="low"))]))
    ((_, resolved),) = _sent(monitor)
    assert resolved["status"] == "resolved" and resolved["path"] == event["path"]
    assert zones.open_violations() == {}


def test_no_zones_no_work(graph: GraphStore) -> None:
    monitor, _ = _monitor(graph)
    monitor._zones = None
    monitor.on_graph(graph.apply([record(0, 0, delta("web#loc", "model://ads/m", 1))]))
    assert _sent(monitor) == []


def test_a_bad_input_record_becomes_a_dead_letter(graph: GraphStore) -> None:
    monitor, _ = _monitor(graph)
    rec: Any = SimpleNamespace(topic="u-asset-labels", partition=0, offset=7, key=b"k",
                               value=b"[1]", timestamp=5)
    assert monitor._parse(rec) is None
    ((key, letter),) = _sent(monitor, "dead-letters")
    assert key == b"asset-labels:0:7"
    assert letter["agent"] == "policy-monitor" and "object" in letter["reason"]


def test_run_waits_for_the_replica_and_stops_cleanly(graph: GraphStore) -> None:
    async def scenario() -> None:
        service: Any = SimpleNamespace(ready=asyncio.Event())
        quick = dataclasses.replace(SPEC, leader_poll_ms=10)
        monitor = PolicyMonitor(Settings(), quick, service, sink=None,  # type: ignore[arg-type]
                                metrics=Metrics(), is_leader=lambda: False)
        task = asyncio.create_task(monitor.run())
        await asyncio.sleep(0.05)
        service.ready.set()
        await asyncio.sleep(0.05)
        assert not monitor.active.is_set() and monitor.zones is None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


# -- renderings --------------------------------------------------------------------

def test_zone_json_explains_each_asset(graph: GraphStore) -> None:
    graph.apply_delta(delta("web#loc", f"{T}#loc", 1))
    graph.apply_delta(delta(T, "model://ads/m", 1, confidence="medium", kinds=("CONFIG",)))
    inputs = [parse_input("policies", b"p", _raw(POLICY), 0),
              parse_input("asset-labels", b"web#loc", _raw(LABEL), 0),
              PolicyInput("review", "p", "model://ads/m", "include", 0)]
    zones = PolicyZones(StoreGraphView(graph), clock=lambda: 0)
    load_inputs(zones, inputs)
    zones.rebuild_all(ts=0)
    data = zone_json(zones, "p", inputs)
    assert data["roots"] == ["web#loc"] and data["reviews"] == {"model://ads/m": "include"}
    model = data["assets"][-1]
    assert model["asset"] == "model://ads/m" and model["denied"] and model["confirmed"]
    assert model["hops"][-1]["edge"] == f"{T} -> model://ads/m"
    assert model["confidence"] == "high"  # confirmed: the hop into it counts high
    assert "DENIED, confirmed" in zone_table(data)
    assert "1 violations" in violations_table([{"status": "open", "policy_id": "p",
                                                "sink": "s", "path": ["a", "s"]}])
