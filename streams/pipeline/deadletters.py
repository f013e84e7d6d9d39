"""Dead letters: every input that cannot be used, with its reason and bytes.

The record keeps the original key and value base64-encoded so that nothing is
lost; the reason comes from a validator and never quotes the value.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Origin:
    """Where a message came from: the dead letter's key."""

    topic: str
    partition: int
    offset: int

    @property
    def key(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def dead_letter_record(
    origin: Origin, reason: str, *, key: bytes | None, value: bytes | None, ts: int,
    agent: str = "", record_ts: int | None = None,
) -> bytes:
    """The JSON value of a dead letter (see docs/EVENTS.md).

    `record_ts`, the original record's Kafka timestamp, lets `lineage replay
    --dead-letters` send the value back with it (the event-time bounds compare
    an event's `ts` with it).
    """
    record: dict[str, Any] = {
        "v": 1,
        "type": "dead_letter",
        "origin": origin.key,
        "topic": origin.topic,
        "partition": origin.partition,
        "offset": origin.offset,
        "agent": agent,
        "reason": reason,
        "key_b64": base64.b64encode(key).decode() if key is not None else None,
        "value_b64": base64.b64encode(value).decode() if value is not None else None,
        "ts": ts,
    }
    if record_ts is not None:
        record["record_ts"] = record_ts
    return orjson.dumps(record)



def window_refusal(window: str, late: bool) -> str:
    """The dead-letter reason of an event its window did not take: late (its window
    already closed by the watermark) or over the window's caps (`caps` of topology.yaml).

    >>> window_refusal("trace", late=True)
    'window: late, its trace window is already closed'
    """
    if late:
        return f"window: late, its {window} window is already closed"
    return f"window: over the caps of its {window} window"


#: The classes of dead-letter reasons, for metrics (a reason itself may hold numbers).
REASON_CLASSES = ("malformed", "envelope", "schema", "payload", "event_time", "analysis",
                  "handler", "window", "other")


def reason_class(reason: str) -> str:
    """The class of a dead letter's reason: a fixed, small set of label values.

    >>> reason_class("not valid JSON (at char 3)"), reason_class("probe: missing field 'ts'")
    ('malformed', 'schema')
    >>> reason_class("handler: raised KeyError on each of 3 attempts")
    'handler'

    """
    text = reason.lower()
    if text.startswith("event time:"):
        return "event_time"
    if text.startswith("sql analysis:"):
        return "analysis"
    if text.startswith("handler:"):
        return "handler"
    if text.startswith("window:"):
        return "window"
    if "json" in text or "tombstone" in text or "empty message" in text:
        return "malformed"
    if "field 'v'" in text or "field 'type'" in text or "event type" in text:
        return "envelope"
    if "payload" in text:
        return "payload"
    if "missing field" in text or "must be" in text:
        return "schema"
    return "other"
