"""The batch consumer hands each topic's fetched records to its agent, once."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from stream_fixtures import MessageFactory, RecordingSink, signal_set

from streams.pipeline.agents.config_parsing import handle_config
from streams.pipeline.agents.static_intake import handle_static
from streams.pipeline.batch import input_validator
from streams.pipeline.batch_consumer import BatchAgent, BatchConsumer
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.settings import Settings

STATIC, CONFIG = "static-flows", "config-events"


def static(n: int) -> dict[str, Any]:
    return {"v": 1, "type": "static", "source": f"web://svc/in#f{n}",
            "sink": f"http://ads/out#f{n}", "ts": 1000}


def config(n: int) -> dict[str, Any]:
    return {"v": 1, "type": "config", "config_id": f"c{n}", "kind": "feature", "ts": 1000,
            "config": {"feature": f"F{n}", "sources": [f"hive://wh/db.t#c{n}"]}}


@pytest.fixture()
def consumer(stores: StoreRegistry, sink: RecordingSink, metrics: Metrics) -> BatchConsumer:
    agents = [BatchAgent("static-intake", STATIC, 500, 50, handle_static, input_validator(STATIC)),
              BatchAgent("config-parsing", CONFIG, 200, 20, handle_config,
                         input_validator(CONFIG))]
    return BatchConsumer(Settings(), agents, stores=stores, sink=sink, metrics=metrics)


async def test_each_topic_goes_to_its_agent_and_each_partition_is_committed(
        consumer: BatchConsumer, stores: StoreRegistry, sink: RecordingSink,
        metrics: Metrics) -> None:
    statics, configs = MessageFactory(STATIC), MessageFactory(CONFIG)
    fetched = {
        TopicPartition(STATIC, 0): [statics(static(1)), statics(static(2))],
        TopicPartition(STATIC, 1): [statics(static(3), partition=1)],
        TopicPartition(CONFIG, 0): [configs(config(1))],
    }
    await consumer.process(fetched)  # type: ignore[arg-type]

    edges = {edge for edge, _kind in signal_set(sink.on("flow-signals"))}
    assert {f"web://svc/in#f{n} -> http://ads/out#f{n}" for n in (1, 2, 3)} <= edges
    assert any(edge.startswith("hive://wh/db.t#c1 -> ") for edge in edges)
    assert stores.get("static-intake", STATIC, 0).offset() == 1
    assert stores.get("static-intake", STATIC, 1).offset() == 0
    assert stores.get("config-parsing", CONFIG, 0).offset() == 0
    assert metrics.snapshot()["static-intake.events"] == 3

    sink.clear()
    await consumer.process(fetched)  # type: ignore[arg-type]  # redelivered after a crash
    assert sink.outputs == []


def test_batch_size_and_wait_come_from_the_agents(consumer: BatchConsumer) -> None:
    assert consumer.max_records == 500
    assert consumer.within_ms == 20


def test_a_batch_consumer_needs_an_agent(stores: StoreRegistry, sink: RecordingSink,
                                         metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="at least one agent"):
        BatchConsumer(Settings(), [], stores=stores, sink=sink, metrics=metrics)
