"""`lineage archive` (topics to Parquet) and `lineage replay` (history into a fresh pipeline)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from streams.archive.manifest import ArchiveError, load_manifest
from streams.archive.reader import ArchiveReader, Skipped
from streams.archive.replay import (
    Replayer,
    ReplayReport,
    check_partitions,
    plan_kafka,
    replay_archive,
    replay_kafka,
)
from streams.archive.source import KafkaHistory
from streams.archive.timeparse import parse_time
from streams.archive.writer import ArchiveReport, archive_topics
from streams.cli.common import common_options, fail, kafka_failure, progress_bar
from streams.cli.dead_letter_replay import echo_report, resend
from streams.kafka.producer import make_producer
from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import CONTRACT_TOPICS, TopologyError, load_topology
from streams.settings import Settings

# policy-zones is the monitor's output; enforcement-events the probes' record of
# their decisions: neither is replayed into a pipeline
OUTPUT_TOPICS = ("lineage-graph", "policy-violations", "policy-zones", "enforcement-events",
                 "dead-letters")
INPUT_TOPICS = tuple(t for t in CONTRACT_TOPICS if t not in OUTPUT_TOPICS)

T = TypeVar("T")


def _run(settings: Settings, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro`; archive and Kafka errors become one-line failures."""
    try:
        return asyncio.run(coro)
    except ArchiveError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise kafka_failure(settings, exc) from exc
    except Exception as exc:
        if type(exc).__module__.startswith(("aiokafka", "kafka")):
            raise kafka_failure(settings, exc) from exc
        raise


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{t}={n}" for t, n in sorted(counts.items()) if n) or "none"


@click.command("archive")
@common_options
@click.option("--out", "out", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Archive directory (created; a later run appends only what is new).")
@click.option("--include-outputs", is_flag=True,
              help="Also archive the outputs: lineage-graph, policy-violations, policy-zones, "
                   "enforcement-events and dead-letters.")
def archive_command(settings: Settings, out: Path, include_outputs: bool) -> None:
    """Copy the input topics of the pipeline under --topic-prefix to Parquet in --out.

    One dataset per topic, partitioned by date (DIR/TOPIC/date=YYYY-MM-DD/), zstd,
    keeping key, value, partition, offset and timestamp. DIR/manifest.json
    holds per partition the next offset to archive and the counts, so a
    second run appends only records that are new.
    """
    topics = INPUT_TOPICS + (OUTPUT_TOPICS if include_outputs else ())
    err = Console(stderr=True)
    with progress_bar(err) as progress:
        task = progress.add_task("archiving", total=None)
        report: ArchiveReport = _run(settings, archive_topics(
            settings, settings.topic_prefix, out, topics,
            on_plan=lambda total: progress.update(task, total=total),
            on_records=lambda n: progress.advance(task, n),
        ))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.removed_orphans:
        click.echo(f"removed {report.removed_orphans} file(s) an interrupted run left "
                   "outside the manifest", err=True)
    if len(report.missing_topics) == len(topics):
        raise fail(f"no topics under prefix {settings.topic_prefix!r} at "
                   f"{settings.bootstrap_servers}; nothing to archive")
    manifest = load_manifest(out)
    held = {name: state.records for name, state in manifest.topics.items()}
    click.echo(f"archived {report.total_new} new records ({_counts(report.new_records)}) "
               f"in {report.new_files} new files; {out} holds {sum(held.values())} records "
               f"({_counts(held)})")


def _report_skip(skipped: Skipped) -> None:
    click.echo(f"warning: {skipped}", err=True)


async def _ensure_fresh(settings: Settings, topics: tuple[str, ...]) -> dict[str, int]:
    """Create the destination topics; refuse ones that already hold records."""
    try:
        topology = load_topology()
    except TopologyError as exc:
        raise ArchiveError(str(exc)) from exc
    await ensure_topics(settings, topology)
    async with KafkaHistory(settings, settings.topic_prefix) as dest:
        for topic in topics:
            if any(end > 0 for _, end in (await dest.bounds(topic)).values()):
                raise ArchiveError(
                    f"{settings.topic(topic)} already holds records: replay into a fresh "
                    "--topic-prefix")
    return {name: spec.partitions for name, spec in topology.topics.items()}


async def _replay_from_archive(settings: Settings, archive: Path, since_ms: int | None,
                               make_replayer: Callable[[], Awaitable[Replayer]],
                               on_total: Callable[[int], None]) -> ReplayReport:
    reader = ArchiveReader.open(archive, on_skip=_report_skip)
    if reader.manifest.source_prefix == settings.topic_prefix:
        raise ArchiveError(f"{archive} was archived from prefix {settings.topic_prefix!r}; "
                           "replay into a fresh --topic-prefix")
    topics = [t for t in INPUT_TOPICS if t in reader.manifest.topics]
    partitions = await _ensure_fresh(settings, INPUT_TOPICS)
    check_partitions({t: reader.partitions(t) for t in topics}, partitions)
    on_total(reader.count(topics))
    replayer = await make_replayer()
    try:
        return await replay_archive(reader, topics, replayer, since_ms=since_ms)
    finally:
        await replayer.producer.stop()


async def _replay_from_kafka(settings: Settings, source_prefix: str, since_ms: int | None,
                             make_replayer: Callable[[], Awaitable[Replayer]],
                             on_total: Callable[[int], None]) -> ReplayReport:
    async with KafkaHistory(settings, source_prefix) as history:
        topics = [t for t in INPUT_TOPICS if history.exists(t)]
        if not topics:
            raise ArchiveError(f"no input topics under prefix {source_prefix!r}")
        partitions = await _ensure_fresh(settings, INPUT_TOPICS)
        check_partitions({t: history.partitions(t) for t in topics}, partitions)
        ranges = await plan_kafka(history, topics, since_ms)
        on_total(sum(r.size for r in ranges))
        replayer = await make_replayer()
        try:
            return await replay_kafka(history, ranges, replayer)
        finally:
            await replayer.producer.stop()


def _replay_dead_letters(settings: Settings, reason_like: str | None, since: str | None,
                         rate: float | None, timestamps: str) -> None:
    try:
        since_ms = parse_time(since) if since is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from exc
    with progress_bar(Console(stderr=True)) as progress:
        report = _run(settings, resend(settings, since_ms=since_ms, like=reason_like, rate=rate,
                                       keep_timestamps=timestamps == "original",
                                       progress=progress))
    echo_report(settings, report)


@click.command("replay")
@common_options
@click.option("--dead-letters", "dead_letters", is_flag=True,
              help="Send the dead letters of --topic-prefix back to their original topics "
                   "(all still held, or from --since TIME), e.g. after an analyzer upgrade.")
@click.option("--reason-like", default=None, metavar="TEXT",
              help="With --dead-letters: only those whose reason contains TEXT "
                   "(case-insensitive; % matches any text).")
@click.option("--archive", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Replay from this archive directory.")
@click.option("--from-prefix", default=None,
              help="Replay from the Kafka topics of the pipeline with this prefix.")
@click.option("--from-beginning", is_flag=True, help="From the first record still held.")
@click.option("--since", "since", default=None, metavar="TIME",
              help="From the first record with a timestamp at or after TIME "
                   "(ISO-8601, naive = UTC, or epoch ms).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Events per second (default: as fast as possible).")
@click.option("--timestamps", type=click.Choice(["original", "now"]), default="original",
              show_default=True, help="Record timestamps: the original ones, or the time of "
                                      "the replay (for history older than topic retention).")
def replay_command(settings: Settings, dead_letters: bool, reason_like: str | None,
                   archive: Path | None, from_prefix: str | None, from_beginning: bool,
                   since: str | None, rate: float | None, timestamps: str) -> None:
    """Replay the input history into a fresh pipeline under --topic-prefix.

    From an archive (--archive DIR) or from Kafka (--from-prefix SRC with
    --from-beginning or --since TIME). Each record keeps its key, partition and
    timestamp, and the records of a partition keep their order. A worker on the
    destination prefix rebuilds the graph and the violations. An unreadable
    archive file is reported and skipped; everything else is replayed and the
    command then exits 1.

    With --dead-letters, the dead letters of --topic-prefix go back to the
    topics (and partitions) they came from, with their original key, value and
    record timestamp; a running worker handles them again.
    """
    if dead_letters:
        if archive is not None or from_prefix is not None:
            raise fail("--dead-letters replays within --topic-prefix: drop --archive and "
                       "--from-prefix")
        _replay_dead_letters(settings, reason_like, since, rate, timestamps)
        return
    if reason_like is not None:
        raise fail("--reason-like needs --dead-letters")
    if (archive is None) == (from_prefix is None):
        raise fail("give exactly one of --archive DIR or --from-prefix PREFIX")
    if from_prefix is not None and from_beginning == (since is not None):
        raise fail("with --from-prefix give exactly one of --from-beginning or --since TIME")
    if from_prefix is not None and from_prefix == settings.topic_prefix:
        raise fail("--from-prefix equals --topic-prefix: replay into a fresh prefix")
    try:
        since_ms = parse_time(since) if since is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from exc

    err = Console(stderr=True)
    with progress_bar(err) as progress:
        task = progress.add_task("replaying", total=None)

        async def make_replayer() -> Replayer:
            producer = make_producer(settings)
            await producer.start()
            return Replayer(producer, settings.topic_prefix, rate=rate,
                            keep_timestamps=timestamps == "original",
                            on_records=lambda n: progress.advance(task, n))

        def on_total(total: int) -> None:
            progress.update(task, total=total)

        if archive is not None:
            report = _run(settings, _replay_from_archive(settings, archive, since_ms,
                                                         make_replayer, on_total))
        else:
            assert from_prefix is not None
            report = _run(settings, _replay_from_kafka(settings, from_prefix, since_ms,
                                                       make_replayer, on_total))
    rate_s = report.total / report.seconds if report.seconds > 0 else 0.0
    click.echo(f"replayed {report.total} records ({_counts(report.sent)}) into prefix "
               f"{settings.topic_prefix!r} in {report.seconds:.1f}s ({rate_s:.0f}/s)")
    if report.skipped:
        lost = sum(s.records for s in report.skipped)
        raise fail(f"{len(report.skipped)} archive file(s) unreadable and skipped ({lost} "
                   "records not replayed); everything else was replayed")
