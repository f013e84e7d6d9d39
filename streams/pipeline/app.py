"""The Faust app, built from topology.yaml: topics, agents, the shared plumbing.

Each agent reads raw bytes in batches, as a Faust agent (`take_events`) or,
with `consumer: batch`, through the worker's `BatchConsumer` (whole fetches), and
hands them to `streams.pipeline.batch.process_messages` with its handler; handlers live in
`streams.pipeline.agents.*` and call the analyzers, the matcher and the state layer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import faust

from analyzers.events import SPECS
from analyzers.openlineage import kind_of
from analyzers.signals import parse_signal
from state.windows import EventTimeBounds
from streams.console import worker_console
from streams.graph.api import ApiConfig
from streams.graph.service import GraphService
from streams.kafka.partitioner import CachedPartitioner
from streams.kafka.security import faust_credentials
from streams.observability.server import MetricsService
from streams.openlineage import agent as openlineage_agent
from streams.openlineage.intake import add_lineage_routes
from streams.pipeline.agents import (
    config_parsing,
    edge_merge,
    probe_join,
    sql_analysis,
    static_intake,
)
from streams.pipeline.batch import (
    Handler,
    InputRules,
    OutputSink,
    Validator,
    input_validator,
    process_messages,
)
from streams.pipeline.batch_consumer import BatchAgent, BatchConsumer
from streams.pipeline.metrics import Metrics
from streams.pipeline.restore import StateRestorer
from streams.pipeline.sink import make_sink
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import Topology, TopologyError
from streams.policy.monitor import PolicyMonitor
from streams.settings import Settings

log = logging.getLogger("lineage.worker")

HandlerFactory = Callable[[Topology, Metrics], Handler]

#: The handler of each agent the code defines, by the agent's name (its module's AGENT).
HANDLERS: Mapping[str, HandlerFactory] = {
    probe_join.AGENT: probe_join.ProbeJoin,
    sql_analysis.AGENT: sql_analysis.SqlAnalysis,
    config_parsing.AGENT: lambda topology, metrics: config_parsing.handle_config,
    static_intake.AGENT: lambda topology, metrics: static_intake.handle_static,
    openlineage_agent.AGENT: openlineage_agent.OpenLineageIntake,
    edge_merge.AGENT: edge_merge.EdgeMerge,
}
#: The agents the code defines; topology.yaml configures exactly these (a test checks).
AGENT_NAMES = tuple(HANDLERS)
#: The internal topic of flow signals, read by the edge merge.
SIGNALS_TOPIC = "flow-signals"
_INPUT_TOPICS = frozenset(spec.topic for spec in SPECS.values())


@dataclass
class Pipeline:
    """The app with everything its agents share."""

    app: faust.App
    settings: Settings
    topology: Topology
    metrics: Metrics = field(default_factory=Metrics)
    topics: dict[str, Any] = field(default_factory=dict)
    stores: StoreRegistry | None = None
    graph: GraphService | None = None
    policy: PolicyMonitor | None = None


def validator_for(topic: str) -> Validator:
    """What an agent reading `topic` checks: the contract's envelope of an input topic,
    or the flow signal itself (parsed once) on the signals topic."""
    if topic == SIGNALS_TOPIC:
        return parse_signal
    if topic == openlineage_agent.TOPIC:  # OpenLineage's own events: no envelope
        return kind_of
    if topic in _INPUT_TOPICS:
        return input_validator(topic)
    raise TopologyError(f"topology.yaml: no event of the contract is read from {topic!r}")


def input_rules(topology: Topology, topic: str) -> InputRules:
    """What the agent reading `topic` refuses: event-time bounds on the contract's input
    topics (their `ts` comes from an outside clock), poison pills everywhere."""
    bounds = None
    if topic in _INPUT_TOPICS:
        spec = topology.event_time
        bounds = EventTimeBounds(spec.max_future_ms, spec.max_age_ms)
    return InputRules(bounds=bounds, attempts=topology.poison.attempts)


def handlers(topology: Topology, metrics: Metrics) -> dict[str, tuple[Handler, Validator]]:
    """Each agent of topology.yaml: its handler, and the validator of the topic it reads."""
    out: dict[str, tuple[Handler, Validator]] = {}
    for name, spec in topology.agents.items():
        factory = HANDLERS.get(name)
        if factory is None:
            raise TopologyError(f"topology.yaml: agents.{name}: the code has no such agent "
                                f"(known: {', '.join(AGENT_NAMES)})")
        out[name] = (factory(topology, metrics), validator_for(spec.topic))
    return out


def build_app(
    settings: Settings, topology: Topology, *, web_port: int | None = None,
    graph_api: ApiConfig | None = None, metrics_api: ApiConfig | None = None,
) -> Pipeline:
    brokers = [f"kafka://{host.strip()}" for host in settings.bootstrap_servers.split(",")]
    app = faust.App(
        settings.group_id,
        broker=brokers,
        broker_credentials=faust_credentials(settings.security),
        datadir=str(settings.data_dir / "faust"),
        store="memory://",
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_replication_factor=1,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
        producer_linger=topology.producer.linger_ms / 1000,  # seconds; both clients honour it
        producer_partitioner=CachedPartitioner(),
        producer_max_batch_size=topology.producer.max_batch_bytes,
        broker_commit_every=1000,
        # A worker killed without leaving the group holds its partitions until
        # the session times out; keep that short so a restart resumes quickly.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=8192,
    )
    pipeline = Pipeline(app=app, settings=settings, topology=topology)
    for name, spec in topology.topics.items():
        pipeline.topics[name] = app.topic(
            settings.topic(name), key_type=bytes, value_type=bytes,
            key_serializer="raw", value_serializer="raw",
            partitions=spec.partitions, allow_empty=True,
        )
    stores = StoreRegistry(settings.data_dir / "state")
    pipeline.stores = stores
    sink = make_sink(topology.producer, settings, app.producer)
    batch_agents: list[BatchAgent] = []
    for name, (handler, validate) in handlers(topology, pipeline.metrics).items():
        agent = topology.agents[name]
        if agent.consumer == "batch":
            batch_agents.append(BatchAgent(name, settings.topic(agent.topic), agent.batch_size,
                                           agent.batch_within_ms, handler, validate,
                                           input_rules(topology, agent.topic)))
            continue
        app.agent(pipeline.topics[agent.topic], name=name, concurrency=agent.concurrency)(
            _agent_body(name, agent.batch_size, agent.batch_within_ms / 1000, handler, validate,
                        stores, sink, pipeline.metrics, input_rules(topology, agent.topic))
        )
    if batch_agents:
        trace = topology.windows.trace
        restorer = StateRestorer(
            settings, stores, pipeline.metrics,
            static_verification_ms=topology.windows.static_verification_ms,
            replay_ms={probe_join.AGENT: trace.size_ms + trace.allowed_lateness_ms})
        batch = BatchConsumer(settings, batch_agents, stores=stores, sink=sink,
                              metrics=pipeline.metrics, restorer=restorer,
                              spec=topology.batch_consumer)

        @app.task
        async def batch_agents_task() -> None:
            await batch.run()

    services = topology.services
    pipeline.graph = GraphService(settings, services.graph_replica, api=graph_api)
    pipeline.graph.add_routes(lambda web_app, _graph, _token: add_lineage_routes(web_app, settings))
    pipeline.graph.add_routes(worker_console(settings))
    pipeline.graph.install(app)
    pipeline.policy = PolicyMonitor(settings, services.policy_monitor, pipeline.graph, sink,
                                    pipeline.metrics, is_leader=app.is_leader)
    pipeline.policy.install(app)

    if metrics_api is not None:
        MetricsService(metrics_api).install(pipeline)

    @app.timer(interval=30.0)
    async def report_metrics() -> None:
        log.info("metrics %s", pipeline.metrics.snapshot())

    return pipeline


def _agent_body(
    name: str, batch_size: int, within_s: float, handler: Handler, validate: Validator,
    stores: StoreRegistry, sink: OutputSink, metrics: Metrics, rules: InputRules,
) -> Callable[[Any], AsyncIterator[None]]:
    async def body(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(batch_size, within_s):
            await process_messages(
                [event.message for event in events], agent=name, validate=validate,
                stores=stores, handler=handler, sink=sink, metrics=metrics, rules=rules,
            )
            yield None

    body.__name__ = name.replace("-", "_")
    return body
