"""The shared envelope validator: routing, keys, and every rejection reason."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from analyzers.events import SPECS, InvalidEvent, decode_event, validate_event

SECRET = "Home, 123 Main St"

GOOD: dict[str, dict[str, Any]] = {
    "probe": {"v": 1, "type": "probe", "trace_id": "t-1", "ts": 1, "role": "source",
              "asset": "web://a/h", "payload": {"location": SECRET}},
    "sql": {"v": 1, "type": "sql", "job_id": "j-1", "ts": 1, "engine": "spark",
            "namespace": "hive://warehouse", "query": "SELECT 1"},
    "sql_io": {"v": 1, "type": "sql_io", "job_id": "j-1", "ts": 1, "namespace": "hive://w",
               "action": "READ", "table": "default.t", "columns": ["a"]},
    "config": {"v": 1, "type": "config", "config_id": "m@v1", "ts": 1, "kind": "training",
               "config": {}},
    "static": {"v": 1, "type": "static", "source": "a", "sink": "b", "ts": 1},
    "label": {"v": 1, "type": "label", "asset": "a", "labels": ["L"], "ts": 1},
    "policy": {"v": 1, "type": "policy", "policy_id": "p", "ts": 1, "protects": ["L"],
               "deny": ["x/*"], "min_confidence": "medium"},
    "review": {"v": 1, "type": "review", "policy_id": "p", "asset": "a",
               "decision": "exclude", "ts": 1},
}

EXPECTED_ROUTE = {
    "probe": ("probe-events", "t-1"),
    "sql": ("sql-job-logs", "j-1"),
    "sql_io": ("sql-job-logs", "j-1"),
    "config": ("config-events", "m@v1"),
    "static": ("static-flows", "a"),
    "label": ("asset-labels", "a"),
    "policy": ("policies", "p"),
    "review": ("reviews", "p|a"),
}


def test_every_type_is_covered() -> None:
    assert set(GOOD) == set(SPECS) == set(EXPECTED_ROUTE)


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_events_route_with_contract_keys(kind: str) -> None:
    spec = validate_event(GOOD[kind])
    assert (spec.topic, spec.key_of(GOOD[kind])) == EXPECTED_ROUTE[kind]


def test_unknown_fields_are_kept_and_ignored() -> None:
    event = dict(GOOD["static"], extra={"anything": [1, 2]})
    assert validate_event(event).topic == "static-flows"


def test_payload_b64_replaces_payload() -> None:
    event = {k: v for k, v in GOOD["probe"].items() if k != "payload"}
    event["payload_b64"] = "aGVsbG8="
    assert validate_event(event).topic == "probe-events"


def _reason(event: Any, **kw: Any) -> str:
    with pytest.raises(InvalidEvent) as info:
        validate_event(event, **kw)
    return info.value.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"v": 2}, "field 'v' must be 1"),
        ({"v": True}, "field 'v' must be 1"),
        ({"type": 5}, "field 'type' is missing or not a string"),
        ({"type": "teleport"}, "unknown event type 'teleport'"),
        ({"ts": "yesterday"}, "probe: field 'ts' must be an integer"),
        ({"ts": 1.5}, "probe: field 'ts' must be an integer"),
        ({"role": "middle"}, "probe: field 'role' must be one of 'source', 'sink'"),
        ({"trace_id": ""}, "probe: field 'trace_id' must be a non-empty string"),
        ({"service": 3}, "probe: field 'service' must be a non-empty string"),
    ],
)
def test_rejections_name_the_field(change: dict[str, Any], reason: str) -> None:
    assert _reason(dict(GOOD["probe"], **change)) == reason


def test_missing_field() -> None:
    event = dict(GOOD["sql"])
    del event["query"]
    assert _reason(event) == "sql: missing field 'query'"


def test_probe_needs_a_payload() -> None:
    event = {k: v for k, v in GOOD["probe"].items() if k != "payload"}
    assert _reason(event) == "probe: needs 'payload' or 'payload_b64'"


def test_list_fields_are_checked() -> None:
    assert _reason(dict(GOOD["label"], labels="PII")) == (
        "label: field 'labels' must be a list of strings"
    )
    assert _reason(dict(GOOD["sql_io"], columns=[1])) == (
        "sql_io: field 'columns' must be a list of strings"
    )


def test_event_on_the_wrong_topic() -> None:
    assert _reason(GOOD["static"], expected_topic="probe-events") == (
        "event type 'static' does not belong on topic 'probe-events'"
    )


def test_not_an_object() -> None:
    assert _reason([1, 2]) == "event is not a JSON object"


def test_decode_reasons_never_quote_the_value() -> None:
    raw = b'{"v":1,"payload":"' + SECRET.encode() + b'"'  # truncated JSON
    with pytest.raises(InvalidEvent) as info:
        decode_event(raw)
    assert SECRET not in info.value.reason
    assert info.value.reason.startswith("not valid JSON")
    with pytest.raises(InvalidEvent, match="not a JSON object"):
        decode_event(orjson.dumps([SECRET]))
    with pytest.raises(InvalidEvent, match="tombstone"):
        decode_event(None)


def test_no_reason_quotes_a_payload_value() -> None:
    for kind, event in GOOD.items():
        for field in event:
            if field in ("v", "type"):
                continue
            broken = dict(event)
            broken[field] = {"nested": SECRET} if field != "payload" else SECRET
            try:
                validate_event(broken)
            except InvalidEvent as exc:
                assert SECRET not in exc.reason, (kind, field)
