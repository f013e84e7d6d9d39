"""`lineage topics create|list`: the topics of topology.yaml."""

from __future__ import annotations

import asyncio

import click

from streams.cli.common import common_options, fail
from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import TopologyError, load_topology
from streams.settings import Settings


@click.group("topics")
def topics_group() -> None:
    """The pipeline's topics (as declared in topology.yaml)."""


@topics_group.command("create")
@common_options
def create(settings: Settings) -> None:
    """Create every topic of topology.yaml that is missing, under --topic-prefix."""
    try:
        topology = load_topology()
        created = asyncio.run(ensure_topics(settings, topology))
    except TopologyError as exc:
        raise fail(str(exc)) from exc
    except Exception as exc:
        raise fail(f"cannot create topics at {settings.bootstrap_servers}: {exc}") from exc
    click.echo(f"created {len(created)} topics" + (": " + ", ".join(created) if created else ""))
