"""Traversals and paths on small graphs in a real store: every option, table semantics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from state.graph import (
    EdgeFilter,
    GraphStore,
    Limits,
    TraversalError,
    TraversalTooLarge,
    find_path,
    traverse,
)
from tests.unit.state.graph_fixtures import delta

T = "hive://w/db.t"
U = "hive://w/db.u"


@pytest.fixture()
def graph(tmp_path: Path) -> Iterator[GraphStore]:
    store = GraphStore.open(tmp_path / "graph")
    yield store
    store.close()


def add(graph: GraphStore, src: str, dst: str, confidence: str = "high",
        kinds: tuple[str, ...] = ("EXACT_MATCH",), score: float = 0.9) -> None:
    graph.apply_delta(delta(src, dst, 1, confidence=confidence, kinds=kinds, score=score))


@pytest.fixture()
def chain(graph: GraphStore) -> GraphStore:
    """a -> b -> c -> d (high), b -> e (low, NO_MATCH), e -> f (medium, IDENTITY)."""
    add(graph, "a", "b")
    add(graph, "b", "c")
    add(graph, "c", "d")
    add(graph, "b", "e", "low", ("NO_MATCH",))
    add(graph, "e", "f", "medium", ("IDENTITY",))
    return graph


def test_downstream_reaches_everything_in_bfs_order(chain: GraphStore) -> None:
    result = traverse(chain, "a", "downstream")
    assert result.nodes == ["b", "c", "e", "d", "f"]
    assert result.hops == {"b": 1, "c": 2, "e": 2, "d": 3, "f": 3}
    assert {e.edge_id for e in result.edges} == {"a -> b", "b -> c", "c -> d", "b -> e", "e -> f"}
    doc = result.to_json()
    assert doc["root"] == "a" and doc["direction"] == "downstream" and "a" not in doc["nodes"]
    assert doc["edges"][0] == {"src": "a", "dst": "b", "confidence": "high",
                               "kinds": ["EXACT_MATCH"]}


def test_upstream_reverses(chain: GraphStore) -> None:
    result = traverse(chain, "f", "upstream")
    assert result.nodes == ["e", "b", "a"]
    assert all(edge.dst in ("f", "e", "b") for edge in result.edges)


def test_max_hops(chain: GraphStore) -> None:
    assert traverse(chain, "a", "downstream", max_hops=1).nodes == ["b"]
    assert traverse(chain, "a", "downstream", max_hops=2).nodes == ["b", "c", "e"]
    with pytest.raises(TraversalError):
        traverse(chain, "a", "downstream", max_hops=0)


def test_min_confidence_prunes_weak_edges_and_what_is_only_behind_them(chain: GraphStore) -> None:
    assert traverse(chain, "a", "downstream",
                    edge_filter=EdgeFilter.of("medium")).nodes == ["b", "c", "d"]
    assert traverse(chain, "f", "upstream", edge_filter=EdgeFilter.of("high")).nodes == []
    with pytest.raises(TraversalError):
        EdgeFilter.of("certain")


def test_kind_filter_keeps_edges_with_any_listed_kind(chain: GraphStore) -> None:
    only = traverse(chain, "b", "downstream", edge_filter=EdgeFilter.of(kinds=["NO_MATCH"]))
    assert only.nodes == ["e"]
    both = traverse(chain, "b", "downstream",
                    edge_filter=EdgeFilter.of(kinds=["NO_MATCH", "IDENTITY"]))
    assert both.nodes == ["e", "f"]


def test_unknown_root_gives_an_empty_result(chain: GraphStore) -> None:
    assert traverse(chain, "zzz", "downstream").nodes == []
    with pytest.raises(TraversalError):
        traverse(chain, "a", "sideways")  # type: ignore[arg-type]


def test_cycles_terminate_and_keep_back_edges(graph: GraphStore) -> None:
    add(graph, "a", "b")
    add(graph, "b", "a")
    result = traverse(graph, "a", "downstream")
    assert result.nodes == ["b"]
    assert {e.edge_id for e in result.edges} == {"a -> b", "b -> a"}


def test_a_field_continues_along_its_tables_edges(graph: GraphStore) -> None:
    add(graph, "src#x", f"{T}#f")
    add(graph, T, U, "medium", ("TRANSFORMATION",))
    add(graph, f"{T}#g", "other")  # another field of T: not carried by T#f
    result = traverse(graph, "src#x", "downstream")
    assert result.nodes == [f"{T}#f", U]
    assert {e.edge_id for e in result.edges} == {f"src#x -> {T}#f", f"{T} -> {U}"}


def test_a_table_continues_along_every_fields_edges(graph: GraphStore) -> None:
    add(graph, "web", T)
    add(graph, f"{T}#f", "x")
    add(graph, f"{T}#g", "y")
    assert traverse(graph, "web", "downstream").nodes == [T, "x", "y"]


def test_upstream_of_a_field_includes_table_level_feeds(graph: GraphStore) -> None:
    add(graph, "up", T)
    add(graph, "direct", f"{T}#f")
    add(graph, "sibling", f"{T}#g")
    assert set(traverse(graph, f"{T}#f", "upstream").nodes) == {"direct", "up"}
    assert set(traverse(graph, T, "upstream").nodes) == {"up", "direct", "sibling"}


def test_table_edges_are_read_once_for_many_fields(graph: GraphStore) -> None:
    for i in range(5):
        add(graph, "src", f"{T}#f{i}")
    add(graph, T, U)
    result = traverse(graph, "src", "downstream")
    assert [e.edge_id for e in result.edges].count(f"{T} -> {U}") == 1


def test_node_bound_raises(chain: GraphStore) -> None:
    with pytest.raises(TraversalTooLarge, match="more than 2 nodes"):
        traverse(chain, "a", "downstream", limits=Limits(max_nodes=2))


def test_edge_bound_raises(chain: GraphStore) -> None:
    with pytest.raises(TraversalTooLarge, match="more than 1 edges"):
        traverse(chain, "a", "downstream", limits=Limits(max_edges=1))


def test_time_bound_raises(chain: GraphStore) -> None:
    with pytest.raises(TraversalTooLarge, match="longer than"):
        traverse(chain, "a", "downstream", limits=Limits(time_budget_s=-1))


# -- paths -------------------------------------------------------------------

def test_path_prefers_fewest_hops(graph: GraphStore) -> None:
    add(graph, "a", "b")
    add(graph, "b", "c")
    add(graph, "c", "d")
    add(graph, "a", "d", "low", ("NO_MATCH",))
    path = find_path(graph, "a", "d")
    assert path is not None
    assert [e.edge_id for e in path.edges] == ["a -> d"]
    assert path.nodes == ["a", "d"] and path.confidence == "low"


def test_path_ties_break_on_the_strongest_weakest_edge(graph: GraphStore) -> None:
    add(graph, "a", "b1", "high")
    add(graph, "b1", "c", "low")
    add(graph, "a", "b2", "medium")
    add(graph, "b2", "c", "medium")
    add(graph, "a", "b3", "low")
    add(graph, "b3", "c", "high")
    path = find_path(graph, "a", "c")
    assert path is not None and path.nodes == ["a", "b2", "c"] and path.confidence == "medium"


def test_path_options_and_absence(chain: GraphStore) -> None:
    assert find_path(chain, "a", "f") is not None
    assert find_path(chain, "a", "f", edge_filter=EdgeFilter.of("medium")) is None
    assert find_path(chain, "a", "f", edge_filter=EdgeFilter.of(kinds=["EXACT_MATCH"])) is None
    assert find_path(chain, "a", "d", max_hops=2) is None
    assert find_path(chain, "a", "d", max_hops=3) is not None
    assert find_path(chain, "d", "a") is None
    with pytest.raises(TraversalTooLarge):
        find_path(chain, "a", "f", limits=Limits(max_nodes=2))


def test_path_through_a_table_level_edge(graph: GraphStore) -> None:
    add(graph, "web#loc", f"{T}#loc")
    add(graph, T, U, "medium", ("TRANSFORMATION",))
    add(graph, U, "model")
    path = find_path(graph, "web#loc", "model")
    assert path is not None
    assert [e.edge_id for e in path.edges] == [
        f"web#loc -> {T}#loc", f"{T} -> {U}", f"{U} -> model"]
    assert path.nodes == ["web#loc", f"{T}#loc", U, "model"]
    assert path.confidence == "medium"


def test_path_arrives_at_a_field_of_a_target_table_and_vice_versa(graph: GraphStore) -> None:
    add(graph, "a", f"{T}#f")
    add(graph, "b", U)
    one = find_path(graph, "a", T)
    assert one is not None and one.nodes == ["a", f"{T}#f"]
    other = find_path(graph, "b", f"{U}#g")
    assert other is not None and other.nodes == ["b", U]
    assert find_path(graph, "a", "a") is not None and find_path(graph, "a", "a").edges == []
