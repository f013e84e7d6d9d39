"""GraphStore: deltas applied by version, deletes with tombstones, offsets, rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from state.graph import EdgeRef, GraphStore
from state.rocksdb import PartitionStore
from tests.unit.state.graph_fixtures import delta, record

T = "hive://warehouse/default.t"
U = "hive://warehouse/default.u"


@pytest.fixture()
def graph(tmp_path: Path) -> Any:
    store = GraphStore.open(tmp_path / "graph")
    yield store
    store.close()


def test_upsert_links_both_directions_and_keeps_the_delta(graph: GraphStore) -> None:
    change = graph.apply_delta(delta("a#x", "b#y", 1))
    assert change is not None and change.op == "upsert" and change.before is None
    assert graph.direct_edges("a#x", "downstream") == [
        EdgeRef("a#x", "b#y", "high", ("EXACT_MATCH",), 0.9)]
    assert graph.direct_edges("b#y", "upstream")[0].src == "a#x"
    assert graph.edge("a#x -> b#y")["evidence"] == {"runtime_exact": 1}
    assert graph.edge_count() == 1
    assert graph.fields("a", "downstream") == ["a#x"]
    assert graph.fields("b", "upstream") == ["b#y"]


def test_newer_version_replaces_attributes(graph: GraphStore) -> None:
    graph.apply_delta(delta("a", "b", 1, confidence="low", kinds=("NO_MATCH",)))
    change = graph.apply_delta(delta("a", "b", 2, confidence="medium", kinds=("CONTAINS",)))
    assert change is not None and change.before is not None and change.after is not None
    assert (change.before.confidence, change.after.confidence) == ("low", "medium")
    assert [e.confidence for e in graph.direct_edges("a", "downstream")] == ["medium"]
    assert graph.edge_count() == 1


def test_out_of_order_versions_keep_the_highest(graph: GraphStore) -> None:
    graph.apply_delta(delta("a", "b", 3, confidence="high"))
    assert graph.apply_delta(delta("a", "b", 2, confidence="low")) is None
    assert graph.apply_delta(delta("a", "b", 3, confidence="low")) is None
    assert graph.edge("a -> b")["confidence"] == "high"
    assert graph.version("a -> b") == 3


def test_delete_removes_adjacency_and_keeps_a_tombstone(graph: GraphStore) -> None:
    graph.apply_delta(delta("t#f", "u#g", 1))
    change = graph.apply_delta(delta("t#f", "u#g", 2, op="delete"))
    assert change is not None and change.op == "delete" and change.after is None
    assert graph.direct_edges("t#f", "downstream") == []
    assert graph.direct_edges("u#g", "upstream") == []
    assert graph.fields("t", "downstream") == [] and graph.fields("u", "upstream") == []
    assert graph.edge("t#f -> u#g") is None
    assert graph.version("t#f -> u#g") == 2
    assert graph.edge_count() == 0
    # An older upsert replayed later does not resurrect it; a newer one does.
    assert graph.apply_delta(delta("t#f", "u#g", 1)) is None
    assert graph.edge_count() == 0
    assert graph.apply_delta(delta("t#f", "u#g", 3)) is not None
    assert graph.edge_count() == 1


def test_delete_before_upsert_blocks_older_upserts(graph: GraphStore) -> None:
    assert graph.apply_delta(delta("a", "b", 5, op="delete")) is None
    assert graph.apply_delta(delta("a", "b", 4)) is None
    assert list(graph.edges()) == []


def test_field_index_stays_while_another_edge_remains(graph: GraphStore) -> None:
    graph.apply_delta(delta("t#f", "x", 1))
    graph.apply_delta(delta("t#f", "y", 1))
    graph.apply_delta(delta("t#f", "x", 2, op="delete"))
    assert graph.fields("t", "downstream") == ["t#f"]


def test_apply_records_skips_applied_offsets_and_stores_them(graph: GraphStore) -> None:
    changes = graph.apply([record(0, 0, delta("a", "b", 1)), record(1, 5, delta("c", "d", 1))])
    assert len(changes) == 2
    assert graph.offsets() == {0: 0, 1: 5}
    # Redelivered offsets are skipped even if the delta would be new.
    assert graph.apply([record(0, 0, delta("a", "b", 9))]) == []
    assert graph.version("a -> b") == 1
    graph.apply([record(0, 1, delta("a", "b", 2, confidence="low"))])
    assert graph.offsets() == {0: 1, 1: 5}
    assert graph.edge("a -> b")["confidence"] == "low"


def test_a_batch_sees_its_own_writes(graph: GraphStore) -> None:
    changes = graph.apply([record(0, 0, delta("a", "b", 1)), record(0, 1, delta("a", "b", 2)),
                           record(0, 2, delta("a", "b", 3, op="delete")),
                           record(0, 3, delta("a", "b", 2))])
    assert [c.op for c in changes] == ["upsert", "upsert", "delete"]
    assert graph.edge_count() == 0 and graph.direct_edges("a", "downstream") == []


def test_kafka_tombstone_purges_the_edge_and_its_version(graph: GraphStore) -> None:
    graph.apply([record(0, 0, delta("a", "b", 4))])
    changes = graph.apply([record(0, 1, None, key="a -> b")])
    assert [c.op for c in changes] == ["delete"]
    assert graph.version("a -> b") is None and graph.edge_count() == 0


def test_bad_records_are_skipped_not_fatal(graph: GraphStore) -> None:
    bad = [(0, 0, b"k", b"not json"), (0, 1, b"k", b'{"op":"upsert"}'),
           (0, 2, b"k", orjson.dumps(delta("a", "b", 1, confidence="certain"))),
           (0, 3, b"k", orjson.dumps(delta("a", "b", 1, op="merge")))]
    assert graph.apply([*bad, record(0, 4, delta("a", "b", 1))])[0].edge_id == "a -> b"
    assert graph.skipped == 4
    assert graph.offsets() == {0: 4}


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    first = GraphStore.open(tmp_path / "g")
    first.apply([record(2, 7, delta("a", "b", 1))])
    first.close()
    again = GraphStore.open(tmp_path / "g")
    try:
        assert again.offsets() == {2: 7}
        assert [e["edge_id"] for e in again.edges()] == ["a -> b"]
    finally:
        again.close()


def test_rebuild_from_the_records_gives_the_same_graph(tmp_path: Path) -> None:
    records = [record(i % 3, i // 3, delta(f"n{i % 7}", f"n{(i * 3) % 11}", 1 + i // 20,
                                           op="delete" if i % 13 == 0 else "upsert"))
               for i in range(200)]
    incremental = GraphStore.open(tmp_path / "inc")
    for i in range(0, len(records), 17):
        incremental.apply(records[i:i + 17])
    rebuilt = GraphStore.open(tmp_path / "rebuilt")
    rebuilt.apply(records)
    try:
        assert list(incremental.edges()) == list(rebuilt.edges())
        assert incremental.edge_count() == rebuilt.edge_count() == len(list(rebuilt.edges()))
        for n in range(11):
            for direction in ("downstream", "upstream"):
                assert (incremental.direct_edges(f"n{n}", direction)
                        == rebuilt.direct_edges(f"n{n}", direction))
    finally:
        incremental.close()
        rebuilt.close()


def test_holders_follow_table_semantics(graph: GraphStore) -> None:
    graph.apply_delta(delta(f"{T}#a", "x", 1))
    graph.apply_delta(delta(f"{T}#b", "y", 1))
    graph.apply_delta(delta(T, U, 1))
    assert graph.holders(f"{T}#a", "downstream") == [f"{T}#a", T]
    assert graph.holders(T, "downstream") == [T, f"{T}#a", f"{T}#b"]
    assert {e.dst for e in graph.neighbors(f"{T}#a", "downstream")} == {"x", U}
    assert {e.dst for e in graph.neighbors(T, "downstream")} == {"x", "y", U}


def test_store_is_a_partition_store(tmp_path: Path) -> None:
    graph = GraphStore(PartitionStore(tmp_path / "p"))
    graph.apply_delta(delta("a", "b", 1))
    assert graph.edge_count() == 1
    graph.close()
