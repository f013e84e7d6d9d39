"""The zones and rules enforcement reads: `policies` and `policy-zones`, followed.

`KafkaZoneFeed` reads both topics (every partition, from the beginning, no
consumer group) to their end, then follows them, in one daemon thread with
the probes' own Kafka client (librdkafka's C consumer, never captured).
After each batch it swaps in a new `ZoneIndex`. Every `health_s` it asks
the broker for a watermark; when no answer came for `stale_after_s`
(`LINEAGE_PROBE_ENFORCE_STALE_S`, 10 s), or the
topics were never read to their end, the feed is not `available()` and each
policy's `fail_mode` decides (enforcer.py). A forked child (gunicorn
workers) keeps the parent's last index and starts its own thread.

`StaticZones` is the same surface fed by hand, for tests and dry runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Protocol

from lineage_probes import counters
from lineage_probes.config import ProbeConfig
from lineage_probes.enforcement.index import EMPTY, ZoneIndex, ZoneState
from lineage_probes.security import count_error

log = logging.getLogger("lineage_probes.enforcement")


class ZoneSource(Protocol):
    index: ZoneIndex
    ready: threading.Event

    def available(self) -> bool: ...
    def start(self) -> None: ...
    def close(self) -> None: ...


class StaticZones:
    """A `ZoneSource` set by hand: `update(state)`, `set_available(False)`."""

    def __init__(self, state: ZoneState | None = None, *, available: bool = True) -> None:
        self.index = EMPTY if state is None else state.snapshot()
        self.ready = threading.Event()
        self._available = available
        if available:
            self.ready.set()

    def update(self, state: ZoneState) -> None:
        self.index = state.snapshot()
        self.ready.set()

    def set_available(self, available: bool) -> None:
        self._available = available

    def available(self) -> bool:
        return self._available

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None


class KafkaZoneFeed:
    """`policies` + `policy-zones` read to the end, then followed, in a daemon thread."""

    health_s = 2.0

    def __init__(self, cfg: ProbeConfig, *, stale_after_s: float | None = None) -> None:
        self.cfg = cfg
        self.topics = (f"{cfg.topic_prefix}policies", f"{cfg.topic_prefix}policy-zones")
        self.stale_after_s = cfg.enforce_stale_s if stale_after_s is None else stale_after_s
        self.index: ZoneIndex = EMPTY
        self.ready = threading.Event()
        self._last_ok = 0.0
        # monotonic time until which the zones count as available: the last answer
        # plus `stale_after_s` once read to the end, 0 before (one compare per check)
        self._fresh_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._restart_in_child)

    def available(self) -> bool:
        return time.monotonic() < self._fresh_until

    def _answered(self) -> None:
        """The broker answered: the zones are fresh for `stale_after_s` more (once read)."""
        self._last_ok = time.monotonic()
        if self.ready.is_set():
            self._fresh_until = self._last_ok + self.stale_after_s

    def start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lineage-probes-zones",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    def _restart_in_child(self) -> None:
        if self._thread is not None and not self._stop.is_set():
            self.start()

    # -- the thread ------------------------------------------------------------
    def _consumer(self) -> Any:
        from confluent_kafka import cimpl

        return cimpl.Consumer({
            **self.cfg.security.librdkafka(),  # the producer's login (security.py)
            "bootstrap.servers": self.cfg.bootstrap_servers,
            "group.id": f"lineage-probes-zones-{self.cfg.service}",  # never joined: assign()
            "client.id": f"lineage-probes-zones-{self.cfg.service}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "error_cb": _on_error,
            "log_level": 2,
        })

    def _run(self) -> None:
        while not self._stop.is_set():
            consumer = None
            try:
                consumer = self._consumer()
                self._follow(consumer)
            except Exception as exc:  # broker unreachable, topic gone: retry, never die
                counters.incr("enforcement_feed_errors")
                if not self._warned:
                    self._warned = True
                    log.warning("lineage-probes: cannot read policy zones (%s); each policy's "
                                "fail_mode applies until they can be read", type(exc).__name__)
                self._stop.wait(1.0)
            finally:
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:
                        counters.incr("enforcement_feed_errors")

    def _assignment(self, consumer: Any) -> list[Any]:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        metadata = consumer.list_topics(timeout=5)
        return [TopicPartition(topic, p, OFFSET_BEGINNING)
                for topic in self.topics if topic in metadata.topics
                for p in sorted(metadata.topics[topic].partitions)]

    def _follow(self, consumer: Any) -> None:
        from confluent_kafka import KafkaError, KafkaException

        state = ZoneState()
        parts = self._assignment(consumer)
        consumer.assign(parts)
        at_end = {(tp.topic, tp.partition) for tp in parts}
        for tp in parts:  # empty partitions send no EOF until something arrives
            low, high = consumer.get_watermark_offsets(tp, timeout=5)
            if high > low:
                at_end.discard((tp.topic, tp.partition))
        self._answered()
        next_health = next_topics = time.monotonic() + self.health_s
        while not self._stop.is_set():
            messages = consumer.consume(500, timeout=0.5)
            changed = False
            for message in messages:
                err = message.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        at_end.add((message.topic(), message.partition()))
                        continue
                    raise KafkaException(err)
                if message.topic() == self.topics[0]:
                    state.apply_policy(message.key(), message.value())
                else:
                    state.apply_member(message.key(), message.value())
                changed = True
            reached = len(at_end) >= len(parts)
            if reached and (changed or not self.ready.is_set()):
                self.index = state.snapshot()
                if not self.ready.is_set():
                    self._fresh_until = self._last_ok + self.stale_after_s
                    self.ready.set()
                    log.info("lineage-probes: enforcing %d policies", len(self.index.rules))
            now = time.monotonic()
            if now >= next_health:
                next_health = now + self.health_s
                if parts:
                    consumer.get_watermark_offsets(parts[0], timeout=self.health_s)
                else:
                    consumer.list_topics(timeout=self.health_s)
                self._answered()
                self._warned = False
            if len(parts) < 2 and now >= next_topics:  # a topic made after we started
                next_topics = now + 5 * self.health_s
                if len(self._assignment(consumer)) > len(parts):
                    return  # start over with every partition


def _on_error(err: Any) -> None:
    count_error(err, "enforcement_kafka_errors")
