"""The one place Kafka clients are built: consumers, producers, admin clients.

Every client of the project (worker, CLI, load test) comes from here, so what
all of them share (where the cluster is, and later how to authenticate) is
set once: the bootstrap servers and the security options
(streams/kafka/security.py). Callers pass aiokafka's own options for what differs: offsets,
fetch sizes, batching, timeouts.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from streams.kafka.security import aiokafka_options, librdkafka_config
from streams.settings import Settings


def new_consumer(
    settings: Settings, *topics: str, group_id: str | None = None, **options: Any,
) -> AIOKafkaConsumer:
    """A consumer of `settings`' cluster (not started), subscribed to `topics` if any.

    `topics` are physical names (`settings.topic(name)`); without a
    `group_id` the consumer belongs to no group and commits nothing.
    """
    return AIOKafkaConsumer(*topics, bootstrap_servers=settings.bootstrap_servers,
                            group_id=group_id, **aiokafka_options(settings.security), **options)


def new_producer(settings: Settings, **options: Any) -> AIOKafkaProducer:
    """A producer of `settings`' cluster (not started)."""
    return AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                            **aiokafka_options(settings.security), **options)


def new_confluent_producer(settings: Settings, **config: Any) -> Any:
    """A confluent-kafka (librdkafka) producer of `settings`' cluster.

    `config` holds librdkafka's own keys ("linger.ms", ...). It starts its
    threads at once but connects lazily; it has nothing to stop, only to flush.
    """
    from confluent_kafka import Producer  # only the workers that choose it load librdkafka

    return Producer({"bootstrap.servers": settings.bootstrap_servers,
                     **librdkafka_config(settings.security), **config})


def new_confluent_consumer(settings: Settings, group_id: str, **config: Any) -> Any:
    """A confluent-kafka (librdkafka) consumer of `settings`' cluster in group `group_id`.

    `config` holds librdkafka's own keys; its calls block (run them off the
    event loop).
    """
    from confluent_kafka import Consumer  # only the workers that choose it load librdkafka

    return Consumer({"bootstrap.servers": settings.bootstrap_servers,
                     **librdkafka_config(settings.security), "group.id": group_id, **config})


def confluent_topic_partitions(consumer: Any, timeout_s: float = 30) -> dict[str, list[int]]:
    """Every topic of the cluster with its partitions, as `topic_partitions` (blocks)."""
    metadata = consumer.list_topics(timeout=timeout_s)
    return {name: sorted(topic.partitions) for name, topic in metadata.topics.items()}


def new_admin(settings: Settings, **options: Any) -> AIOKafkaAdminClient:
    """An admin client of `settings`' cluster (not started)."""
    return AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                               **aiokafka_options(settings.security), **options)


async def topic_partitions(consumer: AIOKafkaConsumer) -> dict[str, list[int]]:
    """Every topic of the cluster with its partitions, from fresh metadata.

    `partitions_for_topic` only knows topics the consumer already tracks; an
    assign-only consumer tracks none until it is assigned, so ask the cluster.
    aiokafka has no public call for that: this is the one place that uses the
    consumer's client.
    """
    cluster = await consumer._client.fetch_all_metadata()
    return {topic: sorted(cluster.partitions_for_topic(topic) or ())
            for topic in cluster.topics()}
