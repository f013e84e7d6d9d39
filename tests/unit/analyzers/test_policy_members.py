"""Policy enforcement fields (mode, enforce_on, fail_mode, match) and zone membership."""

from __future__ import annotations

import pytest

from analyzers.events import InvalidEvent, validate_event
from analyzers.policy import (
    Edge,
    Enforcement,
    MembershipLedger,
    MemoryGraph,
    Policy,
    PolicyZones,
)

POLICY = {"v": 1, "type": "policy", "policy_id": "p", "ts": 1, "protects": ["LOC"],
          "deny": ["http://ads-service/**"]}


def test_old_policy_records_stay_valid_and_default_to_log_mode() -> None:
    validate_event(POLICY)
    enforcement = Policy.from_event(POLICY).enforcement
    assert enforcement == Enforcement("log", ("db", "http", "kafka", "cache"), "fail_open",
                                      "request")


def test_enforcement_fields_are_read_and_checked() -> None:
    event = {**POLICY, "mode": "enforce", "enforce_on": ["http", "log"],
             "fail_mode": "fail_closed", "match": "value"}
    validate_event(event)
    assert Policy.from_event(event).enforcement == Enforcement(
        "enforce", ("http", "log"), "fail_closed", "value")
    for field, bad in (("mode", "block"), ("enforce_on", ["disk"]), ("fail_mode", "open"),
                       ("match", "fuzzy")):
        with pytest.raises(InvalidEvent, match=field):
            validate_event({**POLICY, field: bad})


def test_a_mode_change_is_a_new_policy_but_the_same_zone() -> None:
    log = Policy.from_event(POLICY)
    enforce = Policy.from_event({**POLICY, "mode": "enforce"})
    assert log.same_zone_as(enforce) and not log.same_as(enforce)
    zones = PolicyZones(MemoryGraph(), clock=lambda: 1)
    zones.on_policy("p", log, ts=1)
    assert zones.on_policy("p", enforce, ts=2) == []  # no violation changes
    assert zones.policies()["p"].enforcement.mode == "enforce"


def test_members_follow_the_zone_and_the_ledger_sends_only_changes() -> None:
    graph = MemoryGraph()
    zones = PolicyZones(graph, clock=lambda: 1)
    zones.on_policy("p", Policy.from_event({**POLICY, "min_confidence": "medium"}), ts=1)
    zones.on_label("db://users#city", ["LOC"], ts=1)
    ledger = MembershipLedger()
    assert zones.take_touched() == {"p"}
    first = ledger.update("p", zones.members("p"), ts=1)
    assert [k for k, _ in first] == ["p|db://users#city"]
    graph.upsert(Edge("db://users#city", "http://ads-service/t", "low"))
    zones.on_edge_upsert(Edge("db://users#city", "http://ads-service/t", "low"),
                         previous=None, ts=2)
    assert ledger.update("p", zones.members("p"), ts=2) == []  # below min_confidence
    edge = Edge("db://users#city", "http://ads-service/t", "high")
    graph.upsert(edge)
    zones.on_edge_upsert(edge, previous=Edge("db://users#city", "http://ads-service/t", "low"),
                         ts=3)
    ((key, event),) = ledger.update("p", zones.members("p"), ts=3)
    assert key == "p|http://ads-service/t"
    assert event is not None and (event["state"], event["confidence"]) == ("denied", "high")
    restored = MembershipLedger()
    for _, e in [*first, (key, event)]:
        assert e is not None
        restored.restore(e)
    assert restored.update("p", zones.members("p"), ts=4) == []  # a restart sends nothing


def test_decisions_are_summed_per_policy_sink_and_decision() -> None:
    from analyzers.policy.decisions import summarize_decisions
    from streams.cli.policy_cmd import enforcement_table

    base = {"policy_id": "p", "sink": "http://ads/x", "sink_kind": "http", "mode": "log",
            "decision": "logged", "service": "a", "source": "db://u#city",
            "code_location": "a.py:1", "trace_id": "t1", "ts": 10}
    rows = summarize_decisions([
        base, {**base, "service": "b", "trace_id": "t2", "ts": 20},
        {**base, "mode": "enforce", "decision": "blocked", "trace_id": "t3", "ts": 30}])
    assert [(r["decision"], r["count"], r["services"], r["last_trace_id"]) for r in rows] == [
        ("blocked", 1, ["a"], "t3"), ("logged", 2, ["a", "b"], "t2")]
    assert (rows[1]["first_ts"], rows[1]["last_ts"]) == (10, 20)
    text = enforcement_table(rows)
    assert "blocked" in text and "http://ads/x" in text and "a.py:1" in text


def test_simulated_enforcement_counts_what_would_be_blocked() -> None:
    from analyzers.policy.simulate import simulate_enforcement
    from streams.cli.dry_run import simulation_table

    policy = Policy.from_event({**POLICY, "deny": ["http://ads-service/**", "log://**"]})

    def trace(tid: str, read: str, rate: float = 0.1) -> list[dict[str, object]]:
        return [
            {"trace_id": tid, "role": "source", "asset": "sqlite://d/users", "ts": 1,
             "payload": {read: "v"}, "service": "web", "sample_rate": rate},
            {"trace_id": tid, "role": "sink", "asset": "http://ads-service/t", "ts": 2,
             "payload": {"s": "v"}, "service": "web", "code_location": "app.py:7",
             "sample_rate": rate},
            {"trace_id": tid, "role": "sink", "asset": "log://web/app", "ts": 2,
             "payload": {"m": "v"}, "service": "web", "code_location": "app.py:8",
             "sample_rate": rate}]

    captures = trace("t1", "city") + trace("t2", "city") + trace("t3", "name")
    out = simulate_enforcement(policy, {"sqlite://d/users#city"}, captures)
    assert (out["traces"], out["tainted_traces"]) == (3, 2)
    (blocked,) = out["would_block"]
    assert (blocked["sink"], blocked["traces"], blocked["estimated"], blocked["sources"]) == (
        "http://ads-service/t", 2, 20.0, ["sqlite://d/users#city"])
    (logged,) = out["would_log"]  # log is not in the default enforce_on
    assert (logged["kind"], logged["code_location"]) == ("log", "app.py:8")
    assert "http://ads-service/t" in simulation_table(out)


def test_since_takes_epoch_ms_iso_times_and_ages() -> None:
    import click

    from streams.cli.dry_run import parse_since

    assert parse_since("2025-01-22T10:10:00Z", 0) == 1737540600000
    assert parse_since("30m", 3_600_000) == 1_800_000
    assert parse_since(None, 5) is None
    with pytest.raises(click.ClickException, match="--since"):
        parse_since("yesterday", 0)
