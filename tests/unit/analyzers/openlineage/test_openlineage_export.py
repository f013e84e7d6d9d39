"""Graph -> OpenLineage JobEvents: valid against the vendored schemas, and read back the same."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from jsonschema import ValidationError

from analyzers.openlineage import SqlLineage, kind_of, reduce_event, run_signals
from analyzers.openlineage.export import EVIDENCE_FACET, graph_events, iso_time
from tests.openlineage_schemas import check_event

WEB = "web://photos-web/handlePhotoUpload"
LOG = "hive://warehouse/default.photo_metadata_log"
ANALYTICS = "hive://warehouse/default.location_analytics_tbl"
ADS = "hive://warehouse/default.ads_audience_tbl"
MODEL = "model://registry/ad_targeting_model"


def edge(src: str, dst: str, kinds: list[str], confidence: str = "high",
         score: float = 0.7) -> dict[str, Any]:
    return {"v": 1, "op": "upsert", "edge_id": f"{src} -> {dst}", "src": src, "dst": dst,
            "confidence": confidence, "score": score, "kinds": kinds,
            "evidence": {"runtime_exact": 1, "sql": 2, "openlineage": 0},
            "first_seen": 1737540600000, "last_seen": 1737540655000, "version": 2}


GRAPH = [
    edge(f"{WEB}#location", f"{LOG}#location", ["EXACT_MATCH"]),
    edge(f"{LOG}#location", f"{ANALYTICS}#user_location", ["IDENTITY"]),
    edge(f"{LOG}#email", f"{ANALYTICS}#user_hash", ["MASKED"], "low", 0.2),
    edge(f"{LOG}#day", f"{ANALYTICS}#user_location", ["FILTER"], "low", 0.1),
    edge(f"{WEB}#location", "scribe://logs/photo_uploaded", ["CONTAINS"]),
    edge(ANALYTICS, ADS, ["TRANSFORMATION"], "medium", 0.4),
    edge(ADS, MODEL, ["CONFIG"]),
    edge("feature://store/USER_HOME", f"{ADS}#home", ["CONFIG"]),  # table -> field
]


def test_every_event_is_valid_against_the_published_schemas() -> None:
    report = graph_events(GRAPH)
    assert report.edges == len(GRAPH) and report.unrepresentable == 1
    checked: set[str] = set()
    for event in report.events:
        checked |= check_event(event)
        assert kind_of(orjson.loads(orjson.dumps(event))) == "JobEvent"
    assert checked == {"schema", "columnLineage", EVIDENCE_FACET}


def test_the_schemas_do_catch_a_bad_facet() -> None:
    event = graph_events(GRAPH).events[0]
    event["outputs"][0]["facets"][EVIDENCE_FACET]["edges"][0]["confidence"] = "certain"
    with pytest.raises(ValidationError):
        check_event(event)


def test_one_event_per_destination_with_kinds_and_evidence() -> None:
    events = {e["job"]["name"]: e for e in graph_events(GRAPH).events}
    analytics = events[ANALYTICS]
    output = analytics["outputs"][0]
    assert (output["namespace"], output["name"]) == ("hive://warehouse",
                                                     "default.location_analytics_tbl")
    fields = output["facets"]["columnLineage"]["fields"]
    assert fields["user_hash"]["inputFields"][0]["transformations"] == [
        {"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}]
    assert {t["subtype"] for f in fields["user_location"]["inputFields"]
            for t in f["transformations"]} == {"IDENTITY", "FILTER"}
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [
        "user_hash", "user_location"]
    evidence = output["facets"][EVIDENCE_FACET]["edges"]
    assert {(e["source"], e["target"], e["confidence"]) for e in evidence} == {
        (f"{LOG}#location", f"{ANALYTICS}#user_location", "high"),
        (f"{LOG}#email", f"{ANALYTICS}#user_hash", "low"),
        (f"{LOG}#day", f"{ANALYTICS}#user_location", "low")}
    assert analytics["eventTime"] == iso_time(1737540655000) == "2025-01-22T10:10:55.000Z"
    assert set(events) == {LOG, ANALYTICS, "scribe://logs/photo_uploaded (dataset)",
                           f"{ADS} (tables)", f"{ADS}", f"{MODEL} (tables)"}


def test_reading_the_export_back_gives_the_same_edges() -> None:
    back: dict[str, str] = {}
    for event in graph_events(GRAPH).events:
        part = reduce_event(event, kind_of(event))
        for signal in run_signals(part, SqlLineage()):
            back[signal.edge_id] = "MASKED" if signal.masking else signal.kind
    representable = {e["edge_id"] for e in GRAPH if not ("#" in e["dst"] and "#" not in e["src"])}
    assert set(back) == representable
    assert back[f"{LOG}#email -> {ANALYTICS}#user_hash"] == "MASKED"
    assert back[f"{LOG}#day -> {ANALYTICS}#user_location"] == "FILTER"
    assert back[f"{ANALYTICS} -> {ADS}"] == "OPENLINEAGE"
