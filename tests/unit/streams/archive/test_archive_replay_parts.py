"""Replay building blocks without a broker: rate limiter, --since parsing, ordering."""

from __future__ import annotations

import pytest
from archive_fixtures import T0, records

from streams.archive.manifest import ArchiveError
from streams.archive.ratelimit import TokenBucket
from streams.archive.records import Record
from streams.archive.replay import check_partitions, interleave
from streams.archive.timeparse import parse_time


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_lets_a_burst_through_then_paces() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    assert bucket.take() == 0
    assert bucket.take() == 0
    assert bucket.take() == pytest.approx(0.1)
    assert bucket.take() == pytest.approx(0.2)


def test_bucket_refills_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    bucket.take(2)
    clock.now += 0.1
    assert bucket.take() == pytest.approx(0, abs=1e-9)
    clock.now += 60
    assert bucket.take(2) == 0
    assert bucket.take() == pytest.approx(0.1)


def test_bucket_average_rate_is_exact() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, clock=clock)
    waited = 0.0
    for _ in range(10_000):
        delay = bucket.take()
        clock.now += delay
        waited += delay
    assert waited == pytest.approx((10_000 - bucket.burst) / 1000, rel=1e-6)


def test_bucket_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


@pytest.mark.parametrize(("text", "expected"), [
    ("1737540600123", 1737540600123),
    ("0", 0),
    ("2025-01-22T10:10:00Z", 1737540600000),
    ("2025-01-22T10:10:00+00:00", 1737540600000),
    ("2025-01-22T11:10:00+01:00", 1737540600000),
    ("2025-01-22T10:10:00", 1737540600000),
    ("2025-01-22T10:10:00.123Z", 1737540600123),
    ("2025-01-22", 1737504000000),
    (" 2025-01-22 ", 1737504000000),
])
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "", "2025-13-01", "12:00"])
def test_parse_time_rejects_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time(text)


def test_interleave_keeps_each_partition_in_offset_order() -> None:
    # Partition 0's timestamps go backwards; its order must still hold.
    p0 = [Record("probe-events", 0, i, ts, b"k", b"v")
          for i, ts in enumerate([T0 + 5, T0 + 1, T0 + 9])]
    p1 = records("probe-events", 1, 0, 3, ts=T0, step_ms=3)
    merged = list(interleave([p0, p1]))
    assert sorted(merged, key=lambda r: (r.partition, r.offset)) == sorted(
        p0 + p1, key=lambda r: (r.partition, r.offset))
    for partition in (0, 1):
        offsets = [r.offset for r in merged if r.partition == partition]
        assert offsets == sorted(offsets)
    assert list(interleave([p0, p1])) == merged  # deterministic


def test_partitions_must_exist_at_the_destination() -> None:
    check_partitions({"probe-events": [0, 3]}, {"probe-events": 4})
    with pytest.raises(ArchiveError, match=r"partition 5 but topology\.yaml gives 4"):
        check_partitions({"probe-events": [5]}, {"probe-events": 4})
    with pytest.raises(ArchiveError, match="not a topic"):
        check_partitions({"nope": [0]}, {"probe-events": 4})
