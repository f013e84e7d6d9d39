"""The archive's manifest: what was copied, per topic and partition, and where.

`DIR/manifest.json` is the archive's truth. A Parquet file counts only once
the manifest lists it; the manifest is replaced atomically (temp file, fsync,
rename) after each file lands, so a run interrupted at any point leaves either
the old manifest or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


class ArchiveError(Exception):
    """The archive cannot be used as asked; the message is one line."""


@dataclass(frozen=True)
class FileEntry:
    """One Parquet file: a run of consecutive records of one partition and one date."""

    path: str  # relative to the archive directory, with forward slashes
    partition: int
    first_offset: int
    last_offset: int
    records: int
    date: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "partition": self.partition,
                "first_offset": self.first_offset, "last_offset": self.last_offset,
                "records": self.records, "date": self.date}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileEntry:
        return cls(path=str(data["path"]), partition=int(data["partition"]),
                   first_offset=int(data["first_offset"]), last_offset=int(data["last_offset"]),
                   records=int(data["records"]), date=str(data["date"]))


@dataclass
class PartitionState:
    """Where the next run resumes (`next_offset`) and how many records are archived."""

    next_offset: int = 0
    records: int = 0


@dataclass
class TopicState:
    partitions: dict[int, PartitionState] = field(default_factory=dict)
    files: list[FileEntry] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partitions.values())

    def partition(self, number: int) -> PartitionState:
        return self.partitions.setdefault(number, PartitionState())


@dataclass
class Manifest:
    """Per topic (contract name, unprefixed): partitions and files."""

    source_prefix: str = ""
    topics: dict[str, TopicState] = field(default_factory=dict)
    updated_at_ms: int = 0

    def topic(self, name: str) -> TopicState:
        return self.topics.setdefault(name, TopicState())

    def add_file(self, topic: str, entry: FileEntry, next_offset: int) -> None:
        """Record a landed file and move its partition's resume point past it."""
        state = self.topic(topic)
        state.files.append(entry)
        part = state.partition(entry.partition)
        part.records += entry.records
        part.next_offset = max(part.next_offset, next_offset)

    def listed_paths(self) -> set[str]:
        return {f.path for t in self.topics.values() for f in t.files}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "source_prefix": self.source_prefix,
            "updated_at_ms": self.updated_at_ms,
            "topics": {
                name: {
                    "records": state.records,
                    "partitions": {str(n): {"next_offset": p.next_offset, "records": p.records}
                                   for n, p in sorted(state.partitions.items())},
                    "files": [f.to_json() for f in state.files],
                }
                for name, state in sorted(self.topics.items())
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise ValueError(f"not a format {FORMAT_VERSION} archive manifest")
        manifest = cls(source_prefix=str(data.get("source_prefix", "")),
                       updated_at_ms=int(data.get("updated_at_ms", 0)))
        for name, raw in dict(data["topics"]).items():
            state = manifest.topic(str(name))
            for number, part in dict(raw["partitions"]).items():
                state.partitions[int(number)] = PartitionState(
                    next_offset=int(part["next_offset"]), records=int(part["records"]))
            state.files = [FileEntry.from_json(f) for f in raw["files"]]
        return manifest


def manifest_path(archive: Path) -> Path:
    return archive / MANIFEST_NAME


def load_manifest(archive: Path, *, missing_ok: bool = True) -> Manifest:
    """The archive's manifest; an empty one for a new archive when `missing_ok`."""
    path = manifest_path(archive)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return Manifest()
        raise ArchiveError(f"{path}: no manifest; not an archive directory") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read manifest: {exc.strerror}") from exc
    try:
        return Manifest.from_json(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"{path}: unreadable manifest: {exc}") from exc


def save_manifest(archive: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: write a temp file, fsync, rename over."""
    archive.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps(manifest.to_json(), option=orjson.OPT_INDENT_2)
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=archive)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, manifest_path(archive))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(archive)


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
