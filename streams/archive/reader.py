"""Read an archive back: records per topic partition, in offset order.

Only files the manifest lists are read. A file that cannot be read whole (not
Parquet, truncated, wrong columns, fewer or other records than the manifest
says) is skipped as a unit, reported through `on_skip` with its path and the
reason, and remembered in `skipped`; every other file is still read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streams.archive.manifest import FileEntry, Manifest, load_manifest
from streams.archive.records import Record
from streams.archive.writer import SCHEMA


@dataclass(frozen=True)
class Skipped:
    """An archive file that was not read, and why."""

    path: Path
    reason: str
    records: int

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason} ({self.records} records not read)"


class CorruptFile(Exception):
    """One archive file is unusable; the message says why, without any record content."""


def _check(table: pa.Table, entry: FileEntry) -> None:
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if missing:
        raise CorruptFile(f"missing columns {', '.join(missing)}")
    if table.num_rows != entry.records:
        raise CorruptFile(f"{table.num_rows} records, the manifest lists {entry.records}")
    if table.num_rows:
        offsets = table.column("offset").to_pylist()
        partitions = set(table.column("partition").to_pylist())
        if offsets[0] != entry.first_offset or offsets[-1] != entry.last_offset:
            raise CorruptFile(f"offsets {offsets[0]}..{offsets[-1]} do not match the manifest "
                              f"({entry.first_offset}..{entry.last_offset})")
        if partitions != {entry.partition}:
            raise CorruptFile("records of another partition")


def read_file(archive: Path, topic: str, entry: FileEntry) -> list[Record]:
    """Every record of one archive file, or CorruptFile."""
    path = archive / entry.path
    try:
        table = pq.read_table(path, columns=SCHEMA.names)
    except FileNotFoundError:
        raise CorruptFile("file is missing") from None
    except (OSError, pa.ArrowException, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CorruptFile(f"unreadable Parquet: {first_line}") from exc
    _check(table, entry)
    columns = table.to_pydict()
    return [
        Record(topic=topic, partition=p, offset=o, timestamp=t, key=k, value=v)
        for k, v, p, o, t in zip(columns["key"], columns["value"], columns["partition"],
                                 columns["offset"], columns["timestamp"], strict=True)
    ]


@dataclass
class ArchiveReader:
    """An archive directory opened for reading; `skipped` fills as files are read."""

    archive: Path
    manifest: Manifest
    on_skip: Callable[[Skipped], None] | None = None
    skipped: list[Skipped] = field(default_factory=list)

    @classmethod
    def open(cls, archive: Path, on_skip: Callable[[Skipped], None] | None = None
             ) -> ArchiveReader:
        return cls(archive, load_manifest(archive, missing_ok=False), on_skip)

    def topics(self) -> list[str]:
        return sorted(self.manifest.topics)

    def partitions(self, topic: str) -> list[int]:
        state = self.manifest.topics.get(topic)
        return sorted(state.partitions) if state else []

    def count(self, topics: list[str]) -> int:
        """Records the manifest lists for `topics`."""
        return sum(self.manifest.topics[t].records for t in topics if t in self.manifest.topics)

    def files(self, topic: str, partition: int) -> list[FileEntry]:
        state = self.manifest.topics.get(topic)
        if state is None:
            return []
        return sorted((f for f in state.files if f.partition == partition),
                      key=lambda f: f.first_offset)

    def records(self, topic: str, partition: int, *, since_ms: int | None = None
                ) -> Iterator[Record]:
        """One partition's records in offset order, one file in memory at a time.

        With `since_ms`, start at the first record whose timestamp is at or after
        it and keep everything after (as Kafka's offsets-for-times would).
        """
        started = since_ms is None
        for entry in self.files(topic, partition):
            try:
                records = read_file(self.archive, topic, entry)
            except CorruptFile as exc:
                self._skip(Skipped(self.archive / entry.path, str(exc), entry.records))
                continue
            for record in records:
                if not started and record.timestamp >= (since_ms or 0):
                    started = True
                if started:
                    yield record

    def _skip(self, skipped: Skipped) -> None:
        self.skipped.append(skipped)
        if self.on_skip is not None:
            self.on_skip(skipped)
