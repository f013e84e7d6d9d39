"""Code and topology.yaml name the same agents and topics."""

from __future__ import annotations

from analyzers.events import SPECS
from streams.pipeline.app import AGENT_NAMES, handlers
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import CONTRACT_TOPICS, load_topology


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
