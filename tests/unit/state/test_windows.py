"""EventTimeWindows: event-time watermark, open/close by watermark + lateness, persisted index."""

from __future__ import annotations

from collections.abc import Callable

from state.rocksdb import PartitionStore
from state.transaction import Transaction
from state.windows import EventTimeWindows, open_windows

SIZE, LATENESS = 100, 50


def windows(tx: Transaction) -> EventTimeWindows:
    return EventTimeWindows(tx, "w", size_ms=SIZE, allowed_lateness_ms=LATENESS)


def test_watermark_starts_below_any_event_and_never_goes_back(tx: Transaction) -> None:
    w = windows(tx)
    assert w.watermark == -1
    w.advance(500)
    w.advance(200)
    assert w.watermark == 500
    w.advance(501)
    assert w.watermark == 501


def test_window_closes_at_first_ts_plus_size_plus_lateness(tx: Transaction) -> None:
    w = windows(tx)
    w.advance(1000)
    meta = w.open("k", 1000)
    assert (meta.first_ts, meta.close_at) == (1000, 1000 + SIZE + LATENESS)


def test_open_returns_the_existing_window(tx: Transaction) -> None:
    w = windows(tx)
    w.open("k", 1000)
    again = w.open("k", 1040)
    assert again.first_ts == 1000


def test_window_stays_open_until_the_watermark_reaches_close_at(tx: Transaction) -> None:
    w = windows(tx)
    w.advance(1000)
    w.open("k", 1000)
    w.advance(1149)
    assert w.close_expired() == []
    assert w.meta("k") is not None
    w.advance(1150)
    closed = w.close_expired()
    assert [key for key, _ in closed] == ["k"]
    assert closed[0][1].close_at == 1150
    assert w.meta("k") is None
    assert list(tx.scan_prefix(b"w|x|")) == []  # expiry index entry gone too
    assert w.close_expired() == []


def test_windows_close_in_close_time_order_and_only_the_expired(tx: Transaction) -> None:
    w = windows(tx)
    for key, ts in (("late-opened", 1300), ("first", 1000), ("second", 1100)):
        w.advance(ts)
        w.open(key, ts)
    w.advance(1260)  # past 1150 and 1250, not 1450
    assert [key for key, _ in w.close_expired()] == ["first", "second"]
    assert w.meta("late-opened") is not None


def test_is_late_exactly_when_the_events_own_window_is_closed(tx: Transaction) -> None:
    w = windows(tx)
    w.advance(2000)
    assert w.is_late(2000 - SIZE - LATENESS)
    assert not w.is_late(2000 - SIZE - LATENESS + 1)
    assert not w.is_late(1990)  # out of order, inside the window


def test_keys_with_separators_round_trip_through_the_index(tx: Transaction) -> None:
    w = windows(tx)
    w.advance(10)
    w.open("a|b|c", 10)
    w.advance(10_000)
    assert [key for key, _ in w.close_expired()] == ["a|b|c"]


def test_meta_counts_are_persisted_with_save(tx: Transaction) -> None:
    w = windows(tx)
    meta = w.open("k", 10)
    meta.count, meta.size, meta.overflow = 3, 120, 1
    w.save("k", meta)
    assert w.meta("k") == meta
    tx.commit(0)
    assert windows(Transaction(tx.store)).meta("k") == meta


def test_window_changes_reach_the_store_only_at_commit(tx: Transaction) -> None:
    w = windows(tx)
    w.advance(1000)
    meta = w.open("k", 1000)
    meta.count = 2
    w.save("k", meta)
    assert tx.get(b"w|w") is None  # buffered: one write per batch, not per event
    tx.commit(7)
    again = windows(Transaction(tx.store))
    assert again.watermark == 1000
    assert again.meta("k") == meta


def test_watermark_meta_and_index_survive_a_restart(
    open_store: Callable[[], PartitionStore],
) -> None:
    store = open_store()
    tx = Transaction(store)
    w = windows(tx)
    w.advance(1000)
    w.open("k", 1000)
    w.advance(1100)
    tx.commit(0)
    store.close()

    tx = Transaction(open_store())
    w = windows(tx)
    assert w.watermark == 1100
    assert w.meta("k") is not None
    w.advance(1150)
    assert [key for key, _ in w.close_expired()] == ["k"]


def test_namespaces_do_not_share_windows_or_watermarks(tx: Transaction) -> None:
    one = EventTimeWindows(tx, "one", size_ms=SIZE, allowed_lateness_ms=LATENESS)
    two = EventTimeWindows(tx, "two", size_ms=SIZE, allowed_lateness_ms=LATENESS)
    one.advance(5000)
    one.open("k", 5000)
    assert two.watermark == -1
    assert two.meta("k") is None


def test_close_if_expired_closes_one_key_only_once_its_time_has_come(tx: Transaction) -> None:
    w = windows(tx)
    w.advance(1000)
    w.open("k", 1000)
    w.open("j", 1000)
    w.advance(1149)
    assert w.close_if_expired("k") is None
    w.advance(1150)
    meta = w.close_if_expired("k")
    assert meta is not None and meta.close_at == 1150
    assert w.meta("k") is None
    assert [key for key, _ in w.close_expired()] == ["j"]  # k's index entry went with it
    assert w.close_if_expired("missing") is None


def test_the_open_window_count_is_kept_in_the_store(store: PartitionStore) -> None:
    """For the metrics: opened minus closed, across transactions and restarts."""
    tx = Transaction(store)
    windows = EventTimeWindows(tx, "trace", size_ms=100, allowed_lateness_ms=0)
    for i, key in enumerate(("a", "b", "c")):
        windows.open(key, 1000 + i)
    windows.open("a", 1010)  # already open: not counted twice
    assert open_windows(store, "trace") == 0  # not committed yet
    tx.commit(0)
    assert open_windows(store, "trace") == 3
    tx = Transaction(store)
    windows = EventTimeWindows(tx, "trace", size_ms=100, allowed_lateness_ms=0)
    windows.advance(1100)
    assert len(windows.close_expired()) == 1
    tx.commit(1)
    assert open_windows(store, "trace") == 2
    assert open_windows(store, "job") == 0
