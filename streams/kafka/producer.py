"""Produce validated input events to their topics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from analyzers.events import InvalidEvent, decode_event, validate_event
from streams.kafka.clients import new_producer
from streams.settings import Settings


@dataclass
class SendReport:
    """What `send_lines` did: per-topic counts and the bad lines with reasons."""

    sent: Counter[str] = field(default_factory=Counter)
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())


def make_producer(settings: Settings) -> AIOKafkaProducer:
    """The producer of the CLI's sends: idempotent, acks from all replicas, batched."""
    return new_producer(
        settings,
        linger_ms=20,
        max_batch_size=256 * 1024,
        compression_type="lz4" if _has_lz4() else None,
        acks="all",
        enable_idempotence=True,
    )


def _has_lz4() -> bool:
    try:
        import lz4  # noqa: F401
    except ImportError:
        return False
    return True


async def send_lines(
    producer: AIOKafkaProducer,
    settings: Settings,
    lines: Iterable[bytes],
    *,
    on_line: Callable[[int], None] | None = None,
) -> SendReport:
    """Validate each JSONL line and produce it keyed per the contract.

    A bad line is recorded with its 1-based number and reason and not sent;
    blank lines are skipped. Delivery is awaited before returning.
    """
    report = SendReport()
    pending = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if on_line is not None:
            on_line(number)
        if not line:
            continue
        try:
            event = decode_event(line)
            spec = validate_event(event)
        except InvalidEvent as exc:
            report.bad.append((number, exc.reason))
            continue
        topic = settings.topic(spec.topic)
        key = spec.key_of(event).encode()
        pending.append(await producer.send(topic, value=line, key=key))
        report.sent[spec.topic] += 1
        if len(pending) >= 10_000:
            for fut in pending:
                await fut
            pending.clear()
    for fut in pending:
        await fut
    return report
