"""Options every command takes, and the one-line error convention."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from streams.settings import DEFAULT_BOOTSTRAP, DEFAULT_DATA_DIR, Settings

F = TypeVar("F", bound=Callable[..., Any])


def common_options(func: F) -> F:
    """Add --bootstrap-servers, --topic-prefix and --data-dir; pass `settings`."""

    @click.option(
        "--bootstrap-servers",
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        default=DEFAULT_BOOTSTRAP,
        show_default=True,
        help="Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS).",
    )
    @click.option(
        "--topic-prefix",
        envvar="LINEAGE_TOPIC_PREFIX",
        default="",
        help="Prefix for every topic and the consumer group (env LINEAGE_TOPIC_PREFIX).",
    )
    @click.option(
        "--data-dir",
        envvar="LINEAGE_DATA_DIR",
        default=DEFAULT_DATA_DIR,
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Local state directory (env LINEAGE_DATA_DIR).",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any, bootstrap_servers: str, topic_prefix: str, data_dir: Path, **kwargs: Any
    ) -> Any:
        settings = Settings(
            bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix, data_dir=data_dir
        )
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def fail(message: str) -> click.ClickException:
    """A one-line error that makes the command exit non-zero."""
    return click.ClickException(message)
