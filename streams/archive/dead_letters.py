"""Dead letters back to their original topics, so an analyzer upgrade can re-run what failed.

A dead letter (streams/pipeline/deadletters.py, docs/EVENTS.md) keeps its
origin (`topic`, `partition`), the original key and value (base64) and, since
the event-time bounds, the original record timestamp (`record_ts`). Each one
selected is sent as a `Record` of its original topic and partition with that
key, value and timestamp, through the same `Replayer` as a history replay.
A dead letter whose origin lies outside the pipeline's prefix, or that holds
no value (a tombstone), is counted and skipped, never guessed at.

>>> import orjson
>>> letter = orjson.dumps({"topic": "p.sql-job-logs", "partition": 1, "offset": 7,
...                        "reason": "sql analysis: 1 of 1 statement(s) failed (#0: x)",
...                        "key_b64": "ams=", "value_b64": "e30=", "record_ts": 5})
>>> to_record(letter, prefix="p.", topics={"sql-job-logs"})
Record(topic='sql-job-logs', partition=1, offset=7, timestamp=5, key=b'jk', value=b'{}')
>>> reason_matches("SQL analysis: 1 of 1 failed", "sql%failed"), reason_matches("x", "y")
(True, False)
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field

import orjson

from streams.archive.records import Record
from streams.archive.replay import Replayer, ReplayReport
from streams.archive.source import KafkaHistory, PartitionRange

TOPIC = "dead-letters"


def reason_matches(reason: str, like: str | None) -> bool:
    """Whether `reason` contains `like`, case-insensitive; `%` in `like` matches any text.

    >>> reason_matches("event time: ts is 5 ms ahead", "event time%ahead")
    True
    """
    if like is None:
        return True
    pattern = ".*".join(re.escape(part) for part in like.split("%"))
    return re.search(pattern, reason, flags=re.IGNORECASE | re.DOTALL) is not None


class Unusable(ValueError):
    """A dead letter that cannot be sent back; the message is the skip cause."""


def _b64(letter: dict[str, object], name: str) -> bytes | None:
    raw = letter.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Unusable(f"{name} is not a string")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise Unusable(f"{name} is not base64") from None


def to_record(value: bytes | None, *, prefix: str, topics: Collection[str],
              like: str | None = None) -> Record | None:
    """The record to send back for one dead letter; None when `like` does not select it.

    Raises `Unusable` (the skip cause) for a dead letter that cannot be sent back.
    """
    try:
        letter = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        raise Unusable("not a dead letter (not JSON)") from None
    if not isinstance(letter, dict):
        raise Unusable("not a dead letter (not an object)")
    if not reason_matches(str(letter.get("reason", "")), like):
        return None
    origin, partition = letter.get("topic"), letter.get("partition")
    if not isinstance(origin, str) or not isinstance(partition, int):
        raise Unusable("no origin topic and partition")
    if not origin.startswith(prefix) or origin[len(prefix):] not in topics:
        raise Unusable("origin outside this pipeline's topics")
    payload = _b64(letter, "value_b64")
    if payload is None:
        raise Unusable("no value (a tombstone)")
    record_ts = letter.get("record_ts")
    offset = letter.get("offset")
    return Record(topic=origin[len(prefix):], partition=partition,
                  offset=offset if isinstance(offset, int) else -1,
                  timestamp=record_ts if isinstance(record_ts, int) else -1,
                  key=_b64(letter, "key_b64"), value=payload)


@dataclass
class DeadLetterReport:
    """What one dead-letter replay did: sent per topic, and why the others were not."""

    replay: ReplayReport
    read: int = 0
    not_selected: int = 0
    unusable: Counter[str] = field(default_factory=Counter)


async def plan(history: KafkaHistory, since_ms: int | None) -> list[PartitionRange]:
    """The dead letters to read: all still held (or from `since_ms`), up to the end as of now."""
    bounds = await history.bounds(TOPIC)
    starts = await history.offsets_since(TOPIC, since_ms) if since_ms is not None else {}
    ranges = []
    for partition, (first, end) in sorted(bounds.items()):
        start = first if since_ms is None else starts.get(partition)
        ranges.append(PartitionRange(TOPIC, partition, end if start is None else start, end))
    return ranges


async def replay_dead_letters(history: KafkaHistory, ranges: list[PartitionRange],
                              replayer: Replayer, *, topics: Collection[str],
                              like: str | None = None,
                              on_read: Callable[[int], None] | None = None) -> DeadLetterReport:
    """Send each selected dead letter of `ranges` back to its original topic and partition.

    `on_read` is told how many dead letters each fetched batch held (progress).
    """
    started = time.monotonic()
    report = DeadLetterReport(replayer.report)
    batches: AsyncIterator[list[Record]] = history.read(ranges)
    async for letters in batches:
        if on_read is not None:
            on_read(len(letters))
        for letter in letters:
            report.read += 1
            try:
                record = to_record(letter.value, prefix=history.prefix, topics=topics,
                                   like=like)
            except Unusable as exc:
                report.unusable[str(exc)] += 1
                continue
            if record is None:
                report.not_selected += 1
                continue
            await replayer.send(record)
    await replayer.drain()
    report.replay.seconds = time.monotonic() - started
    return report
