"""The bounded two-way neighbourhood, the collapse into tables, and the asset listing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from graph_fixtures import delta

from state.graph import EdgeFilter, GraphStore, TraversalError
from state.graph.neighbourhood import collapse, namespace_of, neighbourhood


@pytest.fixture()
def hub(tmp_path: Path) -> Iterator[GraphStore]:
    """`in#x` -> `hub#f` -> 30 leaves; `hub` (table) -> `t2`; a low edge `hub#f` -> `weak`."""
    graph = GraphStore.open(tmp_path / "graph")
    graph.apply_delta(delta("in#x", "hub#f", 1))
    for i in range(30):
        graph.apply_delta(delta("hub#f", f"leaf{i:02d}", 1))
    graph.apply_delta(delta("hub", "t2", 1, kinds=("JOIN",)))
    graph.apply_delta(delta("hub#f", "weak", 1, confidence="low"))
    yield graph
    graph.close()


def test_bound_counts_what_is_left_out(hub: GraphStore) -> None:
    found = neighbourhood(hub, "hub#f", max_hops=1, max_nodes=10)
    assert len(found.nodes) == 10 and found.truncated
    assert found.nodes["in#x"].side == "upstream"  # both sides walked in turn
    drawn_down = sum(1 for n in found.nodes.values() if n.side == "downstream")
    assert found.nodes["hub#f"].hidden == 32 - drawn_down  # 30 leaves, t2, weak
    assert found.hidden == found.nodes["hub#f"].hidden


def test_boundary_nodes_say_what_lies_beyond(hub: GraphStore) -> None:
    found = neighbourhood(hub, "in#x", directions=("downstream",), max_hops=1)
    assert set(found.nodes) == {"in#x", "hub#f"} and not found.truncated
    assert found.nodes["hub#f"].hidden == 32


def test_table_edges_are_drawn_from_the_held_field(hub: GraphStore) -> None:
    found = neighbourhood(hub, "hub#f", directions=("downstream",),
                          edge_filter=EdgeFilter.of("high", ["JOIN"]), max_hops=1)
    assert set(found.nodes) == {"hub#f", "t2"}
    (edge,) = found.edges
    assert (edge.src, edge.dst, edge.merged) == ("hub#f", "t2", ["hub -> t2"])


def test_collapse_and_keep(hub: GraphStore) -> None:
    found = collapse(neighbourhood(hub, "in#x", directions=("downstream",), max_hops=2,
                                   keep=lambda a: not a.startswith("leaf")))
    assert set(found.nodes) == {"in", "hub", "t2", "weak"}
    assert found.nodes["hub"].fields == 1 and found.root == "in"
    assert {(e.src, e.dst) for e in found.edges} == {("in", "hub"), ("hub", "t2"),
                                                     ("hub", "weak")}
    with pytest.raises(TraversalError):
        neighbourhood(hub, "in#x", max_hops=0)


def test_assets_in_name_order_once_each(hub: GraphStore) -> None:
    names = list(hub.assets())
    assert names == sorted(set(names)) and {"hub", "hub#f", "in", "in#x", "t2"} <= set(names)
    assert list(hub.assets("leaf0", "leaf1")) == [f"leaf{i:02d}" for i in range(10)]
    assert namespace_of("hub#f") == "" and namespace_of("s3://b/p") == "s3://b"
