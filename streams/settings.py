"""Settings shared by every command: Kafka (where, how to log in), topic prefix, local state."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_DATA_DIR = "./.lineage"
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_SASL_MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaSecurity:
    """How every client authenticates to the cluster and encrypts its traffic.

    Plain values only; streams/kafka/security.py checks them and turns them
    into the options of each client library (Faust, aiokafka, librdkafka).
    The password is never printed (`repr`).
    """

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = DEFAULT_SASL_MECHANISM
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaSecurity:
        """From the environment variables of the security options (docs/OPERATIONS.md).

        The password comes from KAFKA_SASL_PASSWORD, else from the file
        named by KAFKA_SASL_PASSWORD_FILE (its first line).
        """
        env = os.environ if env is None else env

        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        password = env.get("KAFKA_SASL_PASSWORD") or None
        password_file = path("KAFKA_SASL_PASSWORD_FILE")
        if password is None and password_file is not None:
            password = read_password_file(password_file)
        return cls(
            protocol=env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper(),
            sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", DEFAULT_SASL_MECHANISM).upper(),
            sasl_username=env.get("KAFKA_SASL_USERNAME") or None, sasl_password=password,
            ssl_cafile=path("KAFKA_SSL_CAFILE"), ssl_certfile=path("KAFKA_SSL_CERTFILE"),
            ssl_keyfile=path("KAFKA_SSL_KEYFILE"),
        )


    def to_env(self) -> dict[str, str]:
        """The environment variables that give a child `lineage` command these settings."""
        env = {"KAFKA_SECURITY_PROTOCOL": self.protocol,
               "KAFKA_SASL_MECHANISM": self.sasl_mechanism}
        for name, value in (("KAFKA_SASL_USERNAME", self.sasl_username),
                            ("KAFKA_SASL_PASSWORD", self.sasl_password),
                            ("KAFKA_SSL_CAFILE", self.ssl_cafile),
                            ("KAFKA_SSL_CERTFILE", self.ssl_certfile),
                            ("KAFKA_SSL_KEYFILE", self.ssl_keyfile)):
            if value is not None:
                env[name] = str(value)
        return env

    def child_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """`env` (default: this process's) with its Kafka security replaced by these settings."""
        env = os.environ if env is None else env
        kept = {k: v for k, v in env.items()
                if not k.startswith(("KAFKA_SECURITY", "KAFKA_SASL", "KAFKA_SSL"))}
        return {**kept, **self.to_env()}


def read_password_file(path: Path) -> str:
    """The password in `path`: its first line, without the line end."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(f"--sasl-password-file: cannot read {path}: {exc.strerror}") from None
    return lines[0] if lines else ""


@dataclass(frozen=True)
class Settings:
    """The three options of the contract and the Kafka security, from flags and environment."""

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    topic_prefix: str = ""
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    security: KafkaSecurity = KafkaSecurity()

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP),
            topic_prefix=os.environ.get("LINEAGE_TOPIC_PREFIX", ""),
            data_dir=Path(os.environ.get("LINEAGE_DATA_DIR", DEFAULT_DATA_DIR)),
            security=KafkaSecurity.from_env(),
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
