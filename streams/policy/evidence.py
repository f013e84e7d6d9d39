"""The probe evidence an enforcement dry run replays: `probe-events`, from Kafka or an archive.

Both read the same records and keep the same ones (`analyzers.policy.simulate.evidence`:
probe captures from `since_ms` on, by their event `ts`, payloads reduced to
their field names), so a dry run over an archive of a topic reports what one
over the topic itself does.

- `from_kafka`: the topic of the pipeline under the settings' prefix, up to its
  end as of now;
- `from_archive`: an archive directory (`lineage archive`, docs/REPLAY.md),
  one file in memory at a time; a file that cannot be read is skipped and
  reported through the reader (`ArchiveReader.skipped`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from analyzers.policy.simulate import evidence
from streams.archive.manifest import ArchiveError
from streams.archive.reader import ArchiveReader
from streams.kafka.topic_reader import read_all
from streams.settings import Settings

TOPIC = "probe-events"
#: records between two progress reports
PROGRESS_EVERY = 2000

__all__ = ["TOPIC", "archived_records", "from_archive", "from_kafka"]


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
