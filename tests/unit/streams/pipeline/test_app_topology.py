"""Code and topology.yaml name the same agents, topics and services."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from analyzers.events import SPECS, InvalidEvent
from analyzers.openlineage import kind_of
from analyzers.signals import parse_signal
from streams.graph.replica import TOPIC as GRAPH_TOPIC
from streams.pipeline.app import AGENT_NAMES, build_app, handlers, validator_for
from streams.pipeline.metrics import Metrics
from streams.pipeline.sink import ConfluentSink, ProducerSink, make_sink
from streams.pipeline.topology import CONTRACT_TOPICS, ProducerSpec, TopologyError, load_topology
from streams.policy.inputs import INPUT_TOPICS
from streams.settings import Settings


def test_every_agent_in_code_is_configured_and_vice_versa() -> None:
    topology = load_topology()
    assert set(handlers(topology, Metrics())) == set(AGENT_NAMES) == set(topology.agents)


def test_agents_read_declared_topics() -> None:
    topology = load_topology()
    for agent in topology.agents.values():
        assert agent.topic in topology.topics


def test_every_event_type_routes_to_a_declared_contract_topic() -> None:
    topology = load_topology()
    for spec in SPECS.values():
        assert spec.topic in CONTRACT_TOPICS
        assert topology.topics[spec.topic].key == "|".join(spec.key_fields)


def test_validators_derive_from_the_topic_each_agent_reads() -> None:
    topology = load_topology()
    wired = handlers(topology, Metrics())
    assert wired["edge-merge"][1] is parse_signal
    assert wired["openlineage-intake"][1] is kind_of  # OpenLineage's own events, no envelope
    for name, (_handler, validate) in wired.items():
        topic = topology.agents[name].topic
        if topic not in ("flow-signals", "openlineage-events"):
            # an input event of another topic is refused
            other = next(s for s in SPECS.values() if s.topic != topic)
            with pytest.raises(InvalidEvent, match=f"does not belong on topic '{topic}'"):
                validate({"v": 1, "type": other.type, "ts": 1})


def test_an_agent_the_code_lacks_or_an_unread_topic_is_named() -> None:
    topology = load_topology()
    extra = dict(topology.agents, ghost=topology.agents["edge-merge"])
    with pytest.raises(TopologyError, match=r"agents\.ghost: the code has no such agent"):
        handlers(dataclasses.replace(topology, agents=extra), Metrics())
    with pytest.raises(TopologyError, match="lineage-graph"):
        validator_for("lineage-graph")


def test_services_match_what_the_code_reads() -> None:
    services = load_topology().services
    assert services.graph_replica.topic == GRAPH_TOPIC  # the CLI's replica reads the same
    assert set(services.policy_monitor.inputs) == set(INPUT_TOPICS)
    assert services.policy_monitor.output == "policy-violations"


def test_the_producer_section_reaches_both_clients(tmp_path: Path) -> None:
    """`producer.linger_ms` and `max_batch_bytes` are the Faust app's too (the aiokafka
    sink sends through its producer)."""
    topology = dataclasses.replace(load_topology(), producer=ProducerSpec("aiokafka", 17, 9000))
    pipeline = build_app(Settings(data_dir=tmp_path), topology)
    assert pipeline.app.conf.producer_linger == 0.017
    assert pipeline.app.conf.producer_max_batch_size == 9000
    assert isinstance(make_sink(topology.producer, pipeline.settings, pipeline.app.producer),
                      ProducerSink)
    confluent = make_sink(ProducerSpec("confluent", 17), pipeline.settings, None)
    assert isinstance(confluent, ConfluentSink) and confluent.config["linger.ms"] == 17
