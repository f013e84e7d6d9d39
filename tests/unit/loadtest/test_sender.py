"""Prepared events: stamped at send time, they are the generated events, routed as `send` does."""

from __future__ import annotations

import orjson
from aiokafka.partitioner import DefaultPartitioner

from loadtest.sender import BatchSender
from loadtest.workload import generate
from streams.settings import Settings


class _Producer:
    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2, 3}


async def test_a_prepared_event_is_the_event_at_its_send_time() -> None:
    sender = BatchSender(_Producer(), Settings(topic_prefix="p-"))  # type: ignore[arg-type]
    workload = generate(5)
    for event in workload.request(0) + workload.background(0):
        prepared = await sender.prepare(event)
        stamped = orjson.loads(prepared.value(1_700_000_000_000))
        assert stamped == {**event, "ts": 1_700_000_000_000 + event["ts"]}
        key = (event.get("trace_id") or event.get("job_id")).encode()
        assert prepared.key == key
        assert prepared.partition == DefaultPartitioner()(key, [0, 1, 2, 3], [0, 1, 2, 3])
        assert prepared.topic.startswith("p-")
