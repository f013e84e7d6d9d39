"""PartitionStore: an ordered bytes store whose offset is written atomically with the state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from state.rocksdb import PartitionStore, StoreLockedError

OpenStore = Callable[[], PartitionStore]


def test_new_store_is_empty_with_offset_minus_one(store: PartitionStore) -> None:
    assert store.offset() == -1
    assert store.get(b"k") is None
    assert list(store.scan(b"", b"\xff")) == []


def test_puts_and_deletes_apply_together_with_the_offset(store: PartitionStore) -> None:
    store.write({b"a": b"1", b"b": b"2"}, offset=7)
    assert store.get(b"a") == b"1"
    assert store.offset() == 7
    store.write({b"a": None, b"c": b"3"}, offset=9)
    assert store.get(b"a") is None
    assert store.get(b"c") == b"3"
    assert store.offset() == 9


def test_write_without_offset_keeps_the_offset(store: PartitionStore) -> None:
    store.write({}, offset=3)
    store.write({b"x": b"1"})
    assert store.offset() == 3


def test_get_returns_bytes(store: PartitionStore) -> None:
    store.write({b"k": b"\x00\x01binary"})
    value = store.get(b"k")
    assert isinstance(value, bytes)
    assert value == b"\x00\x01binary"


def test_scan_is_ordered_and_end_exclusive(store: PartitionStore) -> None:
    store.write({b"b": b"2", b"a": b"1", b"c": b"3", b"ab": b"12", b"d": b"4"})
    assert list(store.scan(b"a", b"c")) == [(b"a", b"1"), (b"ab", b"12"), (b"b", b"2")]
    assert list(store.scan(b"c", b"c")) == []


def test_offset_key_never_shows_in_a_user_scan(store: PartitionStore) -> None:
    store.write({b"a": b"1"}, offset=5)
    assert list(store.scan(b"\x01", b"\xff")) == [(b"a", b"1")]


def test_state_and_offset_survive_a_restart(open_store: OpenStore) -> None:
    first = open_store()
    first.write({b"trace|k": b"v"}, offset=41)
    first.close()
    second = open_store()
    assert second.get(b"trace|k") == b"v"
    assert second.offset() == 41


def test_a_second_writer_on_the_same_path_is_refused(store: PartitionStore, store_path: Path,
                                                     ) -> None:
    with pytest.raises(StoreLockedError, match="in use"):
        PartitionStore(store_path)
