"""Copy topics into the archive: Parquet files per topic, date and partition run.

Layout: `DIR/<topic>/date=YYYY-MM-DD/part-p<partition>-<first>-<last>.parquet`
(zstd), one file per run of consecutive records of one partition that share a
UTC date (of the record timestamp). A file is written under a temp name and
renamed; only then is it added to the manifest, whose per-partition
`next_offset` is where the next run resumes. Files a crashed run left behind
without a manifest entry are removed at the start of the next run, so records
are never archived twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streams.archive.manifest import (
    ArchiveError,
    FileEntry,
    Manifest,
    fsync_dir,
    load_manifest,
    save_manifest,
)
from streams.archive.records import Record
from streams.archive.source import KafkaHistory, PartitionRange
from streams.settings import Settings

SCHEMA = pa.schema([
    pa.field("key", pa.binary(), nullable=True),
    pa.field("value", pa.binary(), nullable=True),
    pa.field("partition", pa.int32(), nullable=False),
    pa.field("offset", pa.int64(), nullable=False),
    pa.field("timestamp", pa.int64(), nullable=False),
])
COMPRESSION = "zstd"
DEFAULT_CHUNK_RECORDS = 20_000


def record_date(timestamp_ms: int) -> str:
    """The UTC date of a record timestamp, `unknown` when the record has none."""
    if timestamp_ms < 0:
        return "unknown"
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def file_path(topic: str, partition: int, date: str, first: int, last: int) -> str:
    return f"{topic}/date={date}/part-p{partition}-{first}-{last}.parquet"


def _runs_by_date(records: Sequence[Record]) -> list[tuple[str, list[Record]]]:
    runs: list[tuple[str, list[Record]]] = []
    for record in records:
        date = record_date(record.timestamp)
        if runs and runs[-1][0] == date:
            runs[-1][1].append(record)
        else:
            runs.append((date, [record]))
    return runs


def write_parquet(archive: Path, relpath: str, records: Sequence[Record]) -> None:
    """Write one file atomically: temp name in the same directory, fsync, rename."""
    target = archive / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({
        "key": pa.array([r.key for r in records], pa.binary()),
        "value": pa.array([r.value for r in records], pa.binary()),
        "partition": pa.array([r.partition for r in records], pa.int32()),
        "offset": pa.array([r.offset for r in records], pa.int64()),
        "timestamp": pa.array([r.timestamp for r in records], pa.int64()),
    }, schema=SCHEMA)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        pq.write_table(table, tmp, compression=COMPRESSION)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def write_records(archive: Path, topic: str, records: Sequence[Record]) -> list[FileEntry]:
    """Write the records of one partition (offset order) as one file per date run."""
    entries = []
    for date, run in _runs_by_date(records):
        first, last = run[0].offset, run[-1].offset
        relpath = file_path(topic, run[0].partition, date, first, last)
        write_parquet(archive, relpath, run)
        entries.append(FileEntry(path=relpath, partition=run[0].partition, first_offset=first,
                                 last_offset=last, records=len(run), date=date))
    return entries


def remove_orphans(archive: Path, manifest: Manifest, topics: Sequence[str]) -> list[Path]:
    """Delete files of these topics that the manifest does not list (an interrupted run)."""
    listed = manifest.listed_paths()
    removed = []
    for topic in topics:
        root = archive / topic
        if not root.is_dir():
            continue
        for path in sorted(root.glob("date=*/*")):
            name = path.name
            is_ours = name.endswith(".parquet") or (name.startswith(".") and name.endswith(".tmp"))
            if is_ours and path.relative_to(archive).as_posix() not in listed:
                path.unlink()
                removed.append(path)
    return removed


@dataclass
class ArchiveReport:
    """What one `archive` run did."""

    new_records: dict[str, int] = field(default_factory=dict)
    new_files: int = 0
    missing_topics: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed_orphans: int = 0

    @property
    def total_new(self) -> int:
        return sum(self.new_records.values())


class ChunkBuffer:
    """Records waiting to be written, per partition; a partition flushes every `chunk` records."""

    def __init__(self, archive: Path, manifest: Manifest, chunk: int) -> None:
        self.archive = archive
        self.manifest = manifest
        self.chunk = chunk
        self.pending: dict[tuple[str, int], list[Record]] = {}
        self.files_written = 0

    def add(self, records: list[Record]) -> None:
        key = (records[0].topic, records[0].partition)
        buffer = self.pending.setdefault(key, [])
        buffer.extend(records)
        if len(buffer) >= self.chunk:
            self.flush(key, next_offset=buffer[-1].offset + 1)

    def flush(self, key: tuple[str, int], next_offset: int) -> None:
        topic, partition = key
        records = self.pending.pop(key, [])
        entries = write_records(self.archive, topic, records) if records else []
        for entry in entries:
            self.manifest.add_file(topic, entry, next_offset)
        part = self.manifest.topic(topic).partition(partition)
        part.next_offset = max(part.next_offset, next_offset)
        self.manifest.updated_at_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
        save_manifest(self.archive, self.manifest)
        self.files_written += len(entries)


def plan_ranges(manifest: Manifest, topic: str, bounds: dict[int, tuple[int, int]],
                report: ArchiveReport, prefix: str) -> list[PartitionRange]:
    """Per partition: resume at the manifest's next offset (or the first one held)."""
    ranges = []
    state = manifest.topic(topic)
    for partition, (first, end) in sorted(bounds.items()):
        resume = state.partition(partition).next_offset
        if resume > end:
            raise ArchiveError(
                f"{prefix}{topic}[{partition}] ends at offset {end} but the archive already "
                f"holds up to {resume - 1}: topic recreated? archive into a new directory")
        if 0 < resume < first:
            report.warnings.append(
                f"{prefix}{topic}[{partition}]: offsets {resume}..{first - 1} expired before "
                "they were archived")
        ranges.append(PartitionRange(topic, partition, max(resume, first), end))
    return ranges


async def archive_topics(
    settings: Settings, prefix: str, archive: Path, topics: Sequence[str], *,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    on_plan: Callable[[int], None] | None = None,
    on_records: Callable[[int], None] | None = None,
) -> ArchiveReport:
    """Append to `archive` what is new on `topics` under `prefix` since the last run.

    `settings` says which cluster; `prefix` whose topics.
    """
    manifest = load_manifest(archive)
    if manifest.listed_paths() and manifest.source_prefix != prefix:
        raise ArchiveError(
            f"{archive} archives the pipeline with prefix {manifest.source_prefix!r}, "
            f"not {prefix!r}: use another directory")
    manifest.source_prefix = prefix
    report = ArchiveReport()
    report.removed_orphans = len(remove_orphans(archive, manifest, topics))
    buffers = ChunkBuffer(archive, manifest, chunk_records)
    async with KafkaHistory(settings, prefix) as history:
        ranges: list[PartitionRange] = []
        for topic in topics:
            if not history.exists(topic):
                report.missing_topics.append(topic)
                continue
            bounds = await history.bounds(topic)
            ranges.extend(plan_ranges(manifest, topic, bounds, report, prefix))
        if on_plan is not None:
            on_plan(sum(r.size for r in ranges))
        async for records in history.read(ranges):
            buffers.add(records)
            topic = records[0].topic
            report.new_records[topic] = report.new_records.get(topic, 0) + len(records)
            if on_records is not None:
                on_records(len(records))
        for r in ranges:
            buffers.flush((r.topic, r.partition), next_offset=r.end)
        if not ranges:
            save_manifest(archive, manifest)
    report.new_files = buffers.files_written
    return report
