"""Kafka: `aiokafka` `AIOKafkaProducer.send` and `AIOKafkaConsumer.getone` / `getmany`.

The value is captured as the application gave it (before its serializer).
"""

from __future__ import annotations

from typing import Any

from lineage_probes import context, kafkacapture, naming
from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches, Probe


def _bootstrap(client_owner: Any) -> Any:
    client = getattr(client_owner, "_client", None)
    return getattr(client, "_bootstrap_servers", "") or ""


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import aiokafka
    except ImportError:
        return False
    probe = Probe("aiokafka")
    original_send = aiokafka.AIOKafkaProducer.send
    original_getone = aiokafka.AIOKafkaConsumer.getone
    original_getmany = aiokafka.AIOKafkaConsumer.getmany

    async def send(self: Any, topic: str, value: Any = None, key: Any = None, partition: Any = None,
                   timestamp_ms: Any = None, headers: Any = None) -> Any:
        trace = context.CURRENT.get()
        if trace is not None and probe.enabled:
            headers = kafkacapture.guard_produce(rec, probe, trace,
                                                 naming.kafka(_bootstrap(self), topic), headers,
                                                 value)
            try:
                headers = kafkacapture.with_traceparent(headers, trace.child_traceparent())
                if trace.sampled and value is not None:
                    rec.sink(trace, naming.kafka(_bootstrap(self), topic),
                             kafkacapture.value_payload(value), kind="kafka")
            except Exception as exc:
                probe.fail(exc)
        return await original_send(self, topic, value, key, partition, timestamp_ms, headers)

    def seen(consumer: Any, message: Any) -> None:
        if not probe.enabled:
            return
        try:
            kafkacapture.consumed(rec, naming.kafka(_bootstrap(consumer), message.topic),
                                  message.headers, message.value)
        except Exception as exc:
            probe.fail(exc)

    async def getone(self: Any, *partitions: Any) -> Any:
        message = await original_getone(self, *partitions)
        seen(self, message)
        return message

    async def getmany(self: Any, *partitions: Any, **kwargs: Any) -> Any:
        batches = await original_getmany(self, *partitions, **kwargs)
        for messages in batches.values():
            for message in messages:
                seen(self, message)
        return batches

    patches.patch(aiokafka.AIOKafkaProducer, "send", send)
    patches.patch(aiokafka.AIOKafkaConsumer, "getone", getone)
    patches.patch(aiokafka.AIOKafkaConsumer, "getmany", getmany)
    return True
