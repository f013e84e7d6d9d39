"""`lineage replay --dead-letters`: the pipeline's dead letters back to their original topics.

The replay command (streams/cli/archive_cmd.py) hands over here when given
`--dead-letters`; the work is in streams/archive/dead_letters.py.
"""

from __future__ import annotations

import click
from rich.progress import Progress

from streams.archive.dead_letters import TOPIC, DeadLetterReport, plan, replay_dead_letters
from streams.archive.manifest import ArchiveError
from streams.archive.replay import Replayer
from streams.archive.source import KafkaHistory
from streams.kafka.producer import make_producer
from streams.pipeline.topology import TopologyError, load_topology
from streams.settings import Settings


async def resend(settings: Settings, *, since_ms: int | None, like: str | None,
                 rate: float | None, keep_timestamps: bool,
                 progress: Progress) -> DeadLetterReport:
    """Read the prefix's dead letters and send the selected ones back."""
    try:
        topics = set(load_topology().topics)
    except TopologyError as exc:
        raise ArchiveError(str(exc)) from exc
    task = progress.add_task("replaying dead letters", total=None)
    async with KafkaHistory(settings, settings.topic_prefix) as history:
        if not history.exists(TOPIC):
            raise ArchiveError(f"no topic {settings.topic(TOPIC)} at "
                               f"{settings.bootstrap_servers}: nothing to replay")
        ranges = await plan(history, since_ms)
        progress.update(task, total=sum(r.size for r in ranges))
        producer = make_producer(settings)
        await producer.start()
        try:
            replayer = Replayer(producer, settings.topic_prefix, rate=rate,
                                keep_timestamps=keep_timestamps)
            return await replay_dead_letters(
                history, ranges, replayer, topics=topics - {TOPIC}, like=like,
                on_read=lambda n: progress.advance(task, n))
        finally:
            await producer.stop()


def echo_report(settings: Settings, report: DeadLetterReport) -> None:
    sent = report.replay.sent
    counts = ", ".join(f"{t}={n}" for t, n in sorted(sent.items())) or "none"
    click.echo(f"replayed {report.replay.total} of {report.read} dead letters ({counts}) to "
               f"their topics under prefix {settings.topic_prefix!r} in "
               f"{report.replay.seconds:.1f}s")
    if report.not_selected:
        click.echo(f"{report.not_selected} not selected by --reason-like", err=True)
    for cause, count in sorted(report.unusable.items()):
        click.echo(f"warning: {count} skipped: {cause}", err=True)

