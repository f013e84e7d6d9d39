"""The event envelope of the contract: decode, validate, route.

One validator for everything that reads or writes input events: `lineage
send` checks each line with it before producing, and every agent checks each
message with it before use. Reasons name fields and types, never values: an
event may carry a person's data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson


class InvalidEvent(ValueError):
    """An input event that cannot be used; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Check = Callable[[Any], bool]


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


#: The sink kinds a policy in `enforce` mode may block (`enforce_on`).
SINK_KINDS = ("db", "http", "kafka", "cache", "log")


def _is_sink_kinds(value: Any) -> bool:
    return isinstance(value, list) and all(v in SINK_KINDS for v in value)


_DESCRIBE: dict[Check, str] = {
    _is_str: "a non-empty string",
    _is_int: "an integer",
    _is_str_list: "a list of strings",
    _is_object: "an object",
    _is_sink_kinds: "a list of sink kinds (" + ", ".join(SINK_KINDS) + ")",
}


def _one_of(*allowed: str) -> Check:
    def check(value: Any) -> bool:
        return value in allowed

    _DESCRIBE[check] = "one of " + ", ".join(repr(a) for a in allowed)
    return check




@dataclass(frozen=True)
class EventSpec:
    """What one event `type` must carry and where it goes."""

    type: str
    topic: str
    key_fields: tuple[str, ...]
    required: Mapping[str, Check]
    optional: Mapping[str, Check]

    def key_of(self, event: Mapping[str, Any]) -> str:
        return "|".join(str(event[field]) for field in self.key_fields)


_COMMON: dict[str, Check] = {"ts": _is_int}

SPECS: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        EventSpec(
            "probe", "probe-events", ("trace_id",),
            {**_COMMON, "trace_id": _is_str, "role": _one_of("source", "sink"), "asset": _is_str},
            {"service": _is_str, "code_location": _is_str, "payload_b64": _is_str},
        ),
        EventSpec(
            "sql", "sql-job-logs", ("job_id",),
            {**_COMMON, "job_id": _is_str, "engine": _is_str, "query": _is_str},
            {"trace_id": _is_str, "namespace": _is_str, "default_schema": _is_str},
        ),
        EventSpec(
            "sql_io", "sql-job-logs", ("job_id",),
            {**_COMMON, "job_id": _is_str, "namespace": _is_str,
             "action": _one_of("READ", "WRITE"), "table": _is_str},
            {"trace_id": _is_str, "engine": _is_str, "columns": _is_str_list},
        ),
        EventSpec(
            "config", "config-events", ("config_id",),
            {**_COMMON, "config_id": _is_str,
             "kind": _one_of("feature", "training", "inference"), "config": _is_object},
            {},
        ),
        EventSpec(
            "static", "static-flows", ("source",),
            {**_COMMON, "source": _is_str, "sink": _is_str},
            {"code_location": _is_str, "analyzer": _is_str},
        ),
        EventSpec(
            "label", "asset-labels", ("asset",),
            {**_COMMON, "asset": _is_str, "labels": _is_str_list}, {},
        ),
        EventSpec(
            "policy", "policies", ("policy_id",),
            {**_COMMON, "policy_id": _is_str, "protects": _is_str_list, "deny": _is_str_list},
            {"min_confidence": _one_of("high", "medium", "low"),
             "mode": _one_of("log", "enforce"), "enforce_on": _is_sink_kinds,
             "fail_mode": _one_of("fail_open", "fail_closed"),
             "match": _one_of("request", "value")},
        ),
        EventSpec(
            "review", "reviews", ("policy_id", "asset"),
            {**_COMMON, "policy_id": _is_str, "asset": _is_str,
             "decision": _one_of("include", "exclude")},
            {"reviewer": _is_str, "reason": _is_str},
        ),
    )
}


def _describe(check: Check) -> str:
    return _DESCRIBE.get(check, "one of the allowed values")


def validate_event(event: Any, *, expected_topic: str | None = None) -> EventSpec:
    """Check an event's envelope and fields; return its spec (topic, key).

    >>> validate_event({"v": 1, "type": "static", "ts": 1, "source": "a", "sink": "b"}).topic
    'static-flows'
    """
    if not isinstance(event, dict):
        raise InvalidEvent("event is not a JSON object")
    if event.get("v") != 1 or isinstance(event.get("v"), bool):
        raise InvalidEvent("field 'v' must be 1")
    kind = event.get("type")
    if not isinstance(kind, str):
        raise InvalidEvent("field 'type' is missing or not a string")
    spec = SPECS.get(kind)
    if spec is None:
        raise InvalidEvent(f"unknown event type {kind[:40]!r}")
    if expected_topic is not None and spec.topic != expected_topic:
        raise InvalidEvent(f"event type {kind!r} does not belong on topic {expected_topic!r}")
    for field, check in spec.required.items():
        if field not in event:
            raise InvalidEvent(f"{kind}: missing field {field!r}")
        if not check(event[field]):
            raise InvalidEvent(f"{kind}: field {field!r} must be {_describe(check)}")
    for field, check in spec.optional.items():
        if field in event and event[field] is not None and not check(event[field]):
            raise InvalidEvent(f"{kind}: field {field!r} must be {_describe(check)}")
    if kind == "probe" and "payload" not in event and "payload_b64" not in event:
        raise InvalidEvent("probe: needs 'payload' or 'payload_b64'")
    return spec


def decode_event(raw: bytes | str | None) -> dict[str, Any]:
    """Parse one message or line with orjson; the reason never quotes the input."""
    if raw is None:
        raise InvalidEvent("empty message (tombstone) on an input topic")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not valid JSON (at char {exc.pos})") from None
    if not isinstance(event, dict):
        raise InvalidEvent("event is not a JSON object")
    return event
