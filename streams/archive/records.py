"""One archived or replayed Kafka record, independent of where it was read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """A record of a contract topic (unprefixed name) at its original coordinates."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # epoch ms, the record's Kafka timestamp
    key: bytes | None
    value: bytes | None  # None is a tombstone
