"""`lineage send FILE.jsonl`: validate and produce events to their topics."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from streams.cli.common import common_options, fail
from streams.kafka.producer import SendReport, make_producer, send_lines
from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import TopologyError, load_topology
from streams.settings import Settings


def _read_lines(file: str) -> list[bytes]:
    if file == "-":
        return sys.stdin.buffer.read().splitlines()
    try:
        return Path(file).read_bytes().splitlines()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from exc


async def _send(settings: Settings, lines: list[bytes], progress: Progress) -> SendReport:
    try:
        topology = load_topology()
    except TopologyError as exc:
        raise fail(str(exc)) from exc
    await ensure_topics(settings, topology)
    producer = make_producer(settings)
    await producer.start()
    task = progress.add_task("sending", total=len(lines))
    try:
        return await send_lines(
            producer, settings, lines, on_line=lambda n: progress.update(task, completed=n)
        )
    finally:
        await producer.stop()


@click.command("send")
@common_options
@click.argument("file")
def send_command(settings: Settings, file: str) -> None:
    """Produce the events of FILE.jsonl ('-' for stdin) to their topics.

    The event `type` picks the topic (probe, sql/sql_io, config, static, label,
    policy, review) and the contract's key. A bad line is reported with its
    number and skipped; the command then exits non-zero.
    """
    lines = _read_lines(file)
    err = Console(stderr=True)
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=err, transient=True, disable=not err.is_terminal,
        ) as progress:
            report = asyncio.run(_send(settings, lines, progress))
    except OSError as exc:
        raise fail(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("aiokafka"):
            raise fail(f"Kafka error at {settings.bootstrap_servers}: {exc}") from exc
        raise
    for number, reason in report.bad:
        click.echo(f"{file}:{number}: {reason}", err=True)
    per_topic = ", ".join(f"{settings.topic(t)}={n}" for t, n in sorted(report.sent.items()))
    click.echo(f"sent {report.total_sent} events ({per_topic or 'none'}); {len(report.bad)} bad")
    if report.bad:
        raise SystemExit(1)
