"""PolicyZones: violation events from labels, policies, reviews and graph deltas."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.policy import (
    Edge,
    MemoryGraph,
    Policy,
    PolicyError,
    PolicyZones,
    violation_key,
)

LOC = "PRECISE_LOCATION"
SRC = "web://photos-web/handlePhotoUpload#location"
DB = "mysql://photos-db/photos.photos#location"
FEAT = "feature://store/USER_HOME_LOCATION"
MODEL = "model://registry/ad_targeting_model"
POLICY = Policy.create(
    "location-not-for-ads", [LOC],
    ["model://registry/ad_*", "service://ads/*", "http://ads-service/*"], "medium",
)
PID = POLICY.policy_id


class Clock:
    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


class Monitor:
    """A MemoryGraph and a PolicyZones fed from contract-shaped deltas."""

    def __init__(self) -> None:
        self.graph = MemoryGraph()
        self.clock = Clock()
        self.zones = PolicyZones(self.graph, clock=self.clock)
        self.version = 0

    def delta(self, src: str, dst: str, conf: str = "high", *, op: str = "upsert",
              ts: int = 5, version: int | None = None) -> list[dict[str, Any]]:
        if version is None:
            self.version += 1
            version = self.version
        change = self.graph.apply_delta(
            {"op": op, "src": src, "dst": dst, "confidence": conf, "version": version}
        )
        if change is None:
            return []
        return self.zones.on_edge_change(change.previous, change.current, ts=ts)

    def setup(self) -> list[dict[str, Any]]:
        events = self.zones.on_policy(PID, POLICY, ts=1)
        events += self.zones.on_label(SRC, [LOC], ts=2)
        events += self.delta(SRC, DB, "high")
        events += self.delta(DB, FEAT, "medium")
        events += self.delta(FEAT, MODEL, "high", ts=9)
        return events


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["status"], e["sink"], e["confidence"]) for e in events]


def test_open_event_has_the_contract_shape() -> None:
    m = Monitor()
    events = m.setup()
    assert events == [{
        "v": 1, "type": "violation", "policy_id": PID, "status": "open", "label": LOC,
        "source": SRC, "sink": MODEL, "path": [SRC, DB, FEAT, MODEL],
        "confidence": "medium", "confirmed": False, "detected_at": 1_001, "ts": 9,
    }]
    assert violation_key(PID, MODEL) == f"{PID}|{MODEL}"


def test_redelivery_and_repeats_emit_nothing() -> None:
    m = Monitor()
    m.setup()
    assert m.delta(FEAT, MODEL, "high", version=m.version) == []  # stale version
    assert m.zones.on_edge_upsert(Edge(FEAT, MODEL, "high"),
                                  previous=Edge(FEAT, MODEL, "high"), ts=9) == []
    assert m.zones.on_label(SRC, [LOC], ts=2) == []
    assert m.zones.on_policy(PID, POLICY, ts=1) == []
    assert m.delta(SRC, "other://x", "high") == []  # outside the deny globs


def test_edge_delete_resolves_on_the_same_key() -> None:
    m = Monitor()
    m.setup()
    events = m.delta(DB, FEAT, op="delete", ts=20)
    assert summary(events) == [("resolved", MODEL, "medium")]
    assert events[0]["path"] == [SRC, DB, FEAT, MODEL] and events[0]["ts"] == 20
    assert m.zones.open_violations() == {}
    # the edge comes back: a new open event
    assert summary(m.delta(DB, FEAT, "high", ts=30)) == [("open", MODEL, "high")]


def test_delete_of_an_unused_edge_keeps_the_violation() -> None:
    m = Monitor()
    m.setup()
    m.delta(SRC, "x", "low")
    assert m.delta(SRC, "x", op="delete") == []
    assert m.delta(DB, "y", "high") == [] and m.delta(DB, "y", op="delete") == []
    assert (PID, MODEL) in m.zones.open_violations()


def test_confidence_changes_update_or_resolve() -> None:
    m = Monitor()
    m.setup()
    raised = m.delta(DB, FEAT, "high", ts=11)
    assert summary(raised) == [("open", MODEL, "high")]
    assert raised[0]["detected_at"] == 1_001  # the same violation, first detected then
    assert summary(m.delta(DB, FEAT, "low", ts=12)) == [("resolved", MODEL, "high")]


def test_another_path_keeps_it_open_with_the_new_path() -> None:
    m = Monitor()
    m.setup()
    m.delta(SRC, "hive://w/t#loc", "medium")
    # a table-level edge, followed from the field: a shorter path at the same confidence
    events = m.delta("hive://w/t", MODEL, "medium", ts=12)
    assert summary(events) == [("open", MODEL, "medium")]
    assert events[0]["path"] == [SRC, "hive://w/t#loc", MODEL]
    assert events[0]["detected_at"] == 1_001
    assert m.delta(DB, FEAT, op="delete", ts=13) == []  # no longer on the path
    events = m.delta("hive://w/t", MODEL, op="delete", ts=14)
    assert summary(events) == [("resolved", MODEL, "medium")]


def test_cascading_exclusion_resolves_and_unexclusion_reopens() -> None:
    m = Monitor()
    m.setup()
    events = m.zones.on_review(PID, DB, "exclude", ts=40)
    assert summary(events) == [("resolved", MODEL, "medium")]
    assert m.zones.on_review(PID, DB, "exclude", ts=41) == []
    assert summary(m.zones.on_review(PID, DB, None, ts=42)) == [("open", MODEL, "medium")]


def test_exclusion_outside_the_zone_changes_nothing() -> None:
    m = Monitor()
    m.setup()
    zone = m.zones.zone(PID)
    assert m.zones.on_review(PID, "elsewhere://x", "exclude", ts=3) == []
    assert m.zones.zone(PID) is zone  # not even rebuilt


def test_include_confirms_the_sink_and_a_low_edge_into_it() -> None:
    m = Monitor()
    m.setup()
    assert m.delta(SRC, "service://ads/ranker", "low") == []  # below medium
    events = m.zones.on_review(PID, "service://ads/ranker", "include", ts=50)
    assert summary(events) == [("open", "service://ads/ranker", "high")]
    assert events[0]["confirmed"] is True


def test_label_arriving_after_the_edges_finds_the_paths() -> None:
    m = Monitor()
    m.zones.on_policy(PID, POLICY, ts=1)
    m.delta(SRC, DB)
    m.delta(DB, MODEL)
    events = m.zones.on_label(SRC, [LOC], ts=60)
    assert summary(events) == [("open", MODEL, "high")] and events[0]["ts"] == 60
    # losing the label resolves; an unrelated label change does nothing
    assert m.zones.on_label(SRC, [LOC, "OTHER"], ts=61) == []
    assert summary(m.zones.on_label(SRC, None, ts=62)) == [("resolved", MODEL, "high")]


def test_policy_arriving_after_labels_and_edges_finds_the_paths() -> None:
    m = Monitor()
    m.zones.on_label(SRC, [LOC], ts=1)
    m.zones.on_review(PID, "hive://w/x", "exclude", ts=1)  # kept until the policy comes
    m.delta(SRC, "hive://w/x")
    m.delta("hive://w/x", "service://ads/a")
    m.delta(SRC, MODEL)
    events = m.zones.on_policy(PID, POLICY, ts=70)
    assert summary(events) == [("open", MODEL, "high")]


def test_policy_tombstone_resolves_everything_once() -> None:
    m = Monitor()
    m.setup()
    m.delta(SRC, "service://ads/a", "high")
    events = m.zones.on_policy(PID, None, ts=80)
    assert sorted(summary(events)) == [
        ("resolved", MODEL, "medium"), ("resolved", "service://ads/a", "high"),
    ]
    assert m.zones.on_policy(PID, None, ts=81) == []
    assert m.zones.zone(PID) is None and m.zones.open_violations() == {}
    assert m.delta(DB, "service://ads/b") == []  # no policy, no zone


def test_deny_change_rechecks_sinks_without_rebuilding() -> None:
    m = Monitor()
    m.setup()
    zone = m.zones.zone(PID)
    narrowed = Policy.create(PID, [LOC], ["mysql://photos-db/**"], "medium")
    events = m.zones.on_policy(PID, narrowed, ts=90)
    assert sorted(summary(events)) == [("open", DB, "high"), ("resolved", MODEL, "medium")]
    assert m.zones.zone(PID) is zone
    with pytest.raises(PolicyError):
        m.zones.on_policy("other", narrowed, ts=91)


def test_protected_root_itself_denied() -> None:
    m = Monitor()
    m.zones.on_policy(PID, POLICY, ts=1)
    events = m.zones.on_label("http://ads-service/t#loc", [LOC], ts=2)
    denied = "http://ads-service/t#loc"
    assert [(e["path"], e["confidence"]) for e in events] == [([denied], "high")]


def test_explain() -> None:
    m = Monitor()
    m.setup()
    found = m.zones.explain(PID, MODEL)
    assert found is not None
    entry, hops = found
    assert entry.path == (SRC, DB, FEAT, MODEL)
    assert [(h.edge_src, h.edge_dst, h.confidence) for h in hops] == [
        (SRC, DB, "high"), (DB, FEAT, "medium"), (FEAT, MODEL, "high"),
    ]
    assert m.zones.explain(PID, "nowhere") is None and m.zones.explain("nope", MODEL) is None


def test_restart_restores_open_violations_and_emits_only_differences() -> None:
    m = Monitor()
    events = m.setup()
    fresh = PolicyZones(m.graph, clock=Clock())
    for event in events:
        fresh.restore(event)
    fresh.restore({"policy_id": "gone", "sink": "s", "status": "open", "path": ["r", "s"]})
    fresh.load(labels={SRC: [LOC]}, policies=[POLICY])
    out = fresh.rebuild_all(ts=100)
    assert [(e["policy_id"], e["status"]) for e in out] == [("gone", "resolved")]
    assert set(fresh.open_violations()) == {(PID, MODEL)}


def test_invalid_review_decision() -> None:
    m = Monitor()
    with pytest.raises(PolicyError):
        m.zones.on_review(PID, SRC, "maybe", ts=1)  # type: ignore[arg-type]


def test_memory_graph_versions() -> None:
    g = MemoryGraph()
    up = {"op": "upsert", "src": "t#a", "dst": "u", "confidence": "high", "version": 2}
    change = g.apply_delta(up)
    assert change is not None and change.previous is None and change.current is not None
    assert g.apply_delta({**up, "version": 1}) is None
    gone = g.apply_delta({"op": "delete", "src": "t#a", "dst": "u", "version": 3})
    assert gone is not None and gone.current is None
    assert g.apply_delta({**up, "version": 3}) is None  # older than the tombstone
    assert list(g.field_out_edges("t")) == [] and len(g) == 0
    assert g.apply_delta({**up, "version": 4}) is not None
    assert [e.dst for e in g.field_out_edges("t")] == ["u"] and list(g.edges())
