"""topology.yaml loading: the real file loads; every kind of mistake is named."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.pipeline.topology import (
    COMPACTED_TOPICS,
    CONTRACT_TOPICS,
    DEFAULT_PATH,
    TopologyError,
    load_topology,
    parse_topology,
    write_consumer_variant,
)


@pytest.fixture()
def doc() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PATH.read_text())


def test_project_topology_loads_every_contract_topic() -> None:
    topology = load_topology()
    for name in CONTRACT_TOPICS:
        assert name in topology.topics
    for name in COMPACTED_TOPICS:
        assert topology.topics[name].cleanup_policy == "compact"
    assert topology.topics["probe-events"].key == "trace_id"
    assert topology.windows.trace.size_ms > 0


def test_loaded_topology_is_frozen() -> None:
    topology = load_topology()
    with pytest.raises(AttributeError):
        topology.windows.trace.size_ms = 1  # type: ignore[misc]


def _error(doc: dict[str, Any]) -> str:
    with pytest.raises(TopologyError) as info:
        parse_topology(doc, "t.yaml")
    return str(info.value)


def test_unknown_top_level_key_is_named(doc: dict[str, Any]) -> None:
    doc["surprise"] = 1
    assert _error(doc) == "t.yaml: surprise: unknown key"


def test_unknown_nested_key_is_named(doc: dict[str, Any]) -> None:
    doc["windows"]["trace"]["sizee_ms"] = 5
    assert _error(doc) == "t.yaml: windows.trace.sizee_ms: unknown key"


def test_missing_key_is_named(doc: dict[str, Any]) -> None:
    del doc["caps"]["job"]["max_bytes"]
    assert _error(doc) == "t.yaml: caps.job.max_bytes: missing"


def test_wrong_type_is_named(doc: dict[str, Any]) -> None:
    doc["topics"]["probe-events"]["partitions"] = "four"
    assert _error(doc) == "t.yaml: topics.probe-events.partitions: expected an integer, got str"


def test_boolean_is_not_an_integer(doc: dict[str, Any]) -> None:
    doc["sql"]["cache_size"] = True
    assert "sql.cache_size: expected an integer" in _error(doc)


def test_out_of_range_value_is_named(doc: dict[str, Any]) -> None:
    doc["windows"]["job"]["size_ms"] = 0
    assert _error(doc) == "t.yaml: windows.job.size_ms: must be positive"


def test_bad_enum_value_is_named(doc: dict[str, Any]) -> None:
    doc["topics"]["policies"]["cleanup_policy"] = "forever"
    assert "topics.policies.cleanup_policy: 'forever' is not one of" in _error(doc)


def test_unknown_transform_is_named(doc: dict[str, Any]) -> None:
    doc["matcher"]["transforms"] = ["lowercase", "rot13"]
    assert "matcher.transforms[1]: 'rot13' is not one of" in _error(doc)


def test_contract_topic_cannot_be_dropped(doc: dict[str, Any]) -> None:
    del doc["topics"]["dead-letters"]
    assert _error(doc) == "t.yaml: topics.dead-letters: missing (the contract names this topic)"


def test_compacted_topic_must_stay_compacted(doc: dict[str, Any]) -> None:
    doc["topics"]["lineage-graph"]["cleanup_policy"] = "delete"
    assert _error(doc) == "t.yaml: topics.lineage-graph.cleanup_policy: must be 'compact'"


def test_agent_must_read_a_declared_topic(doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    broken["agents"]["probe-join"]["topic"] = "nowhere"
    assert _error(broken) == "t.yaml: agents.probe-join.topic: unknown topic 'nowhere'"


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read"):
        load_topology(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: [unclosed")
    with pytest.raises(TopologyError, match="not valid YAML"):
        load_topology(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(TopologyError, match="top level: expected a mapping"):
        load_topology(empty)


def test_env_var_selects_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  doc: dict[str, Any]) -> None:
    doc["sql"]["cache_size"] = 7
    path = tmp_path / "alt.yaml"
    path.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("LINEAGE_TOPOLOGY", str(path))
    assert load_topology().sql.cache_size == 7


def test_consumer_defaults_to_the_faust_stream(doc: dict[str, Any]) -> None:
    for agent in doc["agents"].values():
        agent.pop("consumer", None)
    topology = parse_topology(doc)
    assert {a.consumer for a in topology.agents.values()} == {"stream"}


def test_project_topology_reads_the_volume_agents_in_batches() -> None:
    agents = load_topology().agents
    assert agents["probe-join"].consumer == "batch"
    assert agents["edge-merge"].consumer == "batch"


def test_bad_consumer_is_named(doc: dict[str, Any]) -> None:
    doc["agents"]["probe-join"]["consumer"] = "polling"
    assert "agents.probe-join.consumer: 'polling' is not one of" in _error(doc)


def test_consumer_variant_sets_every_agent(tmp_path: Path) -> None:
    path = write_consumer_variant("stream", tmp_path / "v")
    variant = load_topology(path)
    assert {a.consumer for a in variant.agents.values()} == {"stream"}
    assert variant.topics == load_topology().topics
    assert variant.producer == load_topology().producer
    sends = load_topology(write_consumer_variant("batch", tmp_path / "a", producer="confluent"))
    assert (sends.producer.client, sends.producer.linger_ms) == ("confluent", 5)
    assert sends.batch_consumer == load_topology().batch_consumer
    fetch = load_topology(write_consumer_variant(None, tmp_path / "f", batch_client="confluent"))
    assert (fetch.batch_consumer.client, fetch.producer) == ("confluent", load_topology().producer)
    assert fetch.agents == load_topology().agents  # None leaves each agent's consumer
    objects = load_topology(write_consumer_variant(None, tmp_path / "o", records="objects"))
    assert (objects.batch_consumer.records, objects.batch_consumer.client) == (
        "objects", load_topology().batch_consumer.client)
    assert load_topology().batch_consumer.records == "columns"


def test_services_are_declared_and_frozen() -> None:
    services = load_topology().services
    assert services.graph_replica.topic == "lineage-graph"
    assert services.policy_monitor.inputs == ("asset-labels", "policies", "reviews")
    with pytest.raises(dataclasses.FrozenInstanceError):
        services.graph_replica.batch_size = 1  # type: ignore[misc]


def test_service_mistakes_are_named(doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    broken["services"]["policy_monitor"]["inputs"].append("nowhere")
    assert _error(broken) == ("t.yaml: services.policy_monitor.inputs[3]: "
                              "unknown topic 'nowhere'")
    broken = copy.deepcopy(doc)
    broken["services"]["graph_replica"]["topic"] = "flow-signals"
    assert "services.graph_replica.topic: 'flow-signals' is not a compacted" in _error(broken)
    broken = copy.deepcopy(doc)
    broken["services"]["policy_monitor"]["leader_poll_ms"] = 0
    assert _error(broken) == "t.yaml: services.policy_monitor.leader_poll_ms: must be positive"
    broken = copy.deepcopy(doc)
    del broken["services"]["http_api"]
    assert _error(broken) == "t.yaml: services.http_api: missing"


@pytest.mark.parametrize(("section", "value", "message"), [
    ("event_time", {"max_future_ms": -1, "max_age_ms": 604800000},
     "event_time.max_future_ms: must not be negative"),
    ("event_time", {"max_future_ms": 1000, "max_age_ms": 0},
     "event_time.max_age_ms: must be positive, or -1 for no bound"),
    ("event_time", {"max_future_ms": 1000, "max_age_ms": 1000},
     "event_time.max_age_ms: must be at least the longest window"),
    ("poison", {"attempts": 0}, "poison.attempts: must be positive"),
])
def test_hostile_input_bounds_are_checked(doc: dict[str, Any], section: str,
                                          value: dict[str, int], message: str) -> None:
    doc[section] = value
    with pytest.raises(TopologyError, match=message):
        parse_topology(doc)


def test_hostile_input_sections_have_defaults(doc: dict[str, Any]) -> None:
    del doc["event_time"], doc["poison"]
    topology = parse_topology(doc)
    assert topology.event_time.max_future_ms > 0 and topology.poison.attempts >= 1
    doc["event_time"] = {"max_future_ms": 0, "max_age_ms": -1}
    assert parse_topology(doc).event_time.max_age_ms == -1


def test_project_topology_sends_and_fetches_through_aiokafka() -> None:
    producer = load_topology().producer
    assert (producer.client, producer.linger_ms) == ("aiokafka", 5)
    assert load_topology().batch_consumer.client == "aiokafka"


def test_batch_consumer_defaults_to_aiokafka_and_is_checked(doc: dict[str, Any]) -> None:
    del doc["batch_consumer"]
    assert parse_topology(doc).batch_consumer.client == "aiokafka"
    doc["batch_consumer"] = {"client": "kafka-python"}
    assert "batch_consumer.client: 'kafka-python' is not one of" in _error(doc)
    doc["batch_consumer"] = {"client": "confluent", "fetch_ms": 5}
    assert _error(doc) == "t.yaml: batch_consumer.fetch_ms: unknown key"
    doc["batch_consumer"] = {"client": "aiokafka", "fetch_min_bytes": 0}
    assert _error(doc) == "t.yaml: batch_consumer.fetch_min_bytes: must be positive"
    doc["batch_consumer"] = {"client": "aiokafka", "fetch_max_wait_ms": 0}
    assert _error(doc) == "t.yaml: batch_consumer.fetch_max_wait_ms: must be positive"


def test_the_batch_consumer_waits_for_a_mebibyte_and_the_producer_batches_more() -> None:
    """The project's fetch and batch sizes (issue 21, round 6), not Kafka's defaults."""
    topology = load_topology()
    fetch = topology.batch_consumer
    assert (fetch.fetch_min_bytes, fetch.fetch_max_wait_ms) == (1_048_576, 200)
    assert topology.producer.max_batch_bytes == 262_144


def test_producer_defaults_to_the_faust_producer_and_is_checked(doc: dict[str, Any]) -> None:
    del doc["producer"]
    assert parse_topology(doc).producer.client == "aiokafka"
    doc["producer"] = {"client": "kafka-python", "linger_ms": 5}
    assert "producer.client: 'kafka-python' is not one of" in _error(doc)
    doc["producer"] = {"client": "confluent", "linger_ms": -1}
    assert _error(doc) == "t.yaml: producer.linger_ms: must be 0 or more"
    doc["producer"] = {"client": "confluent", "linger_ms": 5, "max_batch_bytes": 0}
    assert _error(doc) == "t.yaml: producer.max_batch_bytes: must be positive"
