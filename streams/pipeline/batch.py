"""The shape every agent shares: decode a batch, dead-letter the bad, apply per partition.

An agent body is a *handler*: `(tx, events) -> outputs`, given the validated
events of one input partition and a transaction on that partition's store.
The runner skips messages already reflected in the store (offset at or below
the stored one), sends the outputs, flushes the producer, then commits the
state together with the new offset. A redelivered batch after a crash is thus
skipped for state and, at worst, re-sends outputs (at-least-once).
"""

from __future__ import annotations

import bisect
import itertools
import logging
import operator
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from analyzers.events import InvalidEvent, decode_event, validate_event
from state.transaction import Transaction
from state.windows import EventTimeBounds
from streams.pipeline.deadletters import Origin, dead_letter_record, reason_class
from streams.pipeline.metrics import Metrics
from streams.pipeline.poison import Failure, attempt, exception_type, poison_reason
from streams.pipeline.record_run import RecordRun
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


EventHandler = Callable[[Transaction, list[InEvent]], list[Output]]


@runtime_checkable
class BatchDecodingHandler(Protocol):
    """A handler that decodes its own batch (the probe join: in Rust, no dict per event).

    `decode_batch` returns the handler's own items (for `__call__`; their
    `len` is the number of valid events) and the dead letters of the values it
    could not use, with the same reasons and metrics as `decode_messages`.
    """

    def decode_batch(self, messages: Sequence[Message], *, agent: str, metrics: Metrics,
                     bounds: EventTimeBounds | None = None) -> tuple[Any, list[Output]]:
        ...

    def __call__(self, tx: Transaction, events: Any) -> list[Output]: ...


Handler = EventHandler | BatchDecodingHandler


#: Checks a decoded event (raising InvalidEvent); its result rides on `InEvent.parsed`.
Validator = Callable[[dict[str, Any]], object]


def input_validator(topic: str) -> Validator:
    """The contract's envelope check for events read from `topic`."""
    return lambda event: validate_event(event, expected_topic=topic)


def record_time_ms(message: Message) -> int | None:
    """The Kafka record timestamp of `message` in ms, or None when it has none.

    aiokafka's records carry it as int milliseconds, Faust's messages as float
    seconds.
    """
    ts = getattr(message, "timestamp", None)
    if isinstance(ts, float):
        return int(ts * 1000)
    if isinstance(ts, int) and ts >= 0:
        return ts
    return None


_value_of = operator.attrgetter("value")


def message_values(messages: Sequence[Message]) -> list[bytes | None]:
    """The record values of `messages`, in order (a run's own column, not a copy: read
    it, do not change it; else a C-level `map`: no Python call per message)."""
    if type(messages) is RecordRun:
        return messages.values
    return list(map(_value_of, messages))


_timestamp_of = operator.attrgetter("timestamp")


def record_times_ms(messages: Sequence[Message]) -> list[int | None]:
    """`record_time_ms` of each message, except that a message without a timestamp
    may give a negative int instead of None (as `matcher_rs.ProbeBatch.bound` reads it).

    aiokafka's records all carry int milliseconds: such a batch is read with
    C-level `map`s, no Python call per message; a `RecordRun` has them as a column.
    """
    if type(messages) is RecordRun:
        return messages.timestamps
    try:
        stamps: list[Any] = list(map(_timestamp_of, messages))
    except AttributeError:
        return list(map(record_time_ms, messages))
    if set(map(type, stamps)) <= {int}:
        return stamps
    return list(map(record_time_ms, messages))


def decode_messages(
    messages: Sequence[Message], *, validate: Validator, agent: str, metrics: Metrics,
    bounds: EventTimeBounds | None = None,
) -> tuple[list[InEvent], list[Output]]:
    """Parse and validate each message; the bad ones become dead letters.

    With `bounds`, an event whose `ts` strays too far from its record
    timestamp is a dead letter too, before any window sees it.
    """
    good: list[InEvent] = []
    dead: list[Output] = []
    now = int(time.time() * 1000)
    for message in messages:
        try:
            event = decode_event(message.value)
            parsed = validate(event)
            ts = event.get("ts")
            if bounds is not None and isinstance(ts, int):
                refusal = bounds.refusal(ts, record_time_ms(message))
                if refusal is not None:
                    raise InvalidEvent(refusal)
        except InvalidEvent as exc:
            dead.append(message_dead_letter(message, exc.reason, now, agent))
            metrics.incr(f"{agent}.dead_letters")
            continue
        good.append(InEvent(event, message, parsed))
    return good, dead


def dead_letter(origin: Origin, reason: str, key: bytes | None, raw: bytes | None, ts: int,
                agent: str, record_ts: int | None = None) -> Output:
    record = dead_letter_record(origin, reason, key=key, value=raw, ts=ts, agent=agent,
                                record_ts=record_ts)
    return Output("dead-letters", origin.key.encode(), record)


def message_dead_letter(message: Message, reason: str, ts: int, agent: str) -> Output:
    """The dead letter of a whole message, with its origin and record timestamp."""
    origin = Origin(message.topic, message.partition, message.offset)
    return dead_letter(origin, reason, message.key, message.value, ts, agent,
                       record_time_ms(message))


_offset_of = operator.attrgetter("offset")


def group_by_partition(messages: Sequence[Message]) -> dict[int, Sequence[Message]]:
    """`messages` by partition, each partition's in the order given (the batch consumer
    needs none of this: a fetch comes grouped, `process_partitions`)."""
    by_partition: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_partition[message.partition].append(message)
    return dict(by_partition)


def fresh_partitions(
    by_partition: Mapping[int, Sequence[Message]], stores: StoreRegistry, agent: str,
) -> dict[int, tuple[Sequence[Message], int]]:
    """Each partition's messages not yet in its state, with the last offset among them.

    The offsets are read with C-level `map`s (a `RecordRun` has them, ascending):
    a fetch's records are rarely already applied, so the common case walks no
    message in Python.
    """
    fresh: dict[int, tuple[Sequence[Message], int]] = {}
    for partition, items in by_partition.items():
        if not items:
            continue
        done = stores.get(agent, items[0].topic, partition).offset()
        run = type(items) is RecordRun
        offsets = items.offsets if run else list(map(_offset_of, items))  # type: ignore[attr-defined]
        last = max(offsets)
        if last <= done:
            continue
        if min(offsets) <= done:
            items = (items[bisect.bisect_right(offsets, done):] if run
                     else [m for m, offset in zip(items, offsets, strict=True) if offset > done])
        fresh[partition] = (items, last)
    return fresh


def split_by_partition(
    messages: Sequence[Message], stores: StoreRegistry, agent: str,
) -> dict[int, tuple[Sequence[Message], int]]:
    """Group messages by partition, dropping those already in the partition's state."""
    return fresh_partitions(group_by_partition(messages), stores, agent)


def _count_dead_letters(agent: str, dead: list[Output], outputs: list[Output],
                        metrics: Metrics) -> None:
    """Dead letters by reason class (they are rare: reading their reason is cheap)."""
    for out in itertools.chain(dead, (o for o in outputs if o.topic == "dead-letters")):
        reason = orjson.loads(out.value or b"{}").get("reason", "")
        metrics.incr(f"{agent}.dead_letters.{reason_class(reason)}")


class OutputSink(Protocol):
    async def send(self, outputs: Sequence[Output]) -> None: ...
    async def flush(self) -> None: ...


@dataclass(frozen=True)
class InputRules:
    """What an agent refuses of hostile input (`event_time` and `poison` in topology.yaml).

    `bounds` is None for an agent whose events are not stamped by an outside
    clock (the edge merge's signals carry the time of their origin event).
    """

    bounds: EventTimeBounds | None = None
    attempts: int = 1


def _decode(handler: Handler, messages: Sequence[Message], *, agent: str, validate: Validator,
            metrics: Metrics, rules: InputRules) -> tuple[list[Any], list[Output]]:
    if isinstance(handler, BatchDecodingHandler):
        return handler.decode_batch(messages, agent=agent, metrics=metrics, bounds=rules.bounds)
    return decode_messages(messages, validate=validate, agent=agent, metrics=metrics,
                           bounds=rules.bounds)


def _handle(handler: Handler, tx: Transaction, events: list[Any], agent: str,
            metrics: Metrics) -> list[Output]:
    if not events:
        return []
    started = time.perf_counter()
    outputs = handler(tx, events)
    tx.prepare()  # a state write that fails is the handler's failure, before anything is sent
    metrics.observe(f"{agent}.handler", time.perf_counter() - started)
    return outputs


async def process_messages(
    messages: Sequence[Message], *, agent: str, validate: Validator,
    stores: StoreRegistry, handler: Handler, sink: OutputSink, metrics: Metrics,
    rules: InputRules = InputRules(),
) -> None:
    """One batch: skip what is already applied, decode, handle, send, flush, commit.

    A partition whose batch makes the handler raise is handled one record at a
    time instead (`_one_by_one`), so a poison pill costs one dead letter.
    """
    await process_partitions(group_by_partition(messages), agent=agent, validate=validate,
                             stores=stores, handler=handler, sink=sink, metrics=metrics,
                             rules=rules)


async def process_partitions(
    by_partition: Mapping[int, Sequence[Message]], *, agent: str, validate: Validator,
    stores: StoreRegistry, handler: Handler, sink: OutputSink, metrics: Metrics,
    rules: InputRules = InputRules(),
) -> None:
    """`process_messages` for a batch already grouped by partition (a fetch is)."""
    pending: list[tuple[Transaction, int]] = []
    for partition, (fresh, last_offset) in fresh_partitions(by_partition, stores, agent).items():
        store = stores.get(agent, fresh[0].topic, partition)
        tx = Transaction(store)
        try:
            events, dead = _decode(handler, fresh, agent=agent, validate=validate,
                                   metrics=metrics, rules=rules)
            outputs = _handle(handler, tx, events, agent, metrics)
        except Exception as exc:  # a poison pill somewhere in the batch
            log.warning("%s: handler raised %s on a batch of %s:%d; handling it one record "
                        "at a time", agent, exception_type(exc), fresh[0].topic, partition)
            metrics.incr(f"{agent}.handler_failures")
            await _one_by_one(fresh, agent=agent, validate=validate, store=store,
                              handler=handler, sink=sink, metrics=metrics, rules=rules)
            continue
        metrics.incr(f"{agent}.events", len(events))
        metrics.incr(f"{agent}.outputs", len(outputs))
        _count_dead_letters(agent, dead, outputs, metrics)
        await sink.send(dead + outputs)
        pending.append((tx, last_offset))
    if pending:
        await sink.flush()
    for tx, last_offset in pending:
        tx.commit(last_offset)


async def _one_by_one(
    messages: Sequence[Message], *, agent: str, validate: Validator, store: Any,
    handler: Handler, sink: OutputSink, metrics: Metrics, rules: InputRules,
) -> None:
    """Each record alone, up to `rules.attempts` times; one that still raises is a dead letter.

    Each record's outputs are flushed and its state committed with its offset
    before the next (the slow path: only after a batch raised).
    """
    quiet = Metrics()  # the batch's decode already counted its dead letters
    for message in messages:

        def step(message: Message = message) -> tuple[Transaction, list[Any], list[Output]]:
            tx = Transaction(store)
            events, dead = _decode(handler, [message], agent=agent, validate=validate,
                                   metrics=quiet, rules=rules)
            return tx, events, dead + _handle(handler, tx, events, agent, metrics)

        result = attempt(step, attempts=rules.attempts)
        if isinstance(result, Failure):
            reason = poison_reason(result)
            log.warning("%s: %s:%d:%d dead-lettered (%s)", agent, message.topic,
                        message.partition, message.offset, reason)
            metrics.incr(f"{agent}.poison_pills")
            tx, events = Transaction(store), list[Any]()
            outputs = [message_dead_letter(message, reason, int(time.time() * 1000), agent)]
        else:
            tx, events, outputs = result
        metrics.incr(f"{agent}.events", len(events))
        metrics.incr(f"{agent}.outputs", len(outputs))
        _count_dead_letters(agent, [], outputs, metrics)
        await sink.send(outputs)
        await sink.flush()
        tx.commit(message.offset)
