"""A local single-node Apache Kafka (KRaft) assembled from Maven Central jars."""

from __future__ import annotations

from streams.localkafka.broker import LocalKafka, LocalKafkaError

__all__ = ["LocalKafka", "LocalKafkaError"]
