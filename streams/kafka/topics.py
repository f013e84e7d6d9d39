"""The topics of topology.yaml on a cluster under a prefix: created, or deleted."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.kafka.clients import new_admin
from streams.pipeline.topology import TopicSpec, Topology
from streams.settings import Settings

log = logging.getLogger(__name__)


def topic_configs(spec: TopicSpec) -> dict[str, str]:
    configs: dict[str, str] = {"cleanup.policy": spec.cleanup_policy}
    if spec.cleanup_policy == "delete" or spec.retention_ms != -1:
        configs["retention.ms"] = str(spec.retention_ms)
    return configs


def new_topics(settings: Settings, topology: Topology) -> list[NewTopic]:
    leader = NewTopic(  # Faust's own; made here so a first start logs no error for it
        name=f"{settings.group_id}-__assignor-__leader", num_partitions=1,
        replication_factor=1, topic_configs={"cleanup.policy": "delete"},
    )
    return [leader, *[
        NewTopic(
            name=settings.topic(name),
            num_partitions=spec.partitions,
            replication_factor=1,
            topic_configs=topic_configs(spec),
        )
        for name, spec in topology.topics.items()
    ]]


async def ensure_topics(settings: Settings, topology: Topology) -> list[str]:
    """Create every missing topic; return the names created now."""
    admin = new_admin(settings, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in new_topics(settings, topology) if t.name not in existing]
        created: list[str] = []
        for topic in wanted:
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        if wanted:
            await _until_led(admin, [t.name for t in wanted])
        return created
    finally:
        await admin.close()


async def delete_prefixed_topics(settings: Settings) -> list[str]:
    """Delete every topic whose name starts with `settings.topic_prefix` (the pipeline's
    topics under it and Faust's own); return their names, sorted.

    Raises ValueError without a prefix: that would be every topic of the cluster.
    """
    prefix = settings.topic_prefix
    if not prefix:
        raise ValueError("refusing to delete topics without a topic prefix")
    admin = new_admin(settings, request_timeout_ms=15000)
    await admin.start()
    try:
        names = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


async def _until_led(admin: AIOKafkaAdminClient, names: list[str],
                     timeout_s: float = 30.0) -> None:
    """Wait until every partition of `names` has a leader in the cluster's metadata.

    A consumer that subscribes before then finds the topic missing and (Faust)
    leaves it out of its subscription for good: on a broker started a moment
    ago, a worker would miss whole input topics.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        if all(t["error_code"] == 0 and t["partitions"]
               and all(p["leader"] >= 0 for p in t["partitions"]) for t in described):
            return
        if time.monotonic() > deadline:
            log.warning("topics without a leader after %.0f s: %s", timeout_s,
                        sorted(t["topic"] for t in described if t["error_code"] != 0))
            return
        await asyncio.sleep(0.2)
