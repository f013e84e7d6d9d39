"""The archive manifest: round trip, atomic replacement, resume points, orphans."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from archive_fixtures import DAY_MS, T0, build_archive, records

from streams.archive.manifest import (
    ArchiveError,
    Manifest,
    load_manifest,
    manifest_path,
    save_manifest,
)
from streams.archive.writer import (
    ArchiveReport,
    ChunkBuffer,
    plan_ranges,
    remove_orphans,
    write_records,
)


def test_a_new_directory_has_an_empty_manifest(tmp_path: Path) -> None:
    assert load_manifest(tmp_path / "new").topics == {}
    with pytest.raises(ArchiveError, match="no manifest"):
        load_manifest(tmp_path / "new", missing_ok=False)


def test_round_trip_keeps_files_offsets_and_counts(tmp_path: Path) -> None:
    built = build_archive(tmp_path, [records("probe-events", 0, 0, 5),
                                     records("probe-events", 2, 10, 3)])
    loaded = load_manifest(tmp_path)
    assert loaded == built
    state = loaded.topics["probe-events"]
    assert state.records == 8
    assert state.partitions[0].next_offset == 5
    assert state.partitions[2].next_offset == 13
    assert [f.path for f in state.files] == [
        "probe-events/date=2025-01-22/part-p0-0-4.parquet",
        "probe-events/date=2025-01-22/part-p2-10-12.parquet",
    ]


def test_an_unreadable_manifest_is_a_clear_error(tmp_path: Path) -> None:
    manifest_path(tmp_path).write_text("{not json")
    with pytest.raises(ArchiveError, match=r"manifest\.json: unreadable manifest"):
        load_manifest(tmp_path)


def test_a_failed_update_leaves_the_old_manifest_whole(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    old = build_archive(tmp_path, [records("policies", 0, 0, 2)])
    newer = load_manifest(tmp_path)
    newer.topic("policies").partition(0).next_offset = 99

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_manifest(tmp_path, newer)
    monkeypatch.undo()
    assert load_manifest(tmp_path) == old
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_files_split_by_date_and_are_zstd_parquet(tmp_path: Path) -> None:
    run = records("probe-events", 1, 0, 4, ts=T0, step_ms=DAY_MS // 2)
    entries = write_records(tmp_path, "probe-events", run)
    assert [(e.date, e.first_offset, e.last_offset, e.records) for e in entries] == [
        ("2025-01-22", 0, 1, 2), ("2025-01-23", 2, 3, 2)]
    meta = pq.ParquetFile(tmp_path / entries[0].path).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_table(tmp_path / entries[0].path).column_names == [
        "key", "value", "partition", "offset", "timestamp"]


def test_resume_starts_after_what_the_manifest_holds(tmp_path: Path) -> None:
    manifest = build_archive(tmp_path, [records("probe-events", 0, 0, 5)])
    report = ArchiveReport()
    ranges = plan_ranges(manifest, "probe-events", {0: (0, 8), 1: (0, 3)}, report, "src-")
    assert [(r.partition, r.start, r.end) for r in ranges] == [(0, 5, 8), (1, 0, 3)]
    again = plan_ranges(manifest, "probe-events", {0: (0, 5)}, report, "src-")
    assert [r.size for r in again] == [0]
    assert report.warnings == []


def test_expired_offsets_are_reported_and_skipped(tmp_path: Path) -> None:
    manifest = build_archive(tmp_path, [records("probe-events", 0, 0, 5)])
    report = ArchiveReport()
    ranges = plan_ranges(manifest, "probe-events", {0: (9, 12)}, report, "src-")
    assert (ranges[0].start, ranges[0].end) == (9, 12)
    assert report.warnings == ["src-probe-events[0]: offsets 5..8 expired before they were "
                               "archived"]


def test_a_recreated_topic_is_refused(tmp_path: Path) -> None:
    manifest = build_archive(tmp_path, [records("probe-events", 0, 0, 5)])
    with pytest.raises(ArchiveError, match="topic recreated"):
        plan_ranges(manifest, "probe-events", {0: (0, 2)}, ArchiveReport(), "src-")


def test_chunks_land_in_the_manifest_as_they_are_written(tmp_path: Path) -> None:
    manifest = Manifest(source_prefix="src-")
    buffers = ChunkBuffer(tmp_path, manifest, chunk=3)
    buffers.add(records("reviews", 0, 0, 2))
    assert load_manifest(tmp_path).topics == {}
    buffers.add(records("reviews", 0, 2, 2))
    on_disk = load_manifest(tmp_path)
    assert on_disk.topics["reviews"].partitions[0].next_offset == 4
    buffers.flush(("reviews", 0), next_offset=6)
    on_disk = load_manifest(tmp_path)
    assert on_disk.topics["reviews"].partitions[0].next_offset == 6
    assert on_disk.topics["reviews"].records == 4
    assert buffers.files_written == 1


def test_files_left_outside_the_manifest_are_removed(tmp_path: Path) -> None:
    manifest = build_archive(tmp_path, [records("probe-events", 0, 0, 3)])
    orphan = write_records(tmp_path, "probe-events", records("probe-events", 0, 3, 2))[0]
    tmp = tmp_path / "probe-events" / "date=2025-01-22" / ".part-p0-5-6.parquet.tmp"
    tmp.write_bytes(b"half")
    removed = remove_orphans(tmp_path, manifest, ["probe-events", "policies"])
    assert sorted(p.name for p in removed) == sorted([Path(orphan.path).name, tmp.name])
    assert (tmp_path / manifest.topics["probe-events"].files[0].path).exists()
