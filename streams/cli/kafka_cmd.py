"""`lineage kafka up|down|status`: the local development broker."""

from __future__ import annotations

import click

from streams.cli.common import common_options, fail
from streams.localkafka import LocalKafka, LocalKafkaError
from streams.localkafka.probe import metadata_ok
from streams.settings import Settings

_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _local(settings: Settings, secure: bool = False) -> LocalKafka:
    """The local broker: on the port of --bootstrap-servers when that names this
    machine (its controller on the next port, its data in `kafka-PORT`), else 9092."""
    data_dir = settings.data_dir.resolve()
    if secure:
        return LocalKafka.secured(data_dir)
    host, port = _host_port(settings.bootstrap_servers)
    if host in _LOCAL_HOSTS and port != LocalKafka.port:
        return LocalKafka(data_dir=data_dir, port=port, controller_port=port + 1)
    return LocalKafka(data_dir=data_dir)


_SECURE = click.option(
    "--secure", is_flag=True,
    help="The second, secured broker: SASL_SSL (SCRAM) on 127.0.0.1:9094, its own data, "
         "a CA and certificate made on the spot; the plain broker is left alone.")


def _host_port(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError as exc:
        raise fail(f"--bootstrap-servers: not HOST:PORT: {first!r}") from exc


@click.group("kafka")
def kafka_group() -> None:
    """A local single-node Apache Kafka (KRaft) on 127.0.0.1:9092 (--secure: SASL_SSL on 9094).

    `--bootstrap-servers 127.0.0.1:PORT` runs (and stops) another one on PORT,
    its controller on PORT+1, next to the default one.
    """


@kafka_group.command("up")
@common_options
@click.option("--wait", default=90.0, show_default=True, help="Seconds to wait for the broker.")
@_SECURE
def up(settings: Settings, wait: float, secure: bool) -> None:
    """Install (from Maven Central, once) and start the broker; idempotent.

    With --secure it prints where the client settings are (a file of
    `export` lines: source it, and every command uses the secured broker).
    """
    local = _local(settings, secure)
    try:
        click.echo(f"kafka: {local.up(wait_s=wait)}")
    except LocalKafkaError as exc:
        raise fail(str(exc)) from exc
    if secure:
        click.echo(f"kafka: SASL_SSL, SCRAM user {local.client_env()['KAFKA_SASL_USERNAME']}; "
                   f"client settings: . {local.client_dir / 'client.env'}")


@kafka_group.command("down")
@common_options
@_SECURE
def down(settings: Settings, secure: bool) -> None:
    """Stop the broker that `lineage kafka up` started (pid file)."""
    click.echo(f"kafka: {_local(settings, secure).down()}")


@kafka_group.command("status")
@common_options
@_SECURE
def status(settings: Settings, secure: bool) -> None:
    """Say whether the broker answers; exit non-zero if it does not."""
    local = _local(settings, secure)
    if secure:
        host, port = local.host, local.port
        answers = local.answers(timeout=2.0)
    else:
        host, port = _host_port(settings.bootstrap_servers)
        answers = metadata_ok(host, port, timeout=2.0)
    pid = local.running_pid()
    if not answers:
        raise fail(f"no Kafka broker answers on {host}:{port}")
    jars = sorted(local.jars.glob("kafka_2.13-*.jar"))
    version = jars[-1].stem.removeprefix("kafka_2.13-") if jars else "unknown"
    owner = f"started by lineage, pid {pid}, Apache Kafka {version}" if pid else "external"
    kind = " (SASL_SSL)" if secure else ""
    click.echo(f"kafka: running on {host}:{port}{kind} ({owner})")
