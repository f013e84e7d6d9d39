"""Create the topics of topology.yaml on a cluster, honouring the prefix."""

from __future__ import annotations

from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.kafka.clients import new_admin
from streams.pipeline.topology import TopicSpec, Topology
from streams.settings import Settings


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
        return created
    finally:
        await admin.close()
