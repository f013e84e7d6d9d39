"""The shape every agent shares: decode a batch, dead-letter the bad, apply per partition.

An agent body is a *handler*: `(tx, events) -> outputs`, given the validated
events of one input partition and a transaction on that partition's store.
The runner skips messages already reflected in the store (offset at or below
the stored one), sends the outputs, flushes the producer, then commits the
state together with the new offset. A redelivered batch after a crash is thus
skipped for state and, at worst, re-sends outputs (at-least-once).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from analyzers.events import InvalidEvent, decode_event, validate_event
from state.transaction import Transaction
from streams.pipeline.deadletters import Origin, dead_letter_record
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Output:
    """One message to produce: a contract topic name (unprefixed), key and value."""

    topic: str
    key: bytes
    value: bytes | None


class Message(Protocol):
    topic: str
    partition: int
    offset: int
    key: Any
    value: Any


@dataclass(frozen=True, slots=True)
class InEvent:
    """A validated input event with the message it came in.

    `parsed` is what the agent's validator returned: for the edge merge the
    `FlowSignal` itself, so a signal is checked and built once.
    """

    event: dict[str, Any]
    message: Message
    parsed: object = None

    @property
    def origin(self) -> Origin:
        """Where the event came from (made when asked: only dead letters need it)."""
        message = self.message
        return Origin(message.topic, message.partition, message.offset)

    @property
    def key(self) -> bytes | None:
        key: bytes | None = self.message.key
        return key

    @property
    def raw(self) -> bytes:
        raw: bytes = self.message.value
        return raw


Handler = Callable[[Transaction, list[InEvent]], list[Output]]


#: Checks a decoded event (raising InvalidEvent); its result rides on `InEvent.parsed`.
Validator = Callable[[dict[str, Any]], object]


def input_validator(topic: str) -> Validator:
    """The contract's envelope check for events read from `topic`."""
    return lambda event: validate_event(event, expected_topic=topic)


def decode_messages(
    messages: Sequence[Message], *, validate: Validator, agent: str, metrics: Metrics,
) -> tuple[list[InEvent], list[Output]]:
    """Parse and validate each message; the bad ones become dead letters."""
    good: list[InEvent] = []
    dead: list[Output] = []
    now = int(time.time() * 1000)
    for message in messages:
        try:
            event = decode_event(message.value)
            parsed = validate(event)
        except InvalidEvent as exc:
            origin = Origin(message.topic, message.partition, message.offset)
            dead.append(dead_letter(origin, exc.reason, message.key, message.value, now, agent))
            metrics.incr(f"{agent}.dead_letters")
            continue
        good.append(InEvent(event, message, parsed))
    return good, dead


def dead_letter(origin: Origin, reason: str, key: bytes | None, raw: bytes | None, ts: int,
                agent: str) -> Output:
    record = dead_letter_record(origin, reason, key=key, value=raw, ts=ts, agent=agent)
    return Output("dead-letters", origin.key.encode(), record)


def split_by_partition(
    messages: Sequence[Message], stores: StoreRegistry, agent: str,
) -> dict[int, tuple[list[Message], int]]:
    """Group messages by partition, dropping those already in the partition's state."""
    by_partition: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_partition[message.partition].append(message)
    fresh: dict[int, tuple[list[Message], int]] = {}
    for partition, items in by_partition.items():
        topic = items[0].topic
        done = stores.get(agent, topic, partition).offset()
        new = [m for m in items if m.offset > done]
        if new:
            fresh[partition] = (new, max(m.offset for m in new))
    return fresh


class OutputSink(Protocol):
    async def send(self, outputs: Sequence[Output]) -> None: ...
    async def flush(self) -> None: ...


async def process_messages(
    messages: Sequence[Message], *, agent: str, validate: Validator,
    stores: StoreRegistry, handler: Handler, sink: OutputSink, metrics: Metrics,
) -> None:
    """One batch: skip what is already applied, decode, handle, send, flush, commit."""
    pending: list[tuple[Transaction, int]] = []
    for partition, (fresh, last_offset) in split_by_partition(messages, stores, agent).items():
        events, dead = decode_messages(fresh, validate=validate, agent=agent, metrics=metrics)
        tx = Transaction(stores.get(agent, fresh[0].topic, partition))
        outputs = handler(tx, events) if events else []
        metrics.incr(f"{agent}.events", len(events))
        metrics.incr(f"{agent}.outputs", len(outputs))
        await sink.send(dead + outputs)
        pending.append((tx, last_offset))
    if pending:
        await sink.flush()
    for tx, last_offset in pending:
        tx.commit(last_offset)
