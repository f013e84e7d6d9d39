"""The current lineage graph as read from the compacted `lineage-graph` topic."""

from __future__ import annotations

from typing import Any

import orjson

from streams.kafka.topic_reader import read_latest
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
