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
    agent: str = "",
) -> bytes:
    """The JSON value of a dead letter (see docs/EVENTS.md)."""
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
    return orjson.dumps(record)

