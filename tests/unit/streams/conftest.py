"""Fixtures for the stream handlers: real RocksDB stores in tmp_path, a recording sink."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from stream_fixtures import MessageFactory, RecordingSink, Runner

from streams.pipeline.batch import Handler, Validator
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import Topology, load_topology


@pytest.fixture()
def stores(tmp_path: Path) -> Iterator[StoreRegistry]:
    registry = StoreRegistry(tmp_path / "state")
    yield registry
    registry.close()


@pytest.fixture()
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture()
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture(scope="session")
def topology() -> Topology:
    return load_topology()


@pytest.fixture()
def make_runner(stores: StoreRegistry, sink: RecordingSink,
                metrics: Metrics) -> Callable[[str, Handler, Validator], Runner]:
    def factory(agent: str, handler: Handler, validate: Validator) -> Runner:
        return Runner(agent, handler, validate, stores, sink, metrics)

    return factory


@pytest.fixture()
def make_messages() -> Callable[[str], MessageFactory]:
    return MessageFactory
