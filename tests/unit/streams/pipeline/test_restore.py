"""When a partition's store needs rebuilding, and what a rebuilt window store holds.

Edge restoration reads `lineage-graph` from the broker: tests/integration/
test_failover.py covers it end to end.
"""

from __future__ import annotations

import pytest

from state.transaction import Transaction
from streams.pipeline.metrics import Metrics
from streams.pipeline.restore import (
    PartitionCountMismatch,
    StateRestorer,
    check_partition_counts,
    is_current,
)
from streams.pipeline.stores import StoreRegistry
from streams.settings import Settings


@pytest.mark.parametrize(("store_offset", "committed", "current"), [
    (-1, None, True),    # nobody processed the partition yet
    (9, 10, True),       # this worker processed it last
    (12, 10, True),      # the store is ahead (its offset commit failed): it is the truth
    (-1, 10, False),     # a new worker: the state is elsewhere
    (4, 10, False),      # back to a worker that held it before: its store is stale
])
def test_a_store_is_current_up_to_the_committed_offset(
        store_offset: int, committed: int | None, current: bool) -> None:
    assert is_current(store_offset, committed) is current


def test_partition_counts_of_signals_and_graph_must_agree() -> None:
    settings = Settings(topic_prefix="t.")
    check_partition_counts(settings, {"t.flow-signals": [0, 1], "t.lineage-graph": [0, 1]})
    check_partition_counts(settings, {"t.flow-signals": [0, 1]})  # not created yet
    with pytest.raises(PartitionCountMismatch, match=r"t\.flow-signals has 2 partitions"):
        check_partition_counts(settings, {"t.flow-signals": [0, 1], "t.lineage-graph": [0]})


async def test_a_stale_window_store_restarts_empty_at_the_committed_offset(
        stores: StoreRegistry, metrics: Metrics) -> None:
    store = stores.get("probe-join", "probe-events", 2)
    tx = Transaction(store)
    tx.put(b"trace|left-behind", b"sealed")
    tx.commit(4)
    restorer = StateRestorer(Settings(), stores, metrics, static_verification_ms=1000)

    assert not await restorer.restore("probe-join", "probe-events", 2, committed=5)
    assert await restorer.restore("probe-join", "probe-events", 2, committed=40)

    assert store.offset() == 39 and store.get(b"trace|left-behind") is None
    assert metrics.counters["probe-join.restored_partitions"] == 1
    assert metrics.timings["restore.probe-join.2"][0] == 1


async def test_checking_a_partition_nobody_processed_creates_no_store(
        stores: StoreRegistry, metrics: Metrics) -> None:
    restorer = StateRestorer(Settings(), stores, metrics, static_verification_ms=1000)
    assert not await restorer.restore("edge-merge", "flow-signals", 0, committed=None)
    assert not (stores.root / "edge-merge").exists()
