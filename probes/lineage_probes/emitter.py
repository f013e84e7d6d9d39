"""The door to Kafka: captures to the `probe-events` topic, keyed by trace id.

librdkafka (confluent-kafka) runs inside the application: `produce` only
appends to its bounded in-process queue and returns; its own threads batch
and send. When the queue is full (Kafka slow or down) the capture is dropped
and counted, never waited for. A small daemon thread serves the client's
callbacks. The client is made on first use, and again in a forked child
(gunicorn workers), where the parent's librdkafka threads do not exist.

It logs in with the pipeline's security settings (`security.py`, checked at
`instrument()`). A refused login or an untrusted broker certificate is
counted (`kafka_errors.auth`, `kafka_errors.tls`) and warned once; the
captures queue up, then time out or are dropped when the queue is full. A
client librdkafka will not make (a TLS file changed since `instrument()`)
drops every capture of the process, counted (`dropped_no_client`).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Protocol

from lineage_probes import counters
from lineage_probes.config import ProbeConfig
from lineage_probes.security import count_error

log = logging.getLogger("lineage_probes.kafka")


class Emitter(Protocol):
    def send(self, key: bytes, value: bytes) -> None: ...
    def send_to(self, topic: str, key: bytes, value: bytes) -> None: ...
    def close(self, timeout: float = 2.0) -> None: ...


class KafkaEmitter:
    def __init__(self, cfg: ProbeConfig) -> None:
        self._cfg = cfg
        self._lock = threading.Lock()
        self._producer: Any = None
        self._pid = 0
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._failed_pid = 0  # the process in which librdkafka refused to make the client

    def _client(self) -> Any:
        producer = self._producer
        if producer is not None and self._pid == os.getpid():
            return producer
        with self._lock:
            if self._producer is None or self._pid != os.getpid():
                if self._failed_pid == os.getpid():
                    return None
                try:
                    self._producer = self._make()
                except Exception as exc:  # e.g. a TLS file librdkafka cannot load
                    self._failed_pid = os.getpid()
                    counters.incr("kafka_client_errors")
                    log.warning("lineage-probes: no Kafka producer (%s); captures are dropped",
                                type(exc).__name__)
                    return None
                self._pid = os.getpid()
                self._stop = threading.Event()
                self._poller = threading.Thread(target=self._serve, args=(self._producer,),
                                                name="lineage-probes-kafka", daemon=True)
                self._poller.start()
            return self._producer

    def _make(self) -> Any:
        # The C class itself: the confluent_kafka probe replaces the module's
        # `Producer` name with a probed subclass, which must not see our sends.
        from confluent_kafka import cimpl

        cfg = self._cfg
        return cimpl.Producer({
            **cfg.security.librdkafka(),
            "bootstrap.servers": cfg.bootstrap_servers,
            "client.id": f"lineage-probes-{cfg.service}",
            "linger.ms": 100,
            "queue.buffering.max.messages": cfg.queue_messages,
            "queue.buffering.max.kbytes": cfg.queue_kbytes,
            "message.timeout.ms": 30_000,
            # none: the pipeline (aiokafka) may lack the lz4 codec, and batches are small
            "compression.type": "none",
            "error_cb": _on_error,
            "on_delivery": _on_delivery,
            # connection failures are counted by error_cb, not printed on every retry
            "log_level": 2,
        })

    def _serve(self, producer: Any) -> None:
        while not self._stop.is_set():
            try:
                producer.poll(0.2)
            except Exception as exc:  # never let the thread die on a callback error
                counters.incr("kafka_poll_errors")
                log.debug("lineage-probes: poll failed (%s)", type(exc).__name__)

    def send(self, key: bytes, value: bytes) -> None:
        self.send_to(self._cfg.topic, key, value)

    def send_to(self, topic: str, key: bytes, value: bytes) -> None:
        """A record to another topic of the prefix (enforcement events), same queue."""
        client = self._client()
        if client is None:
            counters.incr("dropped_no_client")
            return
        try:
            client.produce(topic, value=value, key=key)
        except BufferError:
            counters.incr("dropped_queue_full")
        else:
            counters.incr("queued")

    def close(self, timeout: float = 2.0) -> None:
        producer = self._producer
        if producer is None or self._pid != os.getpid():
            return
        self._stop.set()
        left = producer.flush(timeout)
        if left:
            counters.incr("dropped_at_close", left)
        self._producer = None


def _on_error(err: Any) -> None:
    count_error(err, "kafka_errors")


def _on_delivery(err: Any, msg: Any) -> None:
    counters.incr("delivery_failed" if err is not None else "delivered")


class MemoryEmitter:
    """Keeps what would be sent, for tests and dry runs (`instrument(emitter=...)`)."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []
        self.other: list[tuple[str, bytes, bytes]] = []  # send_to: (topic, key, value)

    def send(self, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))

    def send_to(self, topic: str, key: bytes, value: bytes) -> None:
        self.other.append((topic, key, value))

    def close(self, timeout: float = 2.0) -> None:
        return None
