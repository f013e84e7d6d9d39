"""The one door to Kafka: topic creation, partitioner, producer, reading a compacted topic."""
