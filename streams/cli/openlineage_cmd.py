"""`lineage openlineage emit`: the live graph to an OpenLineage consumer (Marquez, DataHub, ...)."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from streams.cli.common import common_options, fail
from streams.settings import Settings


@click.group("openlineage")
def openlineage_group() -> None:
    """The graph as OpenLineage, live (see also `lineage graph export --format openlineage`)."""


@openlineage_group.command("emit")
@common_options
@click.option("--url", default=None,
              help="Base URL of an OpenLineage HTTP consumer; events go to URL/api/v1/lineage.")
@click.option("--endpoint", default="api/v1/lineage", show_default=True,
              help="Path under --url to post to.")
@click.option("--api-key", envvar="OPENLINEAGE_API_KEY", default=None,
              help="Sent as 'Authorization: Bearer KEY' (env OPENLINEAGE_API_KEY).")
@click.option("--kafka-topic", default=None,
              help="Produce to this topic instead (full name, not prefixed).")
@click.option("--name", default="openlineage-emit", show_default=True,
              help="Names the emitter's consumer group (prefixed); one per destination.")
@click.option("--no-tags", is_flag=True,
              help="Do not send policy violations as tags on their sink datasets.")
@click.option("--exit-when-idle", type=float, default=None, metavar="SECONDS",
              help="Exit once no change came for this long (default: follow forever).")
def emit_command(settings: Settings, url: str | None, endpoint: str, api_key: str | None,
                 kafka_topic: str | None, name: str, no_tags: bool,
                 exit_when_idle: float | None) -> None:
    """Follow lineage-graph and send each change as OpenLineage events.

    Resumes from its stored offsets after a restart; HTTP failures are
    retried with backoff, so no change is skipped.
    """
    from streams.openlineage.emit import Emitter
    from streams.openlineage.targets import HttpTarget, KafkaTarget, Target

    if (url is None) == (kafka_topic is None):
        raise fail("give exactly one of --url or --kafka-topic")
    target: Target = (HttpTarget(url, api_key=api_key, endpoint=endpoint) if url is not None
                      else KafkaTarget(settings, str(kafka_topic)))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emitter = Emitter(settings, target, group_id=f"{settings.group_id}-{name}", tags=not no_tags)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await emitter.run(stop=stop, exit_when_idle_s=exit_when_idle)

    try:
        asyncio.run(main())
    except OSError as exc:
        raise fail(f"openlineage emit: {exc}") from None
    click.echo(f"sent {emitter.events_sent} OpenLineage events for {emitter.changes_seen} "
               "changes", err=True)
