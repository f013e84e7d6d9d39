"""Integration tests run against the real broker that `lineage kafka up` starts.

Each test gets its own topic prefix (and so its own topics and consumer group).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.localkafka.broker import PROJECT_ROOT, SECURE_PORT, LocalKafka
from streams.localkafka.probe import metadata_ok
from streams.settings import KafkaSecurity, Settings

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
#: Where `lineage kafka up --secure` keeps the secured broker (its --data-dir), and its
#: port (another one for a private broker: `LocalKafka(..., port=P, secure=True)`).
SECURE_DATA_DIR = Path(os.environ.get("LINEAGE_SECURE_KAFKA_DATA_DIR", PROJECT_ROOT / ".lineage"))
SECURE_KAFKA_PORT = int(os.environ.get("LINEAGE_SECURE_KAFKA_PORT", SECURE_PORT))


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


@pytest.fixture(scope="session")
def secure_kafka() -> LocalKafka:
    """The secured broker (SASL_SSL, SCRAM); its client files are under its data dir."""
    broker = dataclasses.replace(LocalKafka.secured(SECURE_DATA_DIR), port=SECURE_KAFKA_PORT)
    if not broker.answers(timeout=3.0):
        message = (f"no secured broker on {broker.bootstrap}: run `lineage kafka up --secure "
                   f"--data-dir {SECURE_DATA_DIR}`")
        if os.environ.get("LINEAGE_REQUIRE_SECURE_KAFKA"):
            pytest.fail(message)
        pytest.skip(message)
    return broker


@pytest.fixture()
def secure_settings(settings: Settings, secure_kafka: LocalKafka) -> Settings:
    """The test's prefix and data dir, on the secured broker with the SCRAM user."""
    return dataclasses.replace(
        settings, bootstrap_servers=secure_kafka.bootstrap,
        security=KafkaSecurity.from_env(secure_kafka.client_env()))
