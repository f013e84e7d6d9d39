"""`lineage console`: the web console, read-only, from the CLI's graph replica."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import click

from streams.cli.common import common_options, fail
from streams.settings import Settings


@click.command("console")
@common_options
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True,
              help="Serve the console on this port.")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback needs a token.")
@click.option("--token", envvar="LINEAGE_API_TOKEN", default=None,
              help="Bearer token every request needs (env LINEAGE_API_TOKEN); "
                   "the page asks for it once.")
def console_command(settings: Settings, port: int, bind: str, token: str | None) -> None:
    """Serve the console (http://127.0.0.1:PORT/ui/) read-only until Ctrl-C.

    Explore the graph, see each policy's zone and preview a review's cascade,
    watch violations live. Reviews are recorded from a worker's console
    (`lineage worker --api-port P`), not from here.
    """
    from streams.console.server import serve_console
    from streams.graph.api import ApiConfig, ApiConfigError

    try:
        config = ApiConfig(port, bind, token or None)
    except ApiConfigError as exc:
        raise fail(str(exc).replace("graph API", "console")) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    click.echo(f"console on http://{bind}:{port}/ui/ (read-only; Ctrl-C stops)", err=True)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_console(settings, config))
    except OSError as exc:
        raise fail(f"cannot serve on {bind}:{port}: {exc.strerror or exc}") from exc
