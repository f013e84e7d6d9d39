"""Incremental zones agree with a from-scratch computation after any input sequence."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers.policy import (
    Decision,
    Edge,
    MemoryGraph,
    Policy,
    PolicyZones,
    ViolationState,
    compute_zone,
)

# A small universe so sequences collide: tables with fields, plain assets, sinks.
ASSETS = ["a", "a#x", "a#y", "b", "c", "d#z", "ad/m", "ad/m#f", "ad/n"]
LABELS = ["L1", "L2"]
CONF = ["high", "medium", "low"]
POLICIES = {
    "p1": Policy.create("p1", ["L1"], ["ad/*"], "low"),
    "p2": Policy.create("p2", ["L1", "L2"], ["ad/**", "d#z"], "medium"),
    "p3": Policy.create("p3", ["L2"], ["c", "ad/m#f"], "high"),
}

asset = st.sampled_from(ASSETS)
upsert = st.tuples(st.just("upsert"), asset, asset, st.sampled_from(CONF))
op = st.one_of(
    upsert,
    upsert,
    upsert,
    st.tuples(st.just("delete"), asset, asset),
    st.tuples(st.just("label"), asset, st.none() | st.lists(st.sampled_from(LABELS), max_size=2)),
    st.tuples(
        st.just("review"), st.sampled_from(sorted(POLICIES)), asset,
        st.sampled_from([None, "include", "exclude"]),
    ),
    st.tuples(st.just("policy"), st.sampled_from(sorted(POLICIES)), st.booleans()),
)
#: Inputs that make violations likely; the strategy puts them anywhere in the
#: sequence, so labels and policies also arrive after the edges they need.
PRELUDE: list[tuple[Any, ...]] = [
    ("policy", "p1", True), ("policy", "p2", True), ("policy", "p3", True),
    ("label", "a#x", ["L1"]), ("label", "b", ["L2"]), ("label", "c", ["L1", "L2"]),
]


@st.composite
def sequences(draw: st.DrawFn, max_size: int = 40) -> list[tuple[Any, ...]]:
    steps = draw(st.lists(op, max_size=max_size))
    for item in PRELUDE:
        if draw(st.booleans()) or draw(st.booleans()):
            steps.insert(draw(st.integers(0, len(steps))), item)
    return steps


def expected(
    graph: MemoryGraph,
    policies: dict[str, Policy],
    labels: dict[str, list[str]],
    reviews: dict[str, dict[str, Decision]],
) -> dict[tuple[str, str], ViolationState]:
    out = {}
    for pid, policy in policies.items():
        zone = compute_zone(graph, policy, labels, reviews.get(pid, {}))
        for sink in zone.nodes():
            entry = zone.entry(sink)
            if entry is not None and policy.deny.matches(sink):
                out[(pid, sink)] = ViolationState(
                    entry.label, entry.source, entry.path, entry.confidence, entry.confirmed
                )
    return out


def apply(
    monitor: PolicyZones,
    graph: MemoryGraph,
    step: tuple[Any, ...],
    ts: int,
    model: dict[str, Any],
) -> list[dict[str, Any]]:
    kind = step[0]
    if kind == "upsert":
        _, src, dst, conf = step
        edge = Edge(src, dst, conf)
        previous = graph.upsert(edge)
        return monitor.on_edge_upsert(edge, previous=previous, ts=ts)
    if kind == "delete":
        removed = graph.delete(step[1], step[2])
        return [] if removed is None else monitor.on_edge_delete(removed, ts=ts)
    if kind == "label":
        _, name, labels = step
        if labels:
            model["labels"][name] = labels
        else:
            model["labels"].pop(name, None)
        return monitor.on_label(name, labels, ts=ts)
    if kind == "review":
        _, pid, name, decision = step
        if decision is None:
            model["reviews"].setdefault(pid, {}).pop(name, None)
        else:
            model["reviews"].setdefault(pid, {})[name] = decision
        return monitor.on_review(pid, name, decision, ts=ts)
    _, pid, present = step
    if present:
        model["policies"][pid] = POLICIES[pid]
        return monitor.on_policy(pid, POLICIES[pid], ts=ts)
    model["policies"].pop(pid, None)
    return monitor.on_policy(pid, None, ts=ts)


def replay_events(events: list[dict[str, Any]]) -> dict[tuple[str, str], ViolationState]:
    """The open violations a subscriber of the compacted topic ends up with."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        latest[(event["policy_id"], event["sink"])] = event
    return {
        key: ViolationState(
            e["label"], e["source"], tuple(e["path"]), e["confidence"], e["confirmed"]
        )
        for key, e in latest.items()
        if e["status"] == "open"
    }


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences())
def test_incremental_equals_from_scratch(steps: list[tuple[Any, ...]]) -> None:
    graph = MemoryGraph()
    monitor = PolicyZones(graph, clock=lambda: 7)
    model: dict[str, Any] = {"labels": {}, "reviews": {}, "policies": {}}
    events: list[dict[str, Any]] = []
    for ts, step in enumerate(steps):
        events += apply(monitor, graph, step, ts, model)
        # every intermediate state, not only the last one
        want = expected(graph, model["policies"], model["labels"], model["reviews"])
        assert monitor.open_violations() == want
        for pid in model["policies"]:
            zone = monitor.zone(pid)
            assert zone is not None
            scratch = compute_zone(
                graph, model["policies"][pid], model["labels"], model["reviews"].get(pid, {})
            )
            assert zone.snapshot() == scratch.snapshot()
    assert replay_events(events) == monitor.open_violations()


@settings(max_examples=150, deadline=None)
@given(sequences(30))
def test_redelivery_emits_nothing(steps: list[tuple[Any, ...]]) -> None:
    """Applying each input twice: the second application never emits an event."""
    graph = MemoryGraph()
    monitor = PolicyZones(graph, clock=lambda: 7)
    model: dict[str, Any] = {"labels": {}, "reviews": {}, "policies": {}}
    for ts, step in enumerate(steps):
        apply(monitor, graph, step, ts, model)
        assert apply(monitor, graph, step, ts, model) == []


@settings(max_examples=100, deadline=None)
@given(sequences(30))
def test_restart_from_state_reemits_nothing(steps: list[tuple[Any, ...]]) -> None:
    """A fresh monitor loaded with the final state and the open violations emits nothing."""
    graph = MemoryGraph()
    monitor = PolicyZones(graph, clock=lambda: 7)
    model: dict[str, Any] = {"labels": {}, "reviews": {}, "policies": {}}
    events: list[dict[str, Any]] = []
    for ts, step in enumerate(steps):
        events += apply(monitor, graph, step, ts, model)
    fresh = PolicyZones(graph, clock=lambda: 8)
    for event in events:
        fresh.restore(event)
    fresh.load(
        labels=model["labels"],
        policies=model["policies"].values(),
        reviews=[(p, a, d) for p, rs in model["reviews"].items() for a, d in rs.items()],
    )
    assert fresh.rebuild_all(ts=99) == []
    assert fresh.open_violations() == monitor.open_violations()
