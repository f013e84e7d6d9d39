"""`lineage zone POLICY --simulate-enforce`: the dry run of enforcement, from Kafka or an archive.

The evidence (`probe-events`) comes from the pipeline's topic (`read_kafka`)
or from an archive directory (`read_archive`: opened before anything else is
done, read one file at a time with a progress bar on a terminal); either is
replayed against the policy's current zone by
`analyzers.policy.simulate.simulate_enforcement`. Both keep the same records
(`analyzers.policy.simulate.evidence`: probe captures from `since_ms` on, by
their event `ts`, payloads reduced to their field names), so a dry run over
an archive of the topic reports what one over the topic does. Nothing here
prints a payload value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import click
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from analyzers.policy.model import Policy
from analyzers.policy.simulate import evidence, simulate_enforcement
from streams.archive.manifest import ArchiveError
from streams.archive.reader import ArchiveReader, Skipped
from streams.cli.common import fail, progress_bar, render
from streams.kafka.topic_reader import read_all
from streams.settings import Settings

__all__ = ["from_archive", "from_kafka", "open_archive", "parse_since", "read_archive",
           "read_kafka", "simulation_table", "skipped_failure"]

TOPIC = "probe-events"
#: records between two progress reports
PROGRESS_EVERY = 2000


async def from_kafka(settings: Settings, since_ms: int | None) -> list[dict[str, Any]]:
    """The captures on `probe-events` up to its end as of now."""
    return [e for v in await read_all(settings, TOPIC) if (e := evidence(v, since_ms))]


def archived_records(reader: ArchiveReader) -> int:
    """How many `probe-events` records the archive holds; ArchiveError when none."""
    if TOPIC not in reader.manifest.topics:
        held = ", ".join(reader.topics()) or "no topics"
        raise ArchiveError(f"{reader.archive} holds no {TOPIC} (it holds {held}); "
                           f"archive them with `lineage archive`")
    return reader.count([TOPIC])


def from_archive(reader: ArchiveReader, since_ms: int | None,
                 on_records: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """The archived captures, partition by partition in offset order.

    `on_records(n)`: n more records read (every `PROGRESS_EVERY` and at the end).
    """
    archived_records(reader)
    pending = 0
    for partition in reader.partitions(TOPIC):
        for record in reader.records(TOPIC, partition):
            pending += 1
            if on_records is not None and pending >= PROGRESS_EVERY:
                on_records(pending)
                pending = 0
            capture = evidence(record.value, since_ms)
            if capture is not None:
                yield capture
    if pending and on_records is not None:
        on_records(pending)


def parse_since(text: str | None, now_ms: int) -> int | None:
    """`--since`: epoch ms, an ISO 8601 time, or an age (`30m`, `2h`, `7d`).

    >>> parse_since("2h", 10_000_000), parse_since("1737540600000", 0)
    (2800000, 1737540600000)
    """
    if text is None:
        return None
    text = text.strip()
    units = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    if text[-1:] in units and text[:-1].isdigit():
        return now_ms - int(text[:-1]) * units[text[-1]]
    if text.isdigit():
        return int(text)
    from datetime import datetime
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--since: {text[:40]!r} is not epoch ms, an ISO time or an age like 2h") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def read_kafka(settings: Settings, policy: Policy, zone: set[str], since_ms: int | None
               ) -> dict[str, Any]:
    """The dry run over `probe-events` as the pipeline holds it now."""
    try:
        captures = asyncio.run(from_kafka(settings, since_ms))
    except KafkaError as exc:
        raise fail(f"cannot read {settings.topic(TOPIC)}: {exc}") from exc
    return simulate_enforcement(policy, zone, captures)


def _warn(skipped: Skipped) -> None:
    click.echo(f"warning: {skipped}", err=True)


def open_archive(archive: Path) -> ArchiveReader:
    """The archive, checked to hold `probe-events`; a one-line failure otherwise."""
    try:
        reader = ArchiveReader.open(archive, on_skip=_warn)
        archived_records(reader)
    except ArchiveError as exc:
        raise fail(str(exc)) from exc
    return reader


def read_archive(reader: ArchiveReader, policy: Policy, zone: set[str], since_ms: int | None
                 ) -> dict[str, Any]:
    """The dry run over the archived `probe-events`; unreadable files are warned and skipped
    (the caller fails after the report when `reader.skipped`)."""
    with progress_bar(Console(stderr=True)) as progress:
        task = progress.add_task("reading probe-events", total=archived_records(reader))

        def skip(skipped: Skipped) -> None:
            _warn(skipped)
            progress.advance(task, skipped.records)

        reader.on_skip = skip
        captures = from_archive(reader, since_ms,
                                         on_records=lambda n: progress.advance(task, n))
        return simulate_enforcement(policy, zone, captures)


def skipped_failure(reader: ArchiveReader) -> click.ClickException:
    lost = sum(s.records for s in reader.skipped)
    return fail(f"{len(reader.skipped)} archive file(s) unreadable and skipped ({lost} records "
                "not read): the report above leaves them out")


def simulation_table(data: dict[str, Any]) -> str:
    rows: Iterable[dict[str, Any]] = data["would_block"] + data["would_log"]
    table = Table(title=f"{data['policy_id']} in enforce mode: {len(data['would_block'])} sinks "
                        f"blocked, {len(data['would_log'])} logged; {data['tainted_traces']} of "
                        f"{data['traces']} recorded traces tainted")
    for column in ("decision", "service", "sink", "kind", "code location", "traces",
                   "estimated", "sources"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["decision"], r["service"], r["sink"], r["kind"], r["code_location"],
                      str(r["traces"]), str(r["estimated"]), ", ".join(r["sources"]))
    return render(table)
