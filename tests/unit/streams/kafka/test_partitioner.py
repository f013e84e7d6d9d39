"""The cached partitioner picks exactly the partitions Kafka's default one picks."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from streams.kafka.partitioner import CachedPartitioner


def test_same_partition_as_the_default_partitioner_for_every_key() -> None:
    cached = CachedPartitioner(max_keys=50)  # small: the memo is cleared along the way
    keys = [f"web://svc/in#f{n} -> http://ads/out#f{n % 7}".encode() for n in range(400)]
    for count in (1, 2, 4, 7):
        partitions = list(range(count))
        for key in keys + keys:  # the second round comes from the memo
            assert cached(key, partitions, partitions) == DefaultPartitioner()(
                key, partitions, partitions)
    assert len(cached._hashes) <= 50


def test_no_key_goes_to_an_available_partition() -> None:
    assert CachedPartitioner()(None, [0, 1, 2, 3], [2]) == 2
