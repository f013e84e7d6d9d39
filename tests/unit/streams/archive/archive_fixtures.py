"""Records and small archives for the archive unit tests (no broker)."""

from __future__ import annotations

from pathlib import Path

from streams.archive.manifest import Manifest, save_manifest
from streams.archive.records import Record
from streams.archive.writer import write_records

DAY_MS = 86_400_000
T0 = 1_737_540_600_000  # 2025-01-22T10:10:00Z


def records(topic: str, partition: int, first: int, count: int, *, ts: int = T0,
            step_ms: int = 1000) -> list[Record]:
    return [Record(topic=topic, partition=partition, offset=first + i,
                   timestamp=ts + i * step_ms, key=f"k{(first + i) % 3}".encode(),
                   value=f'{{"n":{first + i}}}'.encode())
            for i in range(count)]


def build_archive(root: Path, batches: list[list[Record]], *, prefix: str = "src-") -> Manifest:
    """Write each batch as archive files (one partition per batch) and save the manifest."""
    manifest = Manifest(source_prefix=prefix)
    for batch in batches:
        for entry in write_records(root, batch[0].topic, batch):
            manifest.add_file(batch[0].topic, entry, next_offset=batch[-1].offset + 1)
    save_manifest(root, manifest)
    return manifest
