"""`lineage worker`: run the stream topology (a Faust worker)."""

from __future__ import annotations

import asyncio
import logging

import click

from streams.cli.common import common_options, fail, kafka_failure
from streams.kafka.topics import ensure_topics
from streams.pipeline import gc_policy
from streams.pipeline.topology import TopologyError, load_topology
from streams.settings import Settings


@click.command("worker")
@common_options
@click.option("--loglevel", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--web-port", type=int, default=None,
              help="Serve Faust's web endpoints on 127.0.0.1:PORT (off by default).")
@click.option("--api-port", type=int, default=None,
              help="Serve the graph HTTP API on this port (off by default).")
@click.option("--api-bind", default=None,
              help="Address of the graph API (default: services.http_api.bind of "
                   "topology.yaml); anything but loopback needs a token.")
@click.option("--api-token", envvar="LINEAGE_API_TOKEN", default=None,
              help="Bearer token every HTTP endpoint (API, metrics) requires "
                   "(env LINEAGE_API_TOKEN).")
@click.option("--metrics-port", envvar="LINEAGE_METRICS_PORT", type=int, default=None,
              help="Serve Prometheus /metrics on this port, same bind and token rules as the "
                   "API (env LINEAGE_METRICS_PORT; off by default).")
def worker_command(settings: Settings, loglevel: str, web_port: int | None,
                   api_port: int | None, api_bind: str | None, api_token: str | None,
                   metrics_port: int | None) -> None:
    """Run the stream topology; several workers with one prefix share the partitions.

    Each worker needs its own --data-dir (its RocksDB state). Topics of
    topology.yaml are created first if missing.
    """
    from streams.graph.api import ApiConfig, ApiConfigError

    try:
        topology = load_topology()
    except TopologyError as exc:
        raise fail(str(exc)) from exc
    bind = api_bind or topology.services.http_api.bind
    try:
        api = None if api_port is None else ApiConfig(api_port, bind, api_token or None)
        metrics_api = (None if metrics_port is None
                       else ApiConfig(metrics_port, bind, api_token or None))
    except ApiConfigError as exc:
        raise fail(str(exc)) from exc
    try:
        created = asyncio.run(ensure_topics(settings, topology))
    except Exception as exc:
        raise kafka_failure(settings, exc) from exc
    if created:
        click.echo(f"created {len(created)} topics", err=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    import faust

    from streams.pipeline.app import build_app

    pipeline = build_app(settings, topology, web_port=web_port, graph_api=api,
                         metrics_api=metrics_api)
    logging.getLogger("lineage").setLevel(loglevel.upper())
    # The Kafka client's debug lines quote message keys and values: never on,
    # and not even built (they cost a record per message at our rates).
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(
        loglevel.upper())))
    worker = faust.Worker(pipeline.app, loglevel=loglevel, quiet=True)
    gc_policy.tune()  # after start-up: what it made is frozen out of the collector's view
    worker.execute_from_commandline()
