"""EdgeStore: edge states by id, a persisted watermark, and static-verification deadlines."""

from __future__ import annotations

from collections.abc import Callable

from state.edges import EdgeStore, restored_records
from state.rocksdb import PartitionStore
from state.transaction import Transaction
from vocab import EdgeState


def edge(src: str = "a://x/s#f", dst: str = "b://y/d#f") -> EdgeState:
    return EdgeState(src=src, dst=dst, counts={"STATIC": 1}, first_seen=10, last_seen=10,
                     version=1)


def test_put_then_get_round_trips(tx: Transaction) -> None:
    edges = EdgeStore(tx)
    state = edge()
    assert edges.get(state.edge_id) is None
    edges.put(state)
    assert edges.get(state.edge_id) == state


def test_edge_ids_that_prefix_each_other_are_distinct(tx: Transaction) -> None:
    edges = EdgeStore(tx)
    short, long = edge("a", "b"), edge("a", "b#c")
    edges.put(short)
    edges.put(long)
    assert edges.get(short.edge_id) == short
    assert edges.get(long.edge_id) == long


def test_watermark_only_moves_forward(tx: Transaction) -> None:
    edges = EdgeStore(tx)
    assert edges.watermark == -1
    edges.advance(100)
    edges.advance(50)
    assert edges.watermark == 100


def test_static_deadline_is_due_once_the_watermark_passes_it(tx: Transaction) -> None:
    edges = EdgeStore(tx)
    edges.watch_static("e1", 100)
    edges.watch_static("e0", 50)
    edges.advance(100)
    assert edges.due_static() == ["e0"]  # 100 is not past 100
    edges.advance(101)
    assert edges.due_static() == ["e1"]
    assert edges.due_static() == []  # due entries are removed


def test_static_deadlines_come_out_in_deadline_order(tx: Transaction) -> None:
    edges = EdgeStore(tx)
    for deadline, edge_id in ((900, "c"), (5, "a"), (60, "b|x -> y")):
        edges.watch_static(edge_id, deadline)
    edges.advance(10_000)
    assert edges.due_static() == ["a", "b|x -> y", "c"]


def test_edges_watermark_and_deadlines_survive_a_restart(
    open_store: Callable[[], PartitionStore],
) -> None:
    store = open_store()
    tx = Transaction(store)
    edges = EdgeStore(tx)
    state = edge()
    edges.put(state)
    edges.advance(40)
    edges.watch_static(state.edge_id, 100)
    tx.commit(8)
    store.close()

    edges = EdgeStore(Transaction(open_store()))
    assert edges.watermark == 40
    assert edges.get(state.edge_id) == state
    edges.advance(101)
    assert edges.due_static() == [state.edge_id]


def test_restored_records_rebuild_edges_watermark_and_static_deadlines(
        open_store: Callable[[], PartitionStore]) -> None:
    store = open_store()
    stale = Transaction(store)
    EdgeStore(stale).put(edge("old", "gone"))
    stale.commit(3)
    live = EdgeState(src="a", dst="b", counts={"EXACT_MATCH": 2}, first_seen=5, last_seen=40,
                     version=4)
    static = edge("s", "t")  # static only, first seen at 10
    store.reset(restored_records([live, static], verification_ms=100), offset=99)

    assert store.offset() == 99
    edges = EdgeStore(Transaction(store))
    assert edges.get(live.edge_id) == live and edges.get(static.edge_id) == static
    assert edges.get(edge("old", "gone").edge_id) is None  # the stale store is gone
    assert edges.watermark == 40
    edges.advance(111)
    assert edges.due_static() == [static.edge_id]
