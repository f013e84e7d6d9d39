"""Settings shared by every command: where Kafka is, the topic prefix, local state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_DATA_DIR = "./.lineage"


@dataclass(frozen=True)
class Settings:
    """The three options of the contract, resolved from flags and environment."""

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    topic_prefix: str = ""
    data_dir: Path = Path(DEFAULT_DATA_DIR)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP),
            topic_prefix=os.environ.get("LINEAGE_TOPIC_PREFIX", ""),
            data_dir=Path(os.environ.get("LINEAGE_DATA_DIR", DEFAULT_DATA_DIR)),
        )

    def topic(self, name: str) -> str:
        """The physical topic name of a contract topic under this prefix."""
        return f"{self.topic_prefix}{name}"

    @property
    def group_id(self) -> str:
        """The consumer group (and Faust app id) of the pipeline under this prefix."""
        return f"{self.topic_prefix}lineage"

    @property
    def batch_group_id(self) -> str:
        """The consumer group of the agents that read in batches (`consumer: batch`)."""
        return f"{self.group_id}-batch"

    @property
    def consumer_groups(self) -> tuple[str, str]:
        """Every consumer group of the pipeline: Faust's and the batch agents'."""
        return (self.group_id, self.batch_group_id)
