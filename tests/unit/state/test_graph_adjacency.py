"""GraphStore's adjacency lists (one key per asset and direction) and their cache."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from state.graph import EdgeRef, GraphStore
from state.graph.store import AdjacencyCache, _Adjacency
from state.rocksdb import PartitionStore
from state.rocksdb.graph_db import GraphDB
from tests.unit.state.graph_fixtures import delta, record


@pytest.fixture()
def graph(tmp_path: Path) -> Iterator[GraphStore]:
    store = GraphStore.open(tmp_path / "graph", cache_edges=1000)
    yield store
    store.close()


def test_reads_are_cached_and_apply_invalidates_them(graph: GraphStore) -> None:
    assert graph.cache is not None
    graph.apply_delta(delta("t#a", "u#x", 1))
    assert [e.dst for e in graph.direct_edges("t#a", "downstream")] == ["u#x"]
    hits = graph.cache.hits
    assert [e.dst for e in graph.direct_edges("t#a", "downstream")] == ["u#x"]
    assert graph.cache.hits == hits + 1
    # Cached lists (also empty ones, and the table's field index) see every later write.
    assert graph.direct_edges("u#x", "downstream") == []
    assert graph.fields("t", "downstream") == ["t#a"]
    graph.apply([record(0, 0, delta("t#a", "v#y", 1)), record(0, 1, delta("u#x", "w", 1)),
                 record(0, 2, delta("t#b", "w", 1))])
    assert [e.dst for e in graph.direct_edges("t#a", "downstream")] == ["u#x", "v#y"]
    assert [e.dst for e in graph.direct_edges("u#x", "downstream")] == ["w"]
    assert graph.fields("t", "downstream") == ["t#a", "t#b"]
    graph.apply_delta(delta("t#a", "u#x", 2, confidence="low", kinds=("NO_MATCH",)))
    assert graph.direct_edges("t#a", "downstream")[0] == EdgeRef(
        "t#a", "u#x", "low", ("NO_MATCH",), 0.9)
    graph.apply_delta(delta("t#b", "w", 2, op="delete"))
    assert graph.fields("t", "downstream") == ["t#a"]
    graph.apply([record(0, 3, None, key="t#a -> u#x"), record(0, 4, None, key="t#a -> v#y")])
    assert graph.direct_edges("t#a", "downstream") == []
    assert graph.fields("t", "downstream") == []
    assert graph.direct_edges("u#x", "upstream") == []
    assert graph.edge_count() == 1


def test_a_list_read_before_a_write_is_not_cached_after_it() -> None:
    cache = AdjacencyCache(100)
    stale = _Adjacency((EdgeRef("a", "b", "high", ()),), ())
    generation = cache.generation  # a reader missed and reads the store...
    cache.invalidate([b"o|a"])  # ...while a batch rewrites the list
    cache.offer(b"o|a", stale, generation)
    assert cache.get(b"o|a") is None
    cache.offer(b"o|a", stale, cache.generation)
    assert cache.get(b"o|a") == stale


def test_cache_is_bounded_by_weight_least_recently_used_first() -> None:
    cache = AdjacencyCache(6)
    entry = _Adjacency((EdgeRef("a", "b", "high", ()),), ())  # weight 2
    for key in (b"1", b"2", b"3"):
        cache.offer(key, entry, cache.generation)
    assert cache.get(b"1") == entry  # now most recent
    cache.offer(b"4", entry, cache.generation)
    assert cache.get(b"2") is None and cache.get(b"1") == entry and len(cache) == 3
    big = _Adjacency(tuple(EdgeRef("a", str(i), "high", ()) for i in range(10)), ())
    cache.offer(b"big", big, cache.generation)  # heavier than the whole cache: not kept
    assert cache.get(b"big") is None and len(cache) == 3


def test_without_a_cache(tmp_path: Path) -> None:
    graph = GraphStore.open(tmp_path / "g")  # the default
    try:
        assert graph.cache is None
        graph.apply_delta(delta("t#f", "x", 1))
        assert graph.neighbors("t", "downstream")[0].dst == "x"
        graph.apply_delta(delta("t#f", "x", 2, op="delete"))
        assert graph.neighbors("t", "downstream") == []
    finally:
        graph.close()


def test_upsert_moves_nothing_else_and_field_index_follows_the_last_edge(
        graph: GraphStore) -> None:
    graph.apply([record(0, 0, delta("t#f", "u#g", 1)), record(0, 1, delta("t#f", "u#h", 1)),
                 record(0, 2, delta("t", "u#g", 1))])
    assert graph.fields("u", "upstream") == ["u#g", "u#h"]
    assert [e.src for e in graph.direct_edges("u#g", "upstream")] == ["t", "t#f"]
    # A delete and a re-add in one batch: the index keeps the field.
    graph.apply([record(0, 3, delta("t#f", "u#h", 2, op="delete")),
                 record(0, 4, delta("t#f", "u#h", 3))])
    assert graph.fields("u", "upstream") == ["u#g", "u#h"]
    graph.apply([record(0, 5, delta("t#f", "u#g", 2, op="delete"))])
    # u#g keeps its table-level edge in; t#f keeps its edge out.
    assert graph.fields("u", "upstream") == ["u#g", "u#h"]
    assert graph.fields("t", "downstream") == ["t#f"]
    graph.apply([record(0, 6, delta("t", "u#g", 2, op="delete"))])
    assert graph.fields("u", "upstream") == ["u#h"]
    assert graph.direct_edges("t", "downstream") == []


def _model_edges(records: list[tuple[str, str, int, str]]) -> dict[str, tuple[str, str, str]]:
    """The live edges after `records` (src, dst, version, op/confidence), by version."""
    versions: dict[str, int] = {}
    live: dict[str, tuple[str, str, str]] = {}
    for src, dst, version, what in records:
        edge_id = f"{src} -> {dst}"
        if version <= versions.get(edge_id, 0):
            continue
        versions[edge_id] = version
        if what == "delete":
            live.pop(edge_id, None)
        else:
            live[edge_id] = (src, dst, what)
    return live


def test_random_batches_with_reads_between_match_a_model(graph: GraphStore) -> None:
    rng = random.Random(3)
    assets = ["t", "u", "t#a", "t#b", "u#a", "u#b", "v", "v#c"]
    history: list[tuple[str, str, int, str]] = []
    offset = 0
    for _ in range(40):
        batch = []
        for _ in range(rng.randint(1, 12)):
            src, dst = rng.sample(assets, 2)
            what = rng.choice(["delete", "low", "medium", "high"])
            version = rng.randint(1, 6)
            history.append((src, dst, version, what))
            d = (delta(src, dst, version, op="delete") if what == "delete"
                 else delta(src, dst, version, confidence=what))
            batch.append(record(0, offset, d))
            offset += 1
        graph.apply(batch)
        live = _model_edges(history)
        for asset in assets:  # reads fill the cache that the next batch must invalidate
            out = sorted((s, d, c) for s, d, c in live.values() if s == asset)
            into = sorted((s, d, c) for s, d, c in live.values() if d == asset)
            assert [(e.src, e.dst, e.confidence)
                    for e in graph.direct_edges(asset, "downstream")] == out
            assert [(e.src, e.dst, e.confidence)
                    for e in graph.direct_edges(asset, "upstream")] == into
            if "#" not in asset:
                assert graph.fields(asset, "downstream") == sorted(
                    {s for s, _, _ in live.values() if "#" in s and s.startswith(asset + "#")})
                assert graph.fields(asset, "upstream") == sorted(
                    {d for _, d, _ in live.values() if "#" in d and d.startswith(asset + "#")})
        assert graph.edge_count() == len(live)


def test_a_store_in_the_old_layout_is_emptied_for_a_rebuild(tmp_path: Path) -> None:
    db = GraphDB(tmp_path / "g")
    db.write({b"o|1:a|b": b"[2,0.9,[]]", b"m|offset|0": b"41", b"m|count": b"1",
              b"e|a -> b": b"{}"})
    graph = GraphStore(db)
    try:
        assert graph.offsets() == {} and graph.edge_count() == 0
        assert list(db.scan(b"", b"\xff")) == [(b"m|format", b"2")]
        graph.apply([record(0, 0, delta("a", "b", 1))])
    finally:
        graph.close()
    again = GraphStore.open(tmp_path / "g")  # the current layout is kept as it is
    try:
        assert again.offsets() == {0: 0} and again.edge_count() == 1
    finally:
        again.close()


def test_partition_store_without_multi_get(tmp_path: Path) -> None:
    graph = GraphStore(PartitionStore(tmp_path / "p"))
    try:
        graph.apply([record(0, 0, delta("t#a", "u", 1)), record(0, 1, delta("t", "u", 1))])
        assert {e.src for e in graph.neighbors("t#a", "downstream")} == {"t#a", "t"}
    finally:
        graph.close()


def test_tuned_options_survive_a_reopen(tmp_path: Path) -> None:
    for _ in range(2):  # created, then reopened
        db = GraphDB(tmp_path / "g")
        try:
            capacity = db._db.property_value("rocksdb.block-cache-capacity")
            assert capacity is not None and int(capacity) == 256 << 20
            db.write({b"k": b"v"})
            assert db.get_many([b"k", b"missing"]) == [b"v", None]
        finally:
            db.close()
