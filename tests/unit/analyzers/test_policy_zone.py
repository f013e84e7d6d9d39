"""Zone computation from scratch: reachability, thresholds, reviews, table level, paths."""

from __future__ import annotations

import pytest

from analyzers.policy import (
    Decision,
    Edge,
    MemoryGraph,
    Policy,
    PolicyError,
    compute_zone,
    overlaps,
)

LOC = "PRECISE_LOCATION"
SRC = "web://photos-web/handlePhotoUpload#location"


def graph_of(*edges: tuple[str, str, str]) -> MemoryGraph:
    g = MemoryGraph()
    for src, dst, conf in edges:
        g.upsert(Edge(src, dst, conf))
    return g


def policy(min_confidence: str = "low", deny: tuple[str, ...] = ("sink/*",)) -> Policy:
    return Policy.create("p", [LOC], deny, min_confidence)


def zone_nodes(
    g: MemoryGraph,
    p: Policy | None = None,
    labels: dict[str, list[str]] | None = None,
    reviews: dict[str, Decision] | None = None,
) -> set[str]:
    z = compute_zone(g, p or policy(), labels or {"r": [LOC]}, reviews)
    return set(z.nodes())


def test_reachable_from_labeled_roots_only() -> None:
    g = graph_of(("r", "a", "high"), ("a", "b", "high"), ("x", "y", "high"), ("b", "r", "high"))
    assert zone_nodes(g) == {"r", "a", "b"}
    assert zone_nodes(g, labels={"r": ["OTHER"]}) == set()
    assert zone_nodes(g, labels={"r": [LOC], "x": [LOC]}) == {"r", "a", "b", "x", "y"}


def test_cascading_exclusion_with_a_diamond() -> None:
    #   r -> a -> m -> s        excluding a: m is still reached through b, so m and s stay;
    #   r -> b -> m             a's private tail (a -> t) goes.
    #   a -> t -> u
    g = graph_of(
        ("r", "a", "high"), ("r", "b", "high"), ("a", "m", "high"), ("b", "m", "high"),
        ("m", "s", "high"), ("a", "t", "high"), ("t", "u", "high"),
    )
    assert zone_nodes(g) == {"r", "a", "b", "m", "s", "t", "u"}
    assert zone_nodes(g, reviews={"a": "exclude"}) == {"r", "b", "m", "s"}
    assert zone_nodes(g, reviews={"a": "exclude", "b": "exclude"}) == {"r"}
    z = compute_zone(g, policy(), {"r": [LOC]}, {"a": "exclude"})
    entry = z.entry("s")
    assert entry is not None and entry.path == ("r", "b", "m", "s")


def test_excluded_root_is_not_a_root() -> None:
    g = graph_of(("r", "a", "high"))
    assert zone_nodes(g, reviews={"r": "exclude"}) == set()


def test_min_confidence_threshold() -> None:
    g = graph_of(("r", "a", "high"), ("a", "b", "medium"), ("b", "c", "low"))
    assert zone_nodes(g, policy("low")) == {"r", "a", "b", "c"}
    assert zone_nodes(g, policy("medium")) == {"r", "a", "b"}
    assert zone_nodes(g, policy("high")) == {"r", "a"}


def test_include_confirms_and_raises_edges_into_the_asset() -> None:
    g = graph_of(("r", "a", "low"), ("a", "b", "high"), ("r", "c", "high"))
    assert zone_nodes(g, policy("medium")) == {"r", "c"}
    z = compute_zone(g, policy("medium"), {"r": [LOC]}, {"a": "include"})
    assert set(z.nodes()) == {"r", "a", "b", "c"}
    a, c = z.entry("a"), z.entry("c")
    assert a is not None and a.confirmed and a.confidence == "high"
    assert c is not None and not c.confirmed
    # an include alone adds nothing that no path reaches
    assert "zz" not in compute_zone(g, policy(), {"r": [LOC]}, {"zz": "include"})


def test_path_prefers_best_weakest_confidence_then_fewest_hops() -> None:
    g = graph_of(
        ("r", "s", "low"),  # 1 hop, weakest low
        ("r", "a", "high"), ("a", "b", "medium"), ("b", "s", "high"),  # 3 hops, weakest medium
        ("r", "c", "medium"), ("c", "d", "medium"), ("d", "e", "medium"), ("e", "s", "high"),
    )
    z = compute_zone(g, policy("low"), {"r": [LOC]})
    entry = z.entry("s")
    assert entry is not None
    assert entry.path == ("r", "a", "b", "s") and entry.confidence == "medium"
    root = z.entry("r")
    assert root is not None and root.path == ("r",) and root.confidence == "high"


def test_ties_pick_the_smallest_parent_name() -> None:
    g = graph_of(("r", "b", "high"), ("r", "a", "high"), ("a", "s", "high"), ("b", "s", "high"))
    entry = compute_zone(g, policy(), {"r": [LOC]}).entry("s")
    assert entry is not None and entry.path == ("r", "a", "s")


def test_several_roots_and_labels() -> None:
    g = graph_of(("r1", "s", "high"), ("r2", "a", "high"), ("a", "s", "high"))
    p = Policy.create("p", [LOC, "RELIGION"], ["s"])
    z = compute_zone(g, p, {"r1": ["RELIGION", LOC, "X"], "r2": [LOC]})
    entry = z.entry("s")
    assert entry is not None
    assert (entry.source, entry.label, entry.path) == ("r1", LOC, ("r1", "s"))
    assert z.roots == {"r1": LOC, "r2": LOC}


def test_field_follows_its_tables_edges() -> None:
    # a SQL job read table T (no columns) and wrote U: T#location flows to U
    g = graph_of(("hive://w/t", "hive://w/u", "medium"), ("hive://w/t#other", "x", "high"))
    nodes = zone_nodes(g, labels={"hive://w/t#location": [LOC]})
    assert nodes == {"hive://w/t#location", "hive://w/u"}  # not the sibling field's edge


def test_table_follows_its_fields_edges_and_label_on_table_protects_fields() -> None:
    g = graph_of(
        ("hive://w/t", "hive://w/u", "high"),  # table-level: U holds every field of T
        ("hive://w/u#location", "model://m", "high"),
        ("hive://w/t#ssn", "log://l", "high"),
    )
    assert zone_nodes(g, labels={"hive://w/t": [LOC]}) == {
        "hive://w/t", "hive://w/u", "model://m", "log://l",
    }
    entry = compute_zone(g, policy(), {"hive://w/t": [LOC]}).entry("model://m")
    assert entry is not None and entry.path == ("hive://w/t", "hive://w/u", "model://m")


def test_review_of_a_table_applies_to_its_fields_unless_overridden() -> None:
    g = graph_of(("r", "t#a", "high"), ("r", "t#b", "high"), ("r", "t", "high"))
    assert zone_nodes(g, reviews={"t": "exclude"}) == {"r"}
    assert zone_nodes(g, reviews={"t": "exclude", "t#b": "include"}) == {"r", "t#b"}


def test_explain_names_the_edge_of_each_hop() -> None:
    g = graph_of(("t#loc", "u", "medium"), ("t", "v", "low"), ("v", "w", "high"))
    z = compute_zone(g, policy(), {"t#loc": [LOC]}, {"w": "include"})
    hops = z.explain(g, "w")
    assert hops is not None
    assert [(h.src, h.dst, h.edge_src, h.confidence, h.confirmed) for h in hops] == [
        ("t#loc", "v", "t", "low", False),
        ("v", "w", "v", "high", True),
    ]
    assert z.explain(g, "nowhere") is None and z.entry("nowhere") is None


def test_overlaps() -> None:
    assert overlaps("t", "t") and overlaps("t#f", "t") and overlaps("t", "t#f")
    assert not overlaps("t#f", "t#g") and not overlaps("t", "tt")


def test_policy_validation() -> None:
    with pytest.raises(PolicyError):
        Policy.create("p", [LOC], [], "certain")
    with pytest.raises(PolicyError, match="'deny'"):
        Policy.from_event({"policy_id": "p", "protects": [LOC]})
    p = Policy.from_event({"policy_id": "p", "protects": [LOC], "deny": ["a/*"]})
    assert p.min_confidence == "low" and p.deny.patterns == ("a/*",)
    q = Policy.create("p", [LOC], ["b/*"])
    assert p.same_zone_as(q) and not p.same_as(q)
