from pathlib import Path

import pytest

from streams.cli.kafka_cmd import _local
from streams.settings import Settings


def _settings(bootstrap: str, tmp_path: Path) -> Settings:
    return Settings(bootstrap_servers=bootstrap, topic_prefix="", data_dir=tmp_path)


def test_the_default_broker(tmp_path: Path) -> None:
    local = _local(_settings("127.0.0.1:9092", tmp_path))
    assert (local.port, local.controller_port, local.home) == (9092, 9093, tmp_path / "kafka")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_local_port_gets_its_own_broker_and_data(tmp_path: Path, host: str) -> None:
    local = _local(_settings(f"{host}:39192", tmp_path))
    assert (local.port, local.controller_port) == (39192, 39193)
    default = _local(_settings("127.0.0.1:9092", tmp_path))
    assert local.home == tmp_path / "kafka-39192" != default.home


def test_a_remote_cluster_leaves_the_local_default(tmp_path: Path) -> None:
    assert _local(_settings("kafka.example.com:9092", tmp_path)).port == 9092
    assert _local(_settings("127.0.0.1:39192", tmp_path), secure=True).port == 9094
