"""Dead-letter records keep the original bytes and the reason, keyed by origin."""

from __future__ import annotations

import base64

import orjson

from streams.pipeline.deadletters import Origin, dead_letter_record


def test_record_keeps_original_bytes() -> None:
    raw = b"\xff\xfenot json at all"
    record = orjson.loads(dead_letter_record(
        Origin("probe-events", 3, 1234), "not valid JSON (at char 0)",
        key=b"t-1", value=raw, ts=99, agent="probe-join",
    ))
    assert record["origin"] == "probe-events:3:1234"
    assert base64.b64decode(record["value_b64"]) == raw
    assert base64.b64decode(record["key_b64"]) == b"t-1"
    assert record["reason"] == "not valid JSON (at char 0)"
    assert record["agent"] == "probe-join"
    assert record["v"] == 1 and record["type"] == "dead_letter"


def test_tombstone_keeps_null_value() -> None:
    record = orjson.loads(dead_letter_record(Origin("t", 0, 0), "r", key=None, value=None, ts=0))
    assert record["value_b64"] is None and record["key_b64"] is None

