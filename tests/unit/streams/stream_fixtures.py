"""Plain helpers for the stream handler tests: fake messages, a recording sink, decoders."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.pipeline.batch import Handler, InputRules, Output, Validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry


@dataclass
class FakeMessage:
    """What `process_messages` reads of a Faust message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    #: The Kafka record timestamp in ms, as aiokafka gives it (None: not stamped).
    timestamp: int | None = None


class FlushFailed(RuntimeError):
    """The producer could not deliver: the batch must not be committed."""


@dataclass
class RecordingSink:
    """An `OutputSink` that keeps every output and a log of sends and flushes.

    `on_flush`, when set, is called at each flush and its result kept in
    `seen_at_flush` (e.g. the store offsets, to check the commit comes after).
    """

    outputs: list[Output] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    on_flush: Callable[[], Any] | None = None
    seen_at_flush: list[Any] = field(default_factory=list)
    fail_flush: bool = False

    async def send(self, outputs: Sequence[Output]) -> None:
        self.outputs += outputs
        self.log.append(f"send:{len(outputs)}")

    async def flush(self) -> None:
        self.log.append("flush")
        if self.on_flush is not None:
            self.seen_at_flush.append(self.on_flush())
        if self.fail_flush:
            raise FlushFailed("broker unreachable")

    def on(self, topic: str) -> list[Output]:
        return [o for o in self.outputs if o.topic == topic]

    def clear(self) -> None:
        self.outputs.clear()
        self.log.clear()
        self.seen_at_flush.clear()


@dataclass
class Runner:
    """One agent run through `process_messages` with real stores and a recording sink."""

    agent: str
    handler: Handler
    validate: Validator
    stores: StoreRegistry
    sink: RecordingSink
    metrics: Metrics
    rules: InputRules = field(default_factory=InputRules)

    async def __call__(self, messages: Sequence[FakeMessage]) -> list[Output]:
        """Process one batch; return the outputs it sent."""
        before = len(self.sink.outputs)
        await process_messages(
            messages, agent=self.agent, validate=self.validate, stores=self.stores,
            handler=self.handler, sink=self.sink, metrics=self.metrics, rules=self.rules,
        )
        return self.sink.outputs[before:]


class MessageFactory:
    """Messages on one topic with rising offsets per partition (unless given)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.next_offset: dict[int, int] = {}

    def __call__(self, value: dict[str, Any] | bytes | None, *, partition: int = 0,
                 offset: int | None = None, key: bytes | None = None,
                 timestamp: int | None = None) -> FakeMessage:
        if offset is None:
            offset = self.next_offset.get(partition, 0)
        self.next_offset[partition] = max(self.next_offset.get(partition, 0), offset + 1)
        raw = orjson.dumps(value) if isinstance(value, dict) else value
        return FakeMessage(self.topic, partition, offset, key, raw, timestamp)


def body(output: Output) -> dict[str, Any]:
    assert output.value is not None
    decoded: dict[str, Any] = orjson.loads(output.value)
    return decoded


def signal_set(outputs: Sequence[Output]) -> set[tuple[str, str]]:
    """(edge id, kind) of every flow signal among `outputs`, checking each key."""
    found = set()
    for out in outputs:
        if out.topic != "flow-signals":
            continue
        signal = body(out)
        edge = f"{signal['src']} -> {signal['dst']}"
        assert out.key == edge.encode()
        found.add((edge, signal["kind"]))
    return found


def dead_letters(outputs: Sequence[Output]) -> list[dict[str, Any]]:
    return [body(o) for o in outputs if o.topic == "dead-letters"]


def original_bytes(letter: dict[str, Any]) -> bytes:
    return base64.b64decode(letter["value_b64"])
