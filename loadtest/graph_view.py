"""The current lineage graph as read from the compacted `lineage-graph` topic."""

from __future__ import annotations

from typing import Any

import orjson

from streams.kafka.clients import new_consumer
from streams.kafka.topic_reader import assign_from_beginning, batches_to_end, read_latest
from streams.settings import Settings


async def current_edges(settings: Settings) -> dict[str, dict[str, Any]]:
    """Live edges by edge id (deleted edges left out)."""
    edges: dict[str, dict[str, Any]] = {}
    for key, value in (await read_latest(settings, "lineage-graph")).items():
        if value is None:
            continue
        delta = orjson.loads(value)
        if delta.get("op") == "upsert":
            edges[key.decode()] = delta
    return edges


async def version_histories(settings: Settings) -> dict[str, list[int]]:
    """Every version each edge's deltas carried on `lineage-graph`, in topic order
    (what compaction has not removed yet): a version must never go backwards."""
    consumer = new_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    histories: dict[str, list[int]] = {}
    try:
        await assign_from_beginning(consumer, [settings.topic("lineage-graph")])
        async for batch in batches_to_end(consumer):
            for records in batch.values():
                for record in records:
                    if record.key is not None and record.value is not None:
                        histories.setdefault(record.key.decode(), []).append(
                            orjson.loads(record.value)["version"])
    finally:
        await consumer.stop()
    return histories
