"""Integration tests run against the real broker that `lineage kafka up` starts.

Each test gets its own topic prefix (and so its own topics and consumer group).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.localkafka.probe import metadata_ok
from streams.settings import Settings

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def bootstrap() -> str:
    host, _, port = BOOTSTRAP.split(",")[0].rpartition(":")
    if not metadata_ok(host, int(port), timeout=3.0):
        pytest.fail(f"no Kafka broker on {BOOTSTRAP}: run `lineage kafka up` first")
    return BOOTSTRAP


@pytest.fixture()
def settings(bootstrap: str, tmp_path: Path) -> Iterator[Settings]:
    prefix = f"it-{uuid.uuid4().hex[:10]}-"
    yield Settings(bootstrap_servers=bootstrap, topic_prefix=prefix, data_dir=tmp_path / "data")
