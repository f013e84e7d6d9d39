"""The topics of a prefix on the real broker: created from topology.yaml, deleted by prefix."""

from __future__ import annotations

import dataclasses

import pytest

from streams.kafka.clients import new_admin
from streams.kafka.topics import delete_prefixed_topics, ensure_topics
from streams.pipeline.topology import load_topology
from streams.settings import Settings


async def _names(settings: Settings) -> set[str]:
    admin = new_admin(settings)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_deleting_a_prefix_leaves_every_other_topic(settings: Settings) -> None:
    other = dataclasses.replace(settings, topic_prefix=f"{settings.topic_prefix[:-1]}x-")
    topology = load_topology()
    created = await ensure_topics(settings, topology)
    kept = await ensure_topics(other, topology)
    assert created and kept

    deleted = await delete_prefixed_topics(settings)

    assert deleted == sorted(created)  # the contract's topics and Faust's leader topic
    names = await _names(settings)
    assert not {n for n in names if n.startswith(settings.topic_prefix)}
    assert set(kept) <= names
    assert await delete_prefixed_topics(settings) == []
    await delete_prefixed_topics(other)


async def test_no_prefix_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="without a topic prefix"):
        await delete_prefixed_topics(dataclasses.replace(settings, topic_prefix=""))
