"""Topic and group naming under a prefix, and settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.settings import Settings


def test_no_prefix_keeps_contract_names() -> None:
    settings = Settings()
    assert settings.topic("probe-events") == "probe-events"
    assert settings.group_id == "lineage"


def test_prefix_applies_to_topics_and_group() -> None:
    settings = Settings(topic_prefix="test-42.")
    assert settings.topic("lineage-graph") == "test-42.lineage-graph"
    assert settings.group_id == "test-42.lineage"


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:19092")
    monkeypatch.setenv("LINEAGE_TOPIC_PREFIX", "p-")
    monkeypatch.setenv("LINEAGE_DATA_DIR", "/tmp/x")
    settings = Settings.from_env()
    assert settings == Settings("kafka:19092", "p-", Path("/tmp/x"))
