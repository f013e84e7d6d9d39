"""The librdkafka sink against the real broker: every output lands, where Kafka's clients put it.

Keys must land on the partition Kafka's Java clients (and aiokafka with
`CachedPartitioner`) choose, or a trace's records would be split across
partitions and the joins downstream would miss each other.
"""

from __future__ import annotations

import pytest

from streams.kafka.partitioner import CachedPartitioner
from streams.kafka.topics import ensure_topics
from streams.pipeline.batch import Output
from streams.pipeline.sink import ConfluentSink
from streams.pipeline.topology import load_topology
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic


@pytest.mark.asyncio
async def test_every_output_lands_on_the_java_clients_partition(settings: Settings) -> None:
    topology = load_topology()
    await ensure_topics(settings, topology)
    partitions = list(range(topology.topics["flow-signals"].partitions))
    assert len(partitions) > 1
    outputs = [Output("flow-signals", f"web://svc-{i}/route#f->hive://w/t{i}".encode(),
                      b'{"n":%d}' % i) for i in range(300)]
    outputs.append(Output("flow-signals", b"tombstoned-edge", None))
    sink = ConfluentSink(settings, linger_ms=5)
    await sink.send(outputs[:150])
    await sink.send(outputs[150:])
    await sink.flush()

    records = await read_topic(settings.bootstrap_servers, settings.topic("flow-signals"),
                               expect=len(outputs))
    by_key = {r.key: r for r in records}
    assert len(records) == len(outputs) and set(by_key) == {o.key for o in outputs}
    assert by_key[b"tombstoned-edge"].value is None
    java_partition = CachedPartitioner()
    for out in outputs:
        assert by_key[out.key].partition == java_partition(out.key, partitions, partitions)
        assert by_key[out.key].value == out.value

