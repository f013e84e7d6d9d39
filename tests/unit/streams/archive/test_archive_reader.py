"""Reading an archive back: offset order per partition, corrupted files skipped alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from archive_fixtures import T0, build_archive, records

from streams.archive.manifest import ArchiveError, save_manifest
from streams.archive.reader import ArchiveReader, Skipped


def _archive(tmp_path: Path) -> ArchiveReader:
    build_archive(tmp_path, [
        records("probe-events", 0, 0, 4),
        records("probe-events", 0, 4, 3, ts=T0 + 10_000),
        records("probe-events", 0, 7, 2, ts=T0 + 20_000),
        records("policies", 0, 0, 1),
    ])
    return ArchiveReader.open(tmp_path)


def test_records_come_back_whole_and_in_offset_order(tmp_path: Path) -> None:
    reader = _archive(tmp_path)
    got = list(reader.records("probe-events", 0))
    assert got == records("probe-events", 0, 0, 4) + records(
        "probe-events", 0, 4, 3, ts=T0 + 10_000) + records("probe-events", 0, 7, 2,
                                                         ts=T0 + 20_000)
    assert reader.count(["probe-events", "policies", "reviews"]) == 10
    assert reader.skipped == []


def test_a_truncated_file_is_skipped_and_named(tmp_path: Path) -> None:
    reader = _archive(tmp_path)
    middle = tmp_path / reader.files("probe-events", 0)[1].path
    middle.write_bytes(middle.read_bytes()[:40])
    seen: list[Skipped] = []
    reader.on_skip = seen.append
    got = [r.offset for r in reader.records("probe-events", 0)]
    assert got == [0, 1, 2, 3, 7, 8]
    assert len(seen) == 1 and seen == reader.skipped
    assert seen[0].path == middle
    assert seen[0].records == 3
    assert "unreadable Parquet" in seen[0].reason
    assert str(middle) in str(seen[0])
    assert [r.offset for r in reader.records("policies", 0)] == [0]


@pytest.mark.parametrize("damage", ["missing", "garbage", "wrong_count"])
def test_other_kinds_of_damage_are_skipped(tmp_path: Path, damage: str) -> None:
    reader = _archive(tmp_path)
    first = reader.files("probe-events", 0)[0]
    path = tmp_path / first.path
    if damage == "missing":
        path.unlink()
        reason = "file is missing"
    elif damage == "garbage":
        path.write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
        reason = "unreadable Parquet"
    else:
        state = reader.manifest.topics["probe-events"]
        state.files[0] = type(first)(**{**first.to_json(), "records": 5})
        save_manifest(tmp_path, reader.manifest)
        reader = ArchiveReader.open(tmp_path)
        reason = "4 records, the manifest lists 5"
    assert [r.offset for r in reader.records("probe-events", 0)] == [4, 5, 6, 7, 8]
    assert len(reader.skipped) == 1
    assert reason in reader.skipped[0].reason


def test_since_starts_at_the_first_record_at_or_after_it(tmp_path: Path) -> None:
    reader = _archive(tmp_path)
    got = [r.offset for r in reader.records("probe-events", 0, since_ms=T0 + 11_000)]
    assert got == [5, 6, 7, 8]


def test_a_directory_without_manifest_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="not an archive directory"):
        ArchiveReader.open(tmp_path)
