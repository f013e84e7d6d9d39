"""Options every command takes, the one-line error convention, tables and the progress bar."""

from __future__ import annotations

import functools
import io
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from streams.kafka.security import KafkaSecurityError, connection_error
from streams.kafka.security import check as check_security
from streams.settings import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_DATA_DIR,
    DEFAULT_SASL_MECHANISM,
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    KafkaSecurity,
    Settings,
    read_password_file,
)

if TYPE_CHECKING:  # rich is imported when a bar or a table is made: `analyze-sql` starts fast
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])


_FILE = click.Path(dir_okay=False, path_type=Path)


def security_options(func: F) -> F:
    """Add the Kafka security options (each also an environment variable)."""
    options = [
        click.option("--security-protocol", envvar="KAFKA_SECURITY_PROTOCOL",
                     type=click.Choice(SECURITY_PROTOCOLS, case_sensitive=False),
                     default="PLAINTEXT", show_default=True,
                     help="How clients talk to Kafka (env KAFKA_SECURITY_PROTOCOL)."),
        click.option("--sasl-mechanism", envvar="KAFKA_SASL_MECHANISM",
                     type=click.Choice(SASL_MECHANISMS, case_sensitive=False),
                     default=DEFAULT_SASL_MECHANISM, show_default=True,
                     help="SASL mechanism (env KAFKA_SASL_MECHANISM)."),
        click.option("--sasl-username", envvar="KAFKA_SASL_USERNAME", default=None,
                     help="SASL user (env KAFKA_SASL_USERNAME); the password comes from env "
                          "KAFKA_SASL_PASSWORD or --sasl-password-file."),
        click.option("--sasl-password-file", envvar="KAFKA_SASL_PASSWORD_FILE", default=None,
                     type=_FILE, help="File whose first line is the SASL password "
                                      "(env KAFKA_SASL_PASSWORD_FILE)."),
        click.option("--ssl-cafile", envvar="KAFKA_SSL_CAFILE", default=None, type=_FILE,
                     help="CA certificates (PEM) to trust the brokers by (env KAFKA_SSL_CAFILE)."),
        click.option("--ssl-certfile", envvar="KAFKA_SSL_CERTFILE", default=None, type=_FILE,
                     help="Client certificate (PEM) for mutual TLS (env KAFKA_SSL_CERTFILE)."),
        click.option("--ssl-keyfile", envvar="KAFKA_SSL_KEYFILE", default=None, type=_FILE,
                     help="Client private key (PEM) (env KAFKA_SSL_KEYFILE)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _security(protocol: str, mechanism: str, username: str | None, password_file: Path | None,
              cafile: Path | None, certfile: Path | None, keyfile: Path | None,
              ) -> KafkaSecurity:
    """The security settings; the password never comes from a flag (it would show in `ps`)."""
    password = os.environ.get("KAFKA_SASL_PASSWORD") or None
    if password is None and password_file is not None:
        try:
            password = read_password_file(password_file)
        except ValueError as exc:
            raise fail(str(exc)) from None
    return KafkaSecurity(protocol=protocol.upper(), sasl_mechanism=mechanism.upper(),
                         sasl_username=username or None, sasl_password=password,
                         ssl_cafile=cafile, ssl_certfile=certfile, ssl_keyfile=keyfile)


def common_options(func: F) -> F:
    """Add --bootstrap-servers, --topic-prefix, --data-dir, security options; pass `settings`."""

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
    @security_options
    @functools.wraps(func)
    def wrapper(
        *args: Any, bootstrap_servers: str, topic_prefix: str, data_dir: Path,
        security_protocol: str, sasl_mechanism: str, sasl_username: str | None,
        sasl_password_file: Path | None, ssl_cafile: Path | None, ssl_certfile: Path | None,
        ssl_keyfile: Path | None, **kwargs: Any,
    ) -> Any:
        security = _security(security_protocol, sasl_mechanism, sasl_username,
                             sasl_password_file, ssl_cafile, ssl_certfile, ssl_keyfile)
        try:
            check_security(security)
        except KafkaSecurityError as exc:
            raise fail(str(exc)) from None
        settings = Settings(
            bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix, data_dir=data_dir,
            security=security,
        )
        # aiokafka logs each failed connection on its own; the command says why in one line.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def kafka_failure(settings: Settings, exc: BaseException) -> click.ClickException:
    """A one-line error naming why Kafka could not be used (diagnosed, see security.py)."""
    return fail(connection_error(settings, exc))


def fail(message: str) -> click.ClickException:
    """A one-line error that makes the command exit non-zero."""
    return click.ClickException(message)


def progress_bar(console: Console) -> Progress:
    """A progress bar on `console` (stderr), shown only when it is a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True,
                    disable=not console.is_terminal)


def render(table: Table) -> str:
    """`table` as plain text (no colour codes), 220 columns wide."""
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=220, force_terminal=False).print(table)
    return buffer.getvalue()
