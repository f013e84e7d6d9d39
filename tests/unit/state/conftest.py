"""Factory fixtures for the state layer: real RocksDB stores in tmp_path, never mocks."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from state.jobs import JobCapsSpec, JobWindows
from state.rocksdb import PartitionStore
from state.sealing import Keyrings
from state.traces import TraceCapsSpec, TraceWindows
from state.transaction import Transaction

OpenStore = Callable[[], PartitionStore]


@pytest.fixture()
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "agent" / "topic-0"


@pytest.fixture()
def open_store(store_path: Path) -> Iterator[OpenStore]:
    """Opens the same on-disk store again (a restart); every store is closed at teardown.

    Close the previous one (`.close()`) before reopening: RocksDB holds a lock.
    """
    opened: list[PartitionStore] = []

    def factory() -> PartitionStore:
        store = PartitionStore(store_path)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        with contextlib.suppress(Exception):  # already closed by the test
            store.close()


@pytest.fixture()
def store(open_store: OpenStore) -> PartitionStore:
    return open_store()


@pytest.fixture()
def tx(store: PartitionStore) -> Transaction:
    return Transaction(store)


@pytest.fixture()
def keyrings() -> Keyrings:
    """The in-memory keys of every store a test opens (a restart: a new store object)."""
    return Keyrings(epoch_ms=50)


@pytest.fixture()
def make_traces(keyrings: Keyrings) -> Callable[..., TraceWindows]:
    def factory(tx: Transaction, *, size_ms: int = 100, allowed_lateness_ms: int = 50,
                max_captures: int = 100, max_bytes: int = 1 << 20) -> TraceWindows:
        return TraceWindows(tx, size_ms=size_ms, allowed_lateness_ms=allowed_lateness_ms,
                            caps=TraceCapsSpec(max_captures, max_bytes),
                            keys=keyrings.of(tx.store))

    return factory


@pytest.fixture()
def make_jobs() -> Callable[..., JobWindows]:
    def factory(tx: Transaction, *, size_ms: int = 1000, allowed_lateness_ms: int = 100,
                max_events: int = 100, max_bytes: int = 1 << 20) -> JobWindows:
        return JobWindows(tx, size_ms=size_ms, allowed_lateness_ms=allowed_lateness_ms,
                          caps=JobCapsSpec(max_events, max_bytes))

    return factory
